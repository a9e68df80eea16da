"""A new operator signs in with the demo login and finds the modules of the map."""

import pytest

from fixtures.demo import DEMO_PASSWORD, load

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _sign_in(page, live_server, username):
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_isp_admin_signs_in_and_sees_every_module(live_server, page, screenshot):
    load()
    _sign_in(page, live_server, "admin")
    assert page.url.endswith("/admin/")
    sidebar = page.inner_text("#nav-sidebar-inner, nav, aside")
    for module in ("Dashboard", "Partners", "Settings"):
        assert module in sidebar
    screenshot("dashboard")
    page.goto(f"{live_server.url}/settings/index")
    assert page.locator('[data-section="General"]').count() == 1
    screenshot("settings")


def test_partner_signs_in_and_sees_only_its_own_tree(live_server, page, screenshot):
    load()
    _sign_in(page, live_server, "metro")
    page.goto(f"{live_server.url}/partners/index")
    body = page.inner_text("body")
    assert "Kothrud Cable Net" in body
    assert "Hill View Networks" not in body
    screenshot("partner-tree")
    page.goto(f"{live_server.url}/admin/core/role/")
    assert "403" in page.title() or "Forbidden" in page.inner_text("body")


def test_wrong_password_shows_an_error_in_the_page(live_server, page):
    load()
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert "correct username and password" in page.inner_text("body")
