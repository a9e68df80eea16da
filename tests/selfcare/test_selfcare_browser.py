"""Self-care in a real browser on a phone-sized screen: sign in, renew from the wallet, see the
new expiry and the invoice, open a ticket; with a toggle off the button is gone and the URL
refuses. Screenshots go to test-artifacts/."""

import pytest
from django.utils import timezone

from config.celery import app as celery_app
from modules.billing.models import Invoice
from modules.plans.services import tenant_zone
from modules.support.models import Ticket
from tests.browser import ARTIFACTS
from tests.selfcare.conftest import SUB_PASSWORD, make_portal

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def tasks_inline(settings):
    """Work queued after a purchase (re-authorising the session) runs in the request."""
    settings.RADIUS_COA_TIMEOUT = 0.3
    settings.RADIUS_COA_ATTEMPTS = 1
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def _shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"selfcare-{name}.png"), full_page=True)


def test_subscriber_renews_sees_invoice_and_opens_a_ticket(live_server, phone):
    portal = make_portal()
    portal.configure(allow_ticket_creation=True)
    base = live_server.url
    phone.goto(f"{base}/portal/login")
    phone.fill("input[name=login]", "alice")
    phone.fill("input[name=password]", SUB_PASSWORD)
    phone.click("button[type=submit]")
    phone.wait_for_url(f"{base}/portal/")
    assert "Hello, Alice" in phone.inner_text("main")
    _shot(phone, "dashboard")

    phone.click("#btn-renew")
    assert "590.00 INR" in phone.inner_text("#quote-total")
    _shot(phone, "renew-quote")
    phone.click("#pay-wallet")
    phone.wait_for_url(f"{base}/portal/")
    portal.alice.refresh_from_db()
    invoice = Invoice.objects.get(subscriber=portal.alice)
    assert f"Invoice {invoice.number}" in phone.inner_text("[role=status]")
    new_expiry = timezone.localtime(portal.alice.expires_at, tenant_zone(portal.alice.tenant_id))
    assert f"{new_expiry.day} {new_expiry:%b %Y}" in phone.inner_text("#expiry")
    _shot(phone, "renewed")

    phone.click("[data-nav=billing]")
    assert invoice.number in phone.inner_text("#invoices")
    with phone.expect_navigation():
        phone.click(".invoice-download")
    assert invoice.number in phone.content()
    phone.go_back()

    phone.click("[data-nav=tickets]")
    phone.click("#btn-ticket")
    phone.fill("input[name=summary]", "Slow speed in the evening")
    phone.fill("textarea[name=description]", "Drops to 2 Mbps after 8 pm")
    phone.click("main button[type=submit]")
    ticket = Ticket.objects.get(subscriber=portal.alice)
    phone.wait_for_url(f"{base}/portal/tickets/{ticket.pk}")
    assert ticket.reference in phone.inner_text("main")
    _shot(phone, "ticket")


def test_a_switched_off_feature_has_no_button_and_its_url_refuses(live_server, phone):
    portal = make_portal()
    base = live_server.url
    phone.goto(f"{base}/portal/login")
    phone.fill("input[name=login]", "bob")
    phone.fill("input[name=password]", SUB_PASSWORD)
    phone.click("button[type=submit]")
    phone.wait_for_url(f"{base}/portal/")
    assert phone.locator("#btn-renew").count() == 1

    portal.configure(allow_renewal=False)
    phone.reload()
    assert phone.locator("#btn-renew").count() == 0
    _shot(phone, "renewal-off")
    response = phone.goto(f"{base}/portal/renew")
    assert response.status == 404
