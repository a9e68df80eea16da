"""The dashboard as each user sees it: figures of its subtree that link to the lists they count.

Figures are computed at the data set's clock (15 Oct 2026 12:00 UTC, see conftest.py).
"""

import json
import re

import pytest
from django.test import RequestFactory

from modules.core.dashboard import overview_cards
from tests.reports.conftest import NOT_OURS, NOW, page_leaks

pytestmark = pytest.mark.django_db


def board(user, tab):
    request = RequestFactory().get("/admin/", {"tab": tab})
    request.user = user
    return overview_cards(request, now=NOW)


def values(b) -> dict[str, str]:
    return {card["title"]: card["value"] for card in b["cards"]}


def table(b, title) -> list[list[str]]:
    return next(t["table"]["rows"] for t in b["tables"] if t["title"] == title)


def plain(rows) -> list[list[str]]:
    """Table cells without their links."""
    return [[re.sub(r"<[^>]+>", "", str(cell)) for cell in row] for row in rows]


def listed(client, href) -> int:
    """How many rows the admin list behind a figure shows to the signed-in user."""
    response = client.get(href)
    assert response.status_code == 200, (href, response.status_code)
    assert "?e=1" not in response.get("Location", ""), href
    return response.context["cl"].result_count


def test_general_tab_counts_subscribers_of_the_subtree(shared):
    admin = values(board(shared.user("isp_admin"), "general"))
    assert {k: admin[k] for k in ("Active subscribers", "Expired subscribers",
                                  "Suspended subscribers", "New subscribers",
                                  "Terminated subscribers")} == {
        "Active subscribers": "4", "Expired subscribers": "1", "Suspended subscribers": "1",
        "New subscribers": "1", "Terminated subscribers": "0"}
    assert (admin["New today"], admin["New this month"], admin["Expiring in 7 days"],
            admin["Expired, not renewed"]) == ("1", "4", "2", "1")
    partner = values(board(shared.user("partner"), "general"))
    assert (partner["Active subscribers"], partner["New subscribers"],
            partner["Expired subscribers"], partner["New this month"],
            partner["Expiring in 7 days"]) == ("1", "1", "0", "2", "1")


@pytest.mark.parametrize("who", ["isp_admin", "partner"])
def test_subscriber_figures_link_to_lists_with_the_same_count(shared, client, who):
    user = shared.user(who)
    client.force_login(user)
    for card in board(user, "general")["cards"]:
        if card["title"].endswith(" subscribers"):
            assert listed(client, card["href"]) == int(card["value"]), card["title"]


def test_network_tab_for_isp_admin(shared, client):
    user = shared.user("isp_admin")
    b = board(user, "network")
    assert values(b)["Online sessions now"] == "2"
    sessions = json.loads(b["charts"][0]["data"])
    online, started = (d["data"] for d in sessions["datasets"])
    assert online[-4:] == [0, 1, 2, 2]  # s1 online since 10:00, s2 since 11:00 (UTC)
    assert sum(started) == 2 and sum(online) == 5  # s3 ended before the 24 hours began
    logins = json.loads(b["charts"][1]["data"])
    assert [sum(d["data"]) for d in logins["datasets"]] == [1, 3]  # accepted, rejected
    assert plain(table(b, "Top reject reasons (24 h)")) == [["expired", "2"],
                                                            ["wrong password", "1"]]
    assert [[r[0], r[1], r[3]] for r in plain(table(b, "NAS devices"))] == [
        ["BRAS Kothrud", "10.9.0.1", "2"], ["LCO1 router", "10.9.0.2", "0"]]
    assert plain(table(b, "Top data users today")) == [["u-p1", "2.9\xa0KB"],
                                                       ["u-r1", "1000\xa0bytes"]]
    client.force_login(user)
    assert listed(client, b["cards"][0]["href"]) == 2


def test_network_tab_for_partner_shows_its_own_sessions_only(shared, client):
    user = shared.user("partner")
    b = board(user, "network")
    assert values(b)["Online sessions now"] == "1"
    assert table(b, "NAS devices") == []  # both NAS devices belong to other nodes
    assert len(table(b, "Top data users today")) == 1
    client.force_login(user)
    assert listed(client, b["cards"][0]["href"]) == 1


def test_finance_tab_for_isp_admin(shared, client):
    user = shared.user("isp_admin")
    b = board(user, "finance")
    figures = values(b)
    assert (figures["Collected today"], figures["Collected this month"],
            figures["Outstanding"]) == ("700.00", "2,000.00", "1,606.00")
    aging = table(b, "Invoices due and overdue")
    assert [row[1:] for row in aging] == [
        ["1", "544.00"], ["1", "472.00"], ["1", "118.00"], ["0", "0.00"], ["1", "472.00"]]
    modes = table(b, "Collections this month by mode")
    assert [row[1:] for row in modes] == [["2", "1,300.00"], ["2", "700.00"]]
    revenue = json.loads(b["charts"][0]["data"])
    assert (revenue["labels"], revenue["datasets"][0]["data"]) == (["Basic", "Gold"],
                                                                   [800.0, 800.0])
    client.force_login(user)
    outstanding = next(c for c in b["cards"] if c["title"] == "Outstanding")
    assert listed(client, outstanding["href"]) == 4  # INV-1, 2, 3 and 5 are open


def test_finance_tab_for_partner(shared):
    figures = values(board(shared.user("partner"), "finance"))
    assert (figures["Collected today"], figures["Collected this month"],
            figures["Outstanding"]) == ("0.00", "1,000.00", "0.00")


def test_a_user_without_permissions_gets_no_tabs(shared):
    assert board(shared.user("no_perm"), "general") == {"tabs": [], "active": None}


@pytest.mark.parametrize("who", ["isp_admin", "partner", "other_admin"])
@pytest.mark.parametrize("tab", ["general", "network", "finance"])
def test_dashboard_page_renders_each_tab_without_leaks(shared, client, who, tab,
                                                       django_assert_max_num_queries):
    client.force_login(shared.user(who))
    host = "beta.test" if who == "other_admin" else "testserver"
    with django_assert_max_num_queries(40):
        response = client.get("/admin/", {"tab": tab}, HTTP_HOST=host)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-dashboard-tab="{tab}"' in html
    assert page_leaks(html, NOT_OURS[who]) == []
