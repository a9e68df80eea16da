"""The daily lists, the search and the export: right rows, scoped, cheap at any size."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from modules.subscribers import selectors
from modules.subscribers.models import Subscriber
from modules.subscribers.resources import SubscriberResource
from tests.subscribers.samples import make_subscriber

CHANGELIST = "admin:subscribers_subscriber_changelist"


@pytest.fixture
def daily(world, plan):
    """One subscriber per daily list, all owned by lco1, and one of lco2."""
    now = timezone.now()
    org = world.orgs["lco1"]

    def sub(username, status, expires_in=None, **fields):
        expires = now + expires_in if expires_in is not None else None
        return make_subscriber(org, username=username, status=status, plan=plan,
                               expires_at=expires, **fields)

    subs = {
        "tomorrow": sub("exp.tomorrow", "active", timedelta(hours=20)),
        "week": sub("exp.week", "limited", timedelta(days=6)),
        "month": sub("exp.month", "active", timedelta(days=25)),
        "overdue": sub("overdue", "active", -timedelta(hours=2)),
        "expired": sub("expired", "expired", -timedelta(days=3)),
        "suspended": sub("suspended", "suspended", timedelta(days=3)),
        "new": sub("brand.new", "new"),
        "old": sub("old.timer", "active", timedelta(days=90)),
    }
    Subscriber.objects.filter(pk=subs["old"].pk).update(created_at=now - timedelta(days=60))
    subs["other"] = make_subscriber(world.orgs["lco2"], username="lco2.user", status="expired",
                                    plan=plan)
    return subs


def names(qs):
    return set(qs.values_list("username", flat=True))


def test_each_daily_list_holds_exactly_its_subscribers(world, daily):
    mine = Subscriber.objects.filter(organization=world.orgs["lco1"])
    assert names(selectors.daily_list(mine, "expiring_1")) == {"exp.tomorrow"}
    assert names(selectors.daily_list(mine, "expiring_7")) == {"exp.tomorrow", "exp.week",
                                                              }
    assert names(selectors.daily_list(mine, "expiring_30")) == {"exp.tomorrow", "exp.week",
                                                               "exp.month"}
    assert names(selectors.daily_list(mine, "overdue")) == {"overdue"}
    assert names(selectors.daily_list(mine, "expired")) == {"expired"}
    assert names(selectors.daily_list(mine, "suspended")) == {"suspended"}
    assert names(selectors.daily_list(mine, "new")) == {"brand.new"}
    assert "old.timer" not in names(selectors.daily_list(mine, "recent"))
    with pytest.raises(ValueError):
        selectors.daily_list(mine, "everything")


def _listed(client, **params):
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    return {s.username for s in response.context["cl"].result_list}


def test_the_changelist_quick_filters_are_scoped(client, world, daily):
    client.force_login(world.users["lco1"])
    assert _listed(client, list="expired") == {"expired"}  # not lco2's expired subscriber
    assert _listed(client, list="expiring_7") == {"exp.tomorrow", "exp.week"}
    assert _listed(client, status__exact="suspended") == {"suspended"}
    client.force_login(world.users["dist"])
    assert _listed(client, list="expired") == {"expired", "lco2.user"}
    assert _listed(client, list="expired", organization__id__exact=world.orgs["lco2"].pk) == {
        "lco2.user"}


def test_filters_by_plan_area_and_nas(client, world, plan):
    from tests.plans.samples import make_plan

    other_plan = make_plan(world.orgs["root"], name="Fiber 300")
    org = world.orgs["lco1"]
    make_subscriber(org, username="kothrud.one", area="Kothrud", plan=plan,
                    nas_ip="10.30.0.1")
    make_subscriber(org, username="baner.one", area="Baner", plan=other_plan)
    client.force_login(world.users["lco1"])
    assert _listed(client, plan=other_plan.pk) == {"baner.one"}
    assert _listed(client, area="kothrud") == {"kothrud.one"}
    assert _listed(client, nas="10.30.0.1") == {"kothrud.one"}
    assert _listed(client, nas="not-an-ip") == set()


@pytest.mark.parametrize("term,expected", [
    ("asha", {"asha.k"}),  # part of the username
    ("Kulkarni", {"asha.k"}),  # part of the name
    ("098220 12345", {"asha.k"}),  # the mobile, typed differently
    ("+91 98220 12345", {"asha.k"}),
    ("ASHA@example.com", {"asha.k"}),
    ("aabb.ccdd.eeff", {"asha.k"}),  # the MAC in Cisco notation
    ("aa-bb-cc-dd-ee-ff", {"asha.k"}),
    ("100.64.1.7", {"asha.k"}),
    ("100.64.1.8", set()),
    ("ravi", {"ravi.p"}),
])
def test_search_finds_a_subscriber_by_any_identity(term, expected, client, world, plan):
    org = world.orgs["lco1"]
    make_subscriber(org, username="asha.k", name="Asha Kulkarni", mobile="+919822012345",
                    email="asha@example.com", mac_address="AA:BB:CC:DD:EE:FF",
                    static_ipv4="100.64.1.7", plan=plan)
    make_subscriber(org, username="ravi.p", name="Ravi Patil", mobile="+919822054321",
                    plan=plan)
    make_subscriber(world.orgs["lco2"], username="asha.elsewhere", name="Asha Kulkarni",
                    plan=plan)
    client.force_login(world.users["lco1"])
    assert _listed(client, q=term) == expected


def _changelist_queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse(CHANGELIST), params).status_code == 200
    return len(queries)


def test_the_changelist_query_count_does_not_grow_with_the_rows_shown(
        client, world, plan, django_assert_max_num_queries):
    from tests.plans.samples import make_plan

    client.force_login(world.users["dist"])
    for org in ("lco1", "lco2"):
        make_subscriber(world.orgs[org], plan=plan, status="active",
                        expires_at=timezone.now() + timedelta(days=2))
    _changelist_queries(client)  # the first page of a session also loads per-user caches
    few = _changelist_queries(client)
    few_filtered = _changelist_queries(client, list="expiring_3", q="sub")
    for index in range(30):
        org = world.orgs["lco1" if index % 2 else "lco2"]
        make_subscriber(org, plan=make_plan(world.orgs["root"]), status="active",
                        expires_at=timezone.now() + timedelta(days=2))
    assert _changelist_queries(client) == few
    assert _changelist_queries(client, list="expiring_3", q="sub") == few_filtered
    with django_assert_max_num_queries(few):
        client.get(reverse(CHANGELIST), {"p": "2"})


def test_a_deep_page_reads_only_its_slice_and_no_full_count(client, world, plan):
    for _ in range(7):
        make_subscriber(world.orgs["lco1"], plan=plan)
    client.force_login(world.users["lco1"])
    from modules.subscribers.admin import SubscriberAdmin

    SubscriberAdmin.list_per_page, saved = 2, SubscriberAdmin.list_per_page
    try:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse(CHANGELIST), {"p": "3"})
    finally:
        SubscriberAdmin.list_per_page = saved
    assert len(response.context["cl"].result_list) == 2
    subscriber_queries = [q["sql"].upper() for q in queries
                          if "SUBSCRIBERS_SUBSCRIBER" in q["sql"].upper()]
    # The count comes from the page's bounded window of ids: no COUNT over the list at all.
    assert not [sql for sql in subscriber_queries if "COUNT(" in sql]
    assert any("LIMIT" in sql and "OFFSET 4" in sql for sql in subscriber_queries)


# Export ---------------------------------------------------------------------------------------
def _export(client, **params):
    response = client.get(reverse(CHANGELIST) + "export_csv/", params)
    assert response.status_code == 200 and response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_export_streams_the_scoped_filtered_list_without_passwords(client, world, daily):
    client.force_login(world.users["lco1"])
    rows = _export(client)
    assert {r["username"] for r in rows} == {s.username for k, s in daily.items()
                                             if k != "other"}
    assert "password" not in rows[0]
    assert all("Secret-123" not in value for r in rows for value in r.values())
    assert {r["username"] for r in _export(client, list="expired")} == {"expired"}
    assert {r["plan"] for r in rows} == {"fiber-100"}
    assert {r["organization"] for r in rows} == {"lco1"}


def test_export_neutralises_formula_cells(client, world, plan):
    make_subscriber(world.orgs["lco1"], username="evil", name="=cmd|' /C calc'!A0",
                    address="+SUM(A1:A9)", notes="@import", city="-2+3", plan=plan)
    client.force_login(world.users["lco1"])
    (row,) = _export(client)
    assert row["name"] == "'=cmd|' /C calc'!A0"
    assert (row["address"], row["notes"], row["city"]) == ("'+SUM(A1:A9)", "'@import", "'-2+3")
    sheet = SubscriberResource(user=world.users["lco1"]).export(
        Subscriber.objects.filter(username="evil"))
    assert sheet.dict[0]["name"] == "'=cmd|' /C calc'!A0"
    assert "password" not in sheet.headers


def test_export_of_another_tenant_or_subtree_is_empty(client, world, daily):
    client.force_login(world.users["partner"])
    assert _export(client) == []


def test_another_module_can_add_a_daily_list(client, world, daily):
    selectors.register_daily_list("unpaid", "Unpaid", lambda qs: qs.filter(username="overdue"))
    try:
        client.force_login(world.users["lco1"])
        assert _listed(client, list="unpaid") == {"overdue"}
        page = client.get(reverse(CHANGELIST)).content
        assert b"Unpaid" in page
    finally:
        selectors._extra_lists.pop("unpaid")


# The rows of the list: rendered once per page, unfold's HTML ----------------------------------
def test_the_rows_are_unfolds_own_cells_and_row_actions(client, world, plan):
    from django.template.loader import render_to_string
    from unfold.templatetags.unfold_list import results

    for status in ("active", "suspended", "new"):
        make_subscriber(world.orgs["lco1"], plan=plan, status=status, mac_address="",
                        expires_at=timezone.now() + timedelta(days=3))
    client.force_login(world.users["dist"])
    response = client.get(reverse(CHANGELIST), {"q": "sub", "o": "7"})
    html = response.content.decode()
    actions = response.context["actions_row"]
    assert actions, "the row actions menu is part of what is compared"
    rows = list(results(response.context["cl"]))  # unfold's own rendering of the same rows
    assert len(rows) == 3
    for row in rows:
        pk = row.instance.pk
        for cell in row:  # checkbox, change link (filters kept), badge, dates: unchanged
            assert str(cell) in html
        menu = render_to_string("unfold/helpers/actions_row.html",
                                {"actions": actions, "instance_pk": pk}, response.wsgi_request)
        assert menu in html
    assert "?_changelist_filters=q%3Dsub%26o%3D7" in html
    assert html.count('name="_selected_action"') == 3


def test_a_popup_list_keeps_unfolds_own_rows(client, world, plan):
    make_subscriber(world.orgs["lco1"], plan=plan)
    client.force_login(world.users["dist"])
    response = client.get(reverse(CHANGELIST), {"_popup": "1", "_to_field": "id"})
    assert response.status_code == 200
    assert b"data-popup-opener" in response.content


def test_markup_in_a_subscriber_field_is_shown_as_text_in_the_rows(client, world, plan):
    make_subscriber(world.orgs["lco1"], plan=plan, name='<script>alert("x")</script>',
                    username="markup.one")
    client.force_login(world.users["dist"])
    html = client.get(reverse(CHANGELIST), {"q": "markup"}).content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert '<script>alert("x")' not in html
