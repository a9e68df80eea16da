"""Every Subscriber Portal toggle: on, its button shows and its URL works; off, the button is
gone and the URL answers 404 (a POST changes nothing)."""

from decimal import Decimal

import pytest

from modules.billing import orchestration
from modules.billing.models import Invoice, Payment
from modules.selfcare.models import PortalSettings
from tests.plans.samples import make_plan


@pytest.fixture
def setup(portal):
    root = portal.world.orgs["root"]
    cheap = make_plan(root, name="Fiber 20", price=Decimal("300.00"))
    orchestration.renew_and_bill(portal.alice, actor=None, require_paid=True)
    invoice = Invoice.objects.filter(subscriber=portal.alice).first()
    payment = Payment.objects.filter(subscriber=portal.alice).first()
    ids = {"gold": portal.billing.gold.pk, "cheap": cheap.pk, "invoice": invoice.pk,
           "payment": payment.pk}
    return portal, ids


# flag, page showing the button, the button's marker, the feature's URL
CASES = [
    ("allow_renewal", "/portal/", 'href="/portal/renew"', "/portal/renew"),
    ("allow_plan_upgrade", "/portal/plans", 'href="/portal/plans/{gold}/change"',
     "/portal/plans/{gold}/change"),
    ("allow_plan_downgrade", "/portal/plans", 'href="/portal/plans/{cheap}/change"',
     "/portal/plans/{cheap}/change"),
    ("allow_addon_purchase", "/portal/", 'href="/portal/addons"', "/portal/addons"),
    ("allow_password_change", "/portal/profile", 'href="/portal/password"', "/portal/password"),
    ("allow_profile_edit", "/portal/profile", 'href="/portal/profile/edit"',
     "/portal/profile/edit"),
    ("allow_ticket_creation", "/portal/tickets", 'href="/portal/tickets/new"',
     "/portal/tickets/new"),
    ("allow_invoice_download", "/portal/billing", 'href="/portal/invoices/{invoice}/download"',
     "/portal/invoices/{invoice}/download"),
    ("show_data_usage", "/portal/", 'href="/portal/usage"', "/portal/usage"),
    ("show_payment_history", "/portal/billing", 'href="/portal/payments/{payment}/receipt"',
     "/portal/payments/{payment}/receipt"),
    ("show_usage_graph", "/portal/usage", 'id="usage-graph"', None),
    ("show_invoice_history", "/portal/billing", 'id="invoices"', None),
    ("show_expiry_date", "/portal/", 'id="expiry"', None),
    ("allow_online_payment", "/portal/renew", 'id="pay-online"', None),
]


def test_defaults_follow_the_product_notes():
    s = PortalSettings()
    assert (s.allow_plan_upgrade, s.allow_plan_downgrade, s.allow_ticket_creation,
            s.allow_online_payment) == (False, False, False, False)
    assert s.allow_password_change and s.allow_profile_edit and s.allow_invoice_download
    assert all((s.show_data_usage, s.show_usage_graph, s.show_invoice_history,
                s.show_payment_history, s.show_expiry_date))


@pytest.mark.parametrize(("flag", "where", "marker", "url"), CASES, ids=[c[0] for c in CASES])
def test_toggle_controls_button_and_url(setup, flag, where, marker, url):
    portal, ids = setup
    marker = marker.format(**ids)
    url = url.format(**ids) if url else None
    client = portal.client_for()

    portal.configure(**{flag: True})
    assert marker in client.get(where).content.decode(), f"{flag} on: button missing"
    if url:
        assert client.get(url).status_code == 200, f"{flag} on: page refused"

    portal.configure(**{flag: False})
    assert marker not in client.get(where).content.decode(), f"{flag} off: button still shown"
    if url:
        assert client.get(url).status_code == 404, f"{flag} off: page still answers"
        assert client.post(url, {"mobile": "+919999999999", "new": "x" * 9}).status_code == 404


def test_online_payment_url_refuses_when_off(setup):
    portal, _ = setup
    client = portal.client_for()
    assert client.post("/portal/pay", {"purpose": "renew"}).status_code == 404
    portal.configure(allow_online_payment=True)
    # On, but with no gateway set up: a clear message instead of a payment.
    response = client.post("/portal/pay", {"purpose": "renew"}, follow=True)
    assert "Online payment is not set up" in response.content.decode()


def test_renewal_off_refuses_the_post_and_changes_nothing(setup):
    portal, _ = setup
    portal.configure(allow_renewal=False)
    client = portal.client_for()
    before = type(portal.alice).objects.get(pk=portal.alice.pk).expires_at
    assert client.post("/portal/renew").status_code == 404
    assert type(portal.alice).objects.get(pk=portal.alice.pk).expires_at == before


def test_billing_page_is_gone_when_both_histories_are_hidden(setup):
    portal, _ = setup
    portal.configure(show_invoice_history=False, show_payment_history=False)
    client = portal.client_for()
    assert 'href="/portal/billing"' not in client.get("/portal/").content.decode()
    assert client.get("/portal/billing").status_code == 404
