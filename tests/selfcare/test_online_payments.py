"""Online payment from self-care: a wallet recharge credits the wallet exactly once when the
gateway's signed webhook arrives, issues no invoice and refuses bad amounts before writing;
a Stripe gateway opens a hosted Checkout Session whose completion carries out the purchase.
The gateway's HTTPS API is the only thing stubbed."""

import json
import time
import urllib.parse
from decimal import Decimal

import pytest
from django.test import Client

from modules.billing.gateways import razorpay, stripe
from modules.billing.models import Invoice, LedgerEntry, Payment, Proforma, WebhookEvent
from modules.billing.selectors import wallet_of_subscriber
from modules.subscribers.models import Subscriber
from tests.billing.samples import make_gateway
from tests.subscribers.samples import make_subscriber

SECRET = "whsec_recharge"


def _balance(subscriber):
    return wallet_of_subscriber(subscriber).balance


def _razorpay_hook(gateway, *, order_id, amount, payment_id, event_id):
    body = json.dumps({"event": "payment.captured", "payload": {"payment": {"entity": {
        "id": payment_id, "order_id": order_id, "amount": amount, "currency": "INR",
        "status": "captured"}}}}).encode()
    return Client().post(f"/billing/webhooks/{gateway.pk}/", body,
                         content_type="application/json",
                         HTTP_X_RAZORPAY_SIGNATURE=razorpay.sign(body, SECRET),
                         HTTP_X_RAZORPAY_EVENT_ID=event_id)


def _stripe_hook(gateway, obj, *, event_type="checkout.session.completed", event_id="evt_S1"):
    body = json.dumps({"id": event_id, "type": event_type, "data": {"object": obj}}).encode()
    now = int(time.time())
    return Client().post(f"/billing/webhooks/{gateway.pk}/", body,
                         content_type="application/json",
                         HTTP_STRIPE_SIGNATURE=f"t={now},v1={stripe.sign(body, SECRET, now)}")


@pytest.fixture
def razorpay_portal(portal, monkeypatch):
    gateway = make_gateway(portal.world.orgs["root"], secret=SECRET)
    portal.configure(allow_online_payment=True, payment_gateway=gateway)
    orders = []

    def create_order(self, proforma, return_url=""):
        orders.append(proforma.pk)
        return {"id": f"order_R{proforma.pk}", "amount": int(proforma.total * 100)}

    monkeypatch.setattr(razorpay.Razorpay, "create_order", create_order)
    return gateway, orders


def test_a_paid_recharge_credits_the_wallet_exactly_once(portal, razorpay_portal):
    gateway, _ = razorpay_portal
    client = portal.client_for()
    assert 'id="btn-recharge"' in client.get("/portal/").content.decode()
    assert 'name="amount"' in client.get("/portal/recharge").content.decode()
    before_expiry = portal.alice.expires_at

    checkout = client.post("/portal/recharge", {"amount": "750"}).content.decode()
    proforma = Proforma.objects.get(subscriber=portal.alice)
    assert f'data-order="order_R{proforma.pk}"' in checkout and "750.00 INR" in checkout
    assert "Your wallet is credited" in checkout
    assert proforma.purpose == Proforma.Purpose.WALLET_RECHARGE and proforma.plan is None
    assert (proforma.total, proforma.tax_total) == (Decimal("750.00"), Decimal("0"))

    hook = _razorpay_hook(gateway, order_id=f"order_R{proforma.pk}", amount=75000,
                          payment_id="pay_R1", event_id="evt_R1")
    assert hook.json() == {"status": "ok", "outcome": hook.json()["outcome"]}
    assert "recharged the wallet" in hook.json()["outcome"]
    assert _balance(portal.alice) == Decimal("2750.00")
    payment = Payment.objects.get(subscriber=portal.alice, gateway=gateway)
    assert payment.amount == Decimal("750.00") and payment.gateway_payment_id == "pay_R1"
    proforma.refresh_from_db()
    assert proforma.status == Proforma.Status.CONVERTED and proforma.invoice is None
    assert not Invoice.objects.filter(subscriber=portal.alice).exists()
    portal.alice.refresh_from_db()
    assert portal.alice.expires_at == before_expiry  # money only; the service is untouched

    entries = LedgerEntry.objects.count()
    replay = _razorpay_hook(gateway, order_id=f"order_R{proforma.pk}", amount=75000,
                            payment_id="pay_R1", event_id="evt_R1")
    assert replay.json()["outcome"] == "replay ignored"
    # The same payment announced again under a new event id is recognised too.
    again = _razorpay_hook(gateway, order_id=f"order_R{proforma.pk}", amount=75000,
                           payment_id="pay_R1", event_id="evt_R2")
    assert again.json()["outcome"] == "payment pay_R1 already recorded"
    assert _balance(portal.alice) == Decimal("2750.00")
    assert Payment.objects.filter(gateway=gateway).count() == 1
    assert LedgerEntry.objects.count() == entries
    assert WebhookEvent.objects.filter(gateway=gateway).count() == 2


def test_a_recharge_paid_with_the_wrong_amount_credits_nothing(portal, razorpay_portal):
    gateway, _ = razorpay_portal
    portal.client_for().post("/portal/recharge", {"amount": "750.00"})
    proforma = Proforma.objects.get(subscriber=portal.alice)
    hook = _razorpay_hook(gateway, order_id=proforma.gateway_order_id, amount=70000,
                          payment_id="pay_R9", event_id="evt_R9")
    assert hook.json()["status"] == "rejected" and "750.00" in hook.json()["reason"]
    assert _balance(portal.alice) == Decimal("2000.00")
    assert not Payment.objects.filter(gateway=gateway).exists()
    proforma.refresh_from_db()
    assert proforma.status == Proforma.Status.OPEN


@pytest.mark.parametrize("amount, message", [
    ("", "is not an amount"),
    ("abc", "is not an amount"),
    ("0", "greater than zero"),
    ("-50", "greater than zero"),
    ("10.505", "at most 2 decimal places"),
    ("1000000000000", "more than a wallet recharge can be"),
])
def test_a_bad_amount_is_refused_before_anything_is_written(portal, razorpay_portal, amount,
                                                            message):
    _, orders = razorpay_portal
    response = portal.client_for().post("/portal/recharge", {"amount": amount})
    assert response.status_code == 200 and message in response.content.decode()
    assert not Proforma.objects.exists() and orders == []


def test_recharge_follows_the_online_payment_toggle(portal):
    client = portal.client_for()
    assert 'id="btn-recharge"' not in client.get("/portal/").content.decode()
    assert client.get("/portal/recharge").status_code == 404
    assert client.post("/portal/recharge", {"amount": "100"}).status_code == 404
    assert not Proforma.objects.exists()


class _Answer:
    def __init__(self, data):
        self.body = json.dumps(data).encode()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self):
        return self.body


def test_stripe_renewal_goes_through_a_checkout_session(portal, monkeypatch):
    gateway = make_gateway(portal.world.orgs["root"], provider="stripe", secret=SECRET)
    portal.configure(allow_online_payment=True, payment_gateway=gateway)
    calls = []

    def stripe_api(request, timeout):
        calls.append(request)
        return _Answer({"id": "cs_test_R1", "object": "checkout.session",
                        "url": "https://checkout.stripe.com/c/pay/cs_test_R1"})

    monkeypatch.setattr(stripe.urllib.request, "urlopen", stripe_api)
    carol = make_subscriber(portal.world.orgs["lco1"], username="carol", password="Carol-pass-1",
                            plan=portal.billing.plan, status="expired")
    client = portal.client_for(carol, password="Carol-pass-1")
    checkout = client.post("/portal/pay", {"purpose": "renew"}).content.decode()
    assert 'href="https://checkout.stripe.com/c/pay/cs_test_R1"' in checkout
    proforma = Proforma.objects.get(subscriber=carol)
    assert proforma.gateway_order_id == "cs_test_R1"

    [request] = calls
    form = dict(urllib.parse.parse_qsl(request.data.decode()))
    assert request.full_url == "https://api.stripe.com/v1/checkout/sessions"
    assert request.get_header("Authorization") == "Bearer key-secret"
    assert request.get_header("Idempotency-key") == f"proforma-{proforma.pk}-{proforma.number}"
    assert form["mode"] == "payment" and form["success_url"] == "http://testserver/portal/billing"
    assert form["line_items[0][price_data][unit_amount]"] == "59000"
    assert form["line_items[0][price_data][currency]"] == "inr"
    assert form["metadata[proforma_id]"] == str(proforma.pk)
    assert form["payment_intent_data[metadata][proforma_id]"] == str(proforma.pk)

    # Stripe's completion names the session, not a reference of ours.
    session = {"id": "cs_test_R1", "object": "checkout.session", "payment_status": "paid",
               "amount_total": 59000, "currency": "inr", "payment_intent": "pi_R1",
               "client_reference_id": None, "metadata": {"proforma_id": str(proforma.pk)}}
    assert _stripe_hook(gateway, session).json()["status"] == "ok"
    intent = {"id": "pi_R1", "object": "payment_intent", "amount_received": 59000,
              "currency": "inr", "metadata": {"proforma_id": str(proforma.pk)}}
    second = _stripe_hook(gateway, intent, event_type="payment_intent.succeeded",
                          event_id="evt_S2")
    assert second.json()["outcome"] == "payment pi_R1 already recorded"
    carol.refresh_from_db()
    assert carol.status == Subscriber.Status.ACTIVE
    assert Invoice.objects.get(subscriber=carol).status == Invoice.Status.PAID
    assert Payment.objects.get(subscriber=carol).gateway_payment_id == "pi_R1"


def test_stripe_that_does_not_answer_leaves_only_an_open_quote(portal, monkeypatch):
    gateway = make_gateway(portal.world.orgs["root"], provider="stripe", secret=SECRET)
    portal.configure(allow_online_payment=True, payment_gateway=gateway)

    def unreachable(request, timeout):
        raise OSError("connection refused")

    monkeypatch.setattr(stripe.urllib.request, "urlopen", unreachable)
    response = portal.client_for().post("/portal/recharge", {"amount": "300"}, follow=True)
    assert "The payment gateway did not answer" in response.content.decode()
    proforma = Proforma.objects.get(subscriber=portal.alice)
    assert proforma.status == Proforma.Status.OPEN and not proforma.gateway_order_id
    assert _balance(portal.alice) == Decimal("2000.00")
