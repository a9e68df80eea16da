"""Razorpay: webhooks signed with HMAC-SHA256 of the raw body using the webhook secret, sent in
X-Razorpay-Signature (hex); X-Razorpay-Event-Id identifies a delivery's event for deduplication.
Settling events: payment.captured and order.paid (amounts in the currency's smallest unit)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.request

from modules.billing.gateways import Gateway, GatewayEvent, SignatureError, minor_to_amount
from modules.billing.money import BillingError, currency_places

API = "https://api.razorpay.com/v1"
SETTLING = {"payment.captured", "order.paid"}


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Razorpay(Gateway):
    provider = "razorpay"

    def verify(self, body: bytes, headers) -> None:
        given = headers.get("X-Razorpay-Signature", "")
        secret = self.webhook_secret
        if not secret or not given or not hmac.compare_digest(sign(body, secret), given):
            raise SignatureError("The webhook signature does not match.")

    def parse(self, body: bytes, headers) -> GatewayEvent:
        try:
            data = json.loads(body)
            event_type = data["event"]
            payload = data.get("payload", {})
        except (ValueError, KeyError, TypeError) as exc:
            raise BillingError("The webhook body is not a Razorpay event.") from exc
        event_id = headers.get("X-Razorpay-Event-Id") or data.get("id") or ""
        if not event_id:
            raise BillingError("The webhook has no event id.")
        payment = (payload.get("payment") or {}).get("entity") or {}
        order = (payload.get("order") or {}).get("entity") or {}
        currency = (payment.get("currency") or order.get("currency") or "").upper()
        settles = event_type in SETTLING and (payment.get("status") in (None, "captured"))
        amount = None
        if settles:
            amount = minor_to_amount(payment.get("amount", order.get("amount_paid")), currency)
        notes = payment.get("notes") or order.get("notes") or {}
        return GatewayEvent(
            event_id=event_id,
            event_type=event_type,
            settles=settles,
            payment_id=payment.get("id", ""),
            order_id=payment.get("order_id") or order.get("id", ""),
            amount=amount,
            currency=currency,
            notes=notes if isinstance(notes, dict) else {},
        )

    def create_order(self, proforma, return_url: str = "") -> dict:
        """Create the Razorpay order the checkout pays; its id maps the payment to the proforma."""
        minor = int(proforma.total.scaleb(currency_places(proforma.currency)))
        body = json.dumps(
            {
                "amount": minor,
                "currency": proforma.currency,
                "receipt": proforma.number[:40],
                "notes": {"proforma_id": str(proforma.pk)},
            }
        ).encode()
        token = base64.b64encode(f"{self.config.key_id}:{self.key_secret}".encode()).decode()
        request = urllib.request.Request(  # noqa: S310 - fixed https URL
            f"{API}/orders",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"},
        )
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - fixed https URL
            return json.loads(response.read())
