"""Stripe: the Stripe-Signature header carries t=<timestamp>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>" with the endpoint secret>; deliveries older than five minutes are refused.
Settling events: checkout.session.completed (paid) and payment_intent.succeeded.
Payments start as hosted Checkout Sessions; the session id is the proforma's gateway order id
and both the session and its payment intent carry the proforma id in their metadata."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
import urllib.request

from modules.billing.gateways import Gateway, GatewayEvent, SignatureError, minor_to_amount
from modules.billing.money import BillingError, currency_places

API = "https://api.stripe.com/v1"
TOLERANCE_SECONDS = 300


def sign(body: bytes, secret: str, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


class Stripe(Gateway):
    provider = "stripe"

    def verify(self, body: bytes, headers, now: float | None = None) -> None:
        parts = [
            p.split("=", 1) for p in headers.get("Stripe-Signature", "").split(",") if "=" in p
        ]
        timestamps = [v for k, v in parts if k == "t"]
        signatures = [v for k, v in parts if k == "v1"]
        secret = self.webhook_secret
        if not (secret and timestamps and signatures and timestamps[0].isdigit()):
            raise SignatureError("The webhook signature does not match.")
        timestamp = int(timestamps[0])
        if abs((now or time.time()) - timestamp) > TOLERANCE_SECONDS:
            raise SignatureError("The webhook signature is too old.")
        expected = sign(body, secret, timestamp)
        if not any(hmac.compare_digest(expected, s) for s in signatures):
            raise SignatureError("The webhook signature does not match.")

    def parse(self, body: bytes, headers) -> GatewayEvent:
        try:
            data = json.loads(body)
            event_id, event_type, obj = data["id"], data["type"], data["data"]["object"]
        except (ValueError, KeyError, TypeError) as exc:
            raise BillingError("The webhook body is not a Stripe event.") from exc
        currency = (obj.get("currency") or "").upper()
        if event_type == "checkout.session.completed":
            settles = obj.get("payment_status") == "paid"
            minor, payment_id = obj.get("amount_total"), obj.get("payment_intent") or obj.get("id")
        else:
            settles = event_type == "payment_intent.succeeded"
            minor, payment_id = obj.get("amount_received"), obj.get("id")
        metadata = obj.get("metadata") or {}
        return GatewayEvent(
            event_id=event_id,
            event_type=event_type,
            settles=settles,
            payment_id=payment_id or "",
            order_id=(obj.get("client_reference_id") or metadata.get("order_id")
                      or (obj.get("id", "") if event_type.startswith("checkout.session.") else "")),
            amount=minor_to_amount(minor, currency) if settles else None,
            currency=currency,
            notes=metadata,
        )

    def create_order(self, proforma, return_url: str = "") -> dict:
        """Create the Checkout Session the subscriber pays on Stripe's page (its `url`)."""
        if not return_url:
            raise ValueError("Stripe Checkout needs an address to send the subscriber back to.")
        minor = int(proforma.total.scaleb(currency_places(proforma.currency)))
        proforma_id = str(proforma.pk)
        body = urllib.parse.urlencode(
            {
                "mode": "payment",
                "success_url": return_url,
                "cancel_url": return_url,
                "line_items[0][quantity]": "1",
                "line_items[0][price_data][currency]": proforma.currency.lower(),
                "line_items[0][price_data][unit_amount]": str(minor),
                "line_items[0][price_data][product_data][name]": f"Quote {proforma.number}",
                "metadata[proforma_id]": proforma_id,
                "payment_intent_data[metadata][proforma_id]": proforma_id,
            }
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - fixed https URL
            f"{API}/checkout/sessions",
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Authorization": f"Bearer {self.key_secret}",
                # A retried call returns the same session instead of opening a second one.
                "Idempotency-Key": f"proforma-{proforma.pk}-{proforma.number}",
            },
        )
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - fixed https URL
            return json.loads(response.read())
