"""Gateway webhooks against each provider's documented signature scheme, signed offline: a
verified delivery settles the payment, renews and restores the subscriber exactly once; forged,
altered, stale or replayed deliveries change nothing."""

import json
import time
from decimal import Decimal as D

import pytest
from django.test import Client

from modules.billing import invoicing, ledger
from modules.billing.gateways import razorpay, stripe
from modules.billing.models import Invoice, LedgerEntry, Payment, Proforma, WebhookEvent
from modules.subscribers.models import Subscriber
from tests.billing.samples import make_gateway

SECRET = "whsec_offline_test"


def razorpay_body(order_id, *, amount=59000, currency="INR", payment_id="pay_N1",
                  event="payment.captured"):
    return json.dumps({
        "entity": "event", "event": event, "contains": ["payment"],
        "payload": {"payment": {"entity": {
            "id": payment_id, "amount": amount, "currency": currency, "status": "captured",
            "order_id": order_id, "method": "upi", "notes": {}}}},
    }).encode()


def post_razorpay(client, gateway, body, *, event_id="evt_1", secret=SECRET):
    return client.post(f"/billing/webhooks/{gateway.pk}/", body, content_type="application/json",
                       HTTP_X_RAZORPAY_SIGNATURE=razorpay.sign(body, secret),
                       HTTP_X_RAZORPAY_EVENT_ID=event_id)


@pytest.fixture
def checkout(billing):
    """An expired subscriber with an unpaid renewal proforma linked to a gateway order."""
    sub = billing.subscriber(status=Subscriber.Status.EXPIRED, days_left=-3)
    proforma = invoicing.create_proforma(sub, billing.plan, actor=None)
    Proforma.objects.filter(pk=proforma.pk).update(gateway_order_id="order_N1")
    gateway = make_gateway(billing.world.orgs["root"], secret=SECRET)
    return sub, proforma, gateway


def money_state():
    return (Payment.objects.count(), Invoice.objects.count(), LedgerEntry.objects.count(),
            list(Subscriber.objects.order_by("pk").values_list("status", "expires_at")))


def test_verified_razorpay_payment_renews_and_restores_exactly_once(billing, checkout,
                                                                    tasks_inline):
    sub, proforma, gateway = checkout
    client = Client()
    body = razorpay_body("order_N1")
    response = post_razorpay(client, gateway, body)
    assert response.status_code == 200 and response.json()["status"] == "ok"
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.ACTIVE
    payment = Payment.objects.get()
    assert (payment.amount, payment.method, payment.gateway_payment_id) == (
        D("590.00"), "gateway", "pay_N1")
    invoice = Invoice.objects.get()
    assert invoice.status == Invoice.Status.PAID and invoice.reason == Invoice.Reason.RENEWAL
    proforma.refresh_from_db()
    assert proforma.status == Proforma.Status.CONVERTED and proforma.invoice == invoice
    assert ledger.subscriber_wallet(sub).balance == 0
    after_first = money_state()

    # The same delivery again, and the same payment announced by a second event (order.paid).
    assert post_razorpay(client, gateway, body).json()["outcome"] == "replay ignored"
    again = post_razorpay(client, gateway, razorpay_body("order_N1"), event_id="evt_2")
    assert again.status_code == 200
    assert money_state() == after_first
    assert WebhookEvent.objects.count() == 2


@pytest.mark.parametrize("tamper", ["forged", "altered", "unsigned", "wrong_secret"])
def test_forged_or_altered_delivery_is_refused_and_changes_nothing(billing, checkout, tamper):
    _, _, gateway = checkout
    body = razorpay_body("order_N1")
    headers = {"HTTP_X_RAZORPAY_SIGNATURE": razorpay.sign(body, SECRET),
               "HTTP_X_RAZORPAY_EVENT_ID": "evt_1"}
    if tamper == "forged":
        headers["HTTP_X_RAZORPAY_SIGNATURE"] = "0" * 64
    elif tamper == "altered":  # signed body, then the amount changed in transit
        body = razorpay_body("order_N1", amount=100)
    elif tamper == "unsigned":
        del headers["HTTP_X_RAZORPAY_SIGNATURE"]
    else:
        headers["HTTP_X_RAZORPAY_SIGNATURE"] = razorpay.sign(body, "someone-else")
    before = money_state()
    response = Client().post(f"/billing/webhooks/{gateway.pk}/", body,
                             content_type="application/json", **headers)
    assert response.status_code == 401
    assert b"signature" in response.content
    assert money_state() == before
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(("body_kwargs", "reason"), [
    ({"amount": 50000}, "Paid 500.00 but proforma"),
    ({"currency": "USD"}, "Currency mismatch"),
    ({"amount": 59000}, "No open proforma"),  # an order nobody created
])
def test_verified_but_unmatched_payment_is_kept_for_review_and_settles_nothing(
        billing, checkout, body_kwargs, reason):
    _, _, gateway = checkout
    order = "order_unknown" if reason == "No open proforma" else "order_N1"
    before = money_state()
    response = post_razorpay(Client(), gateway, razorpay_body(order, **body_kwargs))
    assert response.status_code == 200  # the gateway must stop retrying
    assert response.json()["status"] == "rejected" and reason in response.json()["reason"]
    assert money_state() == before
    event = WebhookEvent.objects.get()
    assert event.outcome.startswith("rejected: ")


def test_events_that_are_not_payments_are_recorded_and_ignored(billing, checkout):
    _, _, gateway = checkout
    before = money_state()
    body = razorpay_body("order_N1", event="payment.failed")
    assert post_razorpay(Client(), gateway, body).json()["outcome"] == "ignored: not a payment"
    assert money_state() == before


def test_unknown_or_disabled_gateway_answers_not_found(billing, checkout):
    _, _, gateway = checkout
    gateway.is_active = False
    gateway.save()
    assert post_razorpay(Client(), gateway, razorpay_body("order_N1")).status_code == 404
    assert Client().get(f"/billing/webhooks/{gateway.pk}/").status_code == 405


def stripe_body(proforma, *, event_id="evt_S1", amount=59000):
    return json.dumps({
        "id": event_id, "type": "checkout.session.completed",
        "data": {"object": {"id": "cs_test_1", "payment_status": "paid", "amount_total": amount,
                            "currency": "inr", "payment_intent": "pi_1",
                            "client_reference_id": "order_N1",
                            "metadata": {"proforma_id": str(proforma.pk)}}},
    }).encode()


def post_stripe(gateway, body, *, timestamp=None, secret=SECRET):
    timestamp = int(time.time()) if timestamp is None else timestamp
    header = f"t={timestamp},v1={stripe.sign(body, secret, timestamp)}"
    return Client().post(f"/billing/webhooks/{gateway.pk}/", body,
                         content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


def test_stripe_checkout_settles_once_and_refuses_stale_signatures(billing, checkout,
                                                                  tasks_inline):
    sub, proforma, _ = checkout
    gateway = make_gateway(billing.world.orgs["root"], provider="stripe", secret=SECRET)
    body = stripe_body(proforma)
    stale = post_stripe(gateway, body, timestamp=int(time.time()) - 3600)
    assert stale.status_code == 401 and b"too old" in stale.content
    assert not Payment.objects.exists()
    assert post_stripe(gateway, body).json()["status"] == "ok"
    assert post_stripe(gateway, body).json()["outcome"] == "replay ignored"
    assert Payment.objects.get().gateway_payment_id == "pi_1"
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.ACTIVE
    assert Invoice.objects.get().status == Invoice.Status.PAID
