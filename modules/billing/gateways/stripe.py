"""Stripe: the Stripe-Signature header carries t=<timestamp>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>" with the endpoint secret>; deliveries older than five minutes are refused.
Settling events: checkout.session.completed (paid) and payment_intent.succeeded."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from modules.billing.gateways import Gateway, GatewayEvent, SignatureError, minor_to_amount
from modules.billing.money import BillingError

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
            order_id=obj.get("client_reference_id") or metadata.get("order_id", ""),
            amount=minor_to_amount(minor, currency) if settles else None,
            currency=currency,
            notes=metadata,
        )
