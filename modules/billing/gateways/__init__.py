"""Payment gateways: one interface, one class per provider.

A provider verifies a webhook delivery against its documented signature scheme and turns it into
a `GatewayEvent`; the billing side (`modules.billing.webhooks`) does the rest the same way for all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from modules.billing.money import BillingError
from modules.subscribers.crypto import decrypt_password, encrypt_password


class SignatureError(BillingError):
    """The delivery is not signed by the gateway (forged, altered or misconfigured secret)."""


@dataclass
class GatewayEvent:
    event_id: str
    event_type: str
    settles: bool  # a captured / paid payment that should be recorded
    payment_id: str = ""
    order_id: str = ""
    amount: Decimal | None = None
    currency: str = ""
    notes: dict = field(default_factory=dict)


class Gateway:
    provider = ""

    def __init__(self, config):
        self.config = config

    @property
    def webhook_secret(self) -> str:
        return decrypt_password(self.config.webhook_secret_encrypted)

    @property
    def key_secret(self) -> str:
        return decrypt_password(self.config.key_secret_encrypted)

    def verify(self, body: bytes, headers) -> None:
        raise NotImplementedError

    def parse(self, body: bytes, headers) -> GatewayEvent:
        raise NotImplementedError

    def create_order(self, proforma, return_url: str = "") -> dict:
        """Open a payment for the proforma's total at the gateway; the answer's `id` is stored
        as the proforma's gateway order id. `return_url` is where a hosted page sends the
        subscriber back to."""
        raise NotImplementedError


def set_secrets(config, *, key_secret: str | None = None, webhook_secret: str | None = None):
    if key_secret:
        config.key_secret_encrypted = encrypt_password(key_secret)
    if webhook_secret:
        config.webhook_secret_encrypted = encrypt_password(webhook_secret)


def gateway_for(config) -> Gateway:
    from modules.billing.gateways.razorpay import Razorpay
    from modules.billing.gateways.stripe import Stripe

    providers = {Razorpay.provider: Razorpay, Stripe.provider: Stripe}
    if config.provider not in providers:
        raise BillingError(f"Unknown gateway provider “{config.provider}”.")
    return providers[config.provider](config)


def minor_to_amount(value, currency: str) -> Decimal:
    from modules.billing.money import currency_places

    if not isinstance(value, int) or value <= 0:
        raise BillingError("The gateway sent an invalid amount.")
    return Decimal(value).scaleb(-currency_places(currency))
