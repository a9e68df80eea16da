"""Buying from self-care: the quote shown before paying equals what is billed; a purchase the
wallet cannot cover changes nothing; online payment settles through the gateway's webhook."""

import json
from datetime import timedelta
from decimal import Decimal

from django.test import Client

from modules.billing.gateways.razorpay import Razorpay, sign
from modules.billing.models import CreditNote, Invoice, Proforma
from modules.billing.selectors import wallet_of_subscriber
from modules.subscribers.models import Subscriber, SubscriberAddon
from tests.billing.samples import make_gateway
from tests.subscribers.samples import make_subscriber


def _balance(subscriber):
    return wallet_of_subscriber(subscriber).balance


def test_renewal_quote_then_payment_from_the_wallet(portal):
    client = portal.client_for()
    old_expiry = portal.alice.expires_at
    quote = client.get("/portal/renew").content.decode()
    assert "590.00 INR" in quote  # 500 + CGST 9 % + SGST 9 %
    assert "CGST 9 %" in quote and "SGST 9 %" in quote
    assert "when the current period ends" in quote

    response = client.post("/portal/renew", follow=True)
    invoice = Invoice.objects.get(subscriber=portal.alice)
    assert f"Renewal done. Invoice {invoice.number}." in response.content.decode()
    portal.alice.refresh_from_db()
    assert portal.alice.expires_at > old_expiry + timedelta(days=29)
    assert invoice.reason == "renewal" and invoice.status == "paid"
    assert invoice.total == Decimal("590.00")
    assert _balance(portal.alice) == Decimal("1410.00")
    assert invoice.number in client.get("/portal/billing").content.decode()


def test_a_wallet_that_cannot_pay_changes_nothing(portal):
    poor = make_subscriber(portal.world.orgs["lco1"], username="poor", password="Poor-pass-1",
                           plan=portal.billing.plan, status="active",
                           expires_at=portal.alice.expires_at)
    client = portal.client_for(poor, password="Poor-pass-1")
    quote = client.get("/portal/renew").content.decode()
    assert "Your wallet does not cover this." in quote and 'id="pay-wallet"' not in quote
    response = client.post("/portal/renew", follow=True)
    assert "Insufficient wallet balance" in response.content.decode()
    poor.refresh_from_db()
    assert poor.expires_at == portal.alice.expires_at
    assert not Invoice.objects.filter(subscriber=poor).exists()
    # The invoice counter was not consumed: the next invoice takes the first number.
    portal.client_for().post("/portal/renew")
    assert Invoice.objects.get(subscriber=portal.alice).sequence == 1


def test_upgrade_quote_shows_proration_and_matches_the_bill(portal):
    portal.configure(allow_plan_upgrade=True)
    client = portal.client_for()
    client.post("/portal/renew")  # 590 paid for the next period: all of it unused so far
    gold = portal.billing.gold
    assert f'href="/portal/plans/{gold.pk}/change"' in client.get("/portal/plans").content.decode()
    quote = client.get(f"/portal/plans/{gold.pk}/change").content.decode()
    assert "Upgrade to Fiber 200" in quote
    assert "Credit the unused part" in quote and "590.00 INR" in quote
    assert "1180.00 INR" in quote and "Immediately" in quote

    client.post(f"/portal/plans/{gold.pk}/change")
    portal.alice.refresh_from_db()
    assert portal.alice.plan_id == gold.pk
    change = Invoice.objects.get(subscriber=portal.alice, reason="plan_change")
    assert change.total == Decimal("1180.00") and change.status == "paid"
    assert CreditNote.objects.get(subscriber=portal.alice).amount == Decimal("590.00")
    assert _balance(portal.alice) == Decimal("2000.00") - 590 + 590 - 1180


def test_downgrade_needs_its_own_toggle(portal):
    portal.configure(allow_plan_upgrade=True)
    portal.alice.plan = portal.billing.gold
    portal.alice.save()
    client = portal.client_for()
    plan = portal.billing.plan
    assert f"/portal/plans/{plan.pk}/change" not in client.get("/portal/plans").content.decode()
    assert client.post(f"/portal/plans/{plan.pk}/change").status_code == 404
    portal.configure(allow_plan_downgrade=True)
    assert "Downgrade to Fiber 50" in client.get(f"/portal/plans/{plan.pk}/change").content.decode()


def test_buying_a_top_up(portal):
    client = portal.client_for()
    assert "10 GB top-up" in client.get("/portal/addons").content.decode()
    assert "59.00 INR" in client.get(f"/portal/addons/{portal.topup.pk}").content.decode()
    client.post(f"/portal/addons/{portal.topup.pk}")
    addon = SubscriberAddon.objects.get(subscriber=portal.alice)
    assert addon.quota_mb == 10240 and addon.expires_at <= portal.alice.expires_at
    assert Invoice.objects.get(subscriber=portal.alice).total == Decimal("59.00")
    # A broadband plan is not sold as a top-up.
    assert client.post(f"/portal/addons/{portal.billing.gold.pk}").status_code == 404


def test_online_renewal_settles_when_the_gateway_confirms(portal, monkeypatch):
    gateway = make_gateway(portal.world.orgs["root"], secret="whsec_portal")
    portal.configure(allow_online_payment=True, payment_gateway=gateway)
    # The gateway's order API is the one outside call; it answers like Razorpay does.
    monkeypatch.setattr(Razorpay, "create_order",
                        lambda self, proforma, **kw: {"id": "order_T1", "amount": 59000})
    poor = make_subscriber(portal.world.orgs["lco1"], username="carol", password="Carol-pass-1",
                           plan=portal.billing.plan, status="expired")
    client = portal.client_for(poor, password="Carol-pass-1")
    assert 'id="pay-online"' in client.get("/portal/renew").content.decode()
    checkout = client.post("/portal/pay", {"purpose": "renew"}).content.decode()
    assert 'data-order="order_T1"' in checkout and "590.00 INR" in checkout
    proforma = Proforma.objects.get(subscriber=poor, gateway_order_id="order_T1")
    assert proforma.total == Decimal("590.00") and proforma.purpose == "renew"

    body = json.dumps({"event": "payment.captured", "payload": {"payment": {"entity": {
        "id": "pay_T1", "order_id": "order_T1", "amount": 59000, "currency": "INR",
        "status": "captured"}}}}).encode()
    hook = Client().post(f"/billing/webhooks/{gateway.pk}/", body, content_type="application/json",
                         HTTP_X_RAZORPAY_SIGNATURE=sign(body, "whsec_portal"),
                         HTTP_X_RAZORPAY_EVENT_ID="evt_T1")
    assert hook.json()["status"] == "ok"
    poor.refresh_from_db()
    assert poor.status == Subscriber.Status.ACTIVE and poor.expires_at is not None
    assert Invoice.objects.get(subscriber=poor).status == "paid"


def test_online_payment_refuses_an_upgrade_that_is_switched_off(portal, monkeypatch):
    gateway = make_gateway(portal.world.orgs["root"])
    portal.configure(allow_online_payment=True, payment_gateway=gateway)
    monkeypatch.setattr(Razorpay, "create_order", lambda self, proforma, **kw: {"id": "order_X"})
    client = portal.client_for()
    gold = portal.billing.gold.pk
    response = client.post("/portal/pay", {"purpose": "change_plan", "plan_id": gold})
    assert response.status_code == 404
    assert not Proforma.objects.exists()


def test_a_gateway_that_does_not_answer_leaves_the_service_unchanged(portal, monkeypatch):
    gateway = make_gateway(portal.world.orgs["root"])
    portal.configure(allow_online_payment=True, payment_gateway=gateway)

    def unreachable(self, proforma, **kw):
        raise OSError("connection refused")

    monkeypatch.setattr(Razorpay, "create_order", unreachable)
    client = portal.client_for()
    response = client.post("/portal/pay", {"purpose": "renew"}, follow=True)
    assert "The payment gateway did not answer" in response.content.decode()
    before = portal.alice.expires_at
    portal.alice.refresh_from_db()
    assert portal.alice.expires_at == before
    assert not Invoice.objects.filter(subscriber=portal.alice).exists()
