"""Settle a verified gateway delivery exactly once, however many times it arrives.

The event id row, the payment (unique per gateway payment id) and the purchase it pays for are
written in one transaction: a replay, or a second delivery racing the first, finds the event row
and changes nothing.
"""

from __future__ import annotations

import json
import logging

from django.db import IntegrityError, transaction

from modules.billing import orchestration
from modules.billing.gateways import GatewayEvent, gateway_for
from modules.billing.models import Payment, PaymentGateway, Proforma, WebhookEvent
from modules.billing.money import BillingError, check_currency
from modules.billing.payments import record_payment

log = logging.getLogger("billing.webhooks")


def handle(config: PaymentGateway, body: bytes, headers) -> str:
    """Verify (raises SignatureError), record, settle; returns what happened, for the log."""
    gateway = gateway_for(config)
    gateway.verify(body, headers)
    event = gateway.parse(body, headers)
    try:
        with transaction.atomic():
            record = WebhookEvent.objects.create(
                gateway=config,
                event_id=event.event_id,
                event_type=event.event_type,
                payload=json.loads(body),
            )
            outcome = _settle(config, event) if event.settles else "ignored: not a payment"
            WebhookEvent.objects.filter(pk=record.pk).update(outcome=outcome[:255])
    except IntegrityError:
        return "replay ignored"
    except BillingError as exc:
        # Nothing was settled; keep the delivery for the exception queue (a replay stays ignored).
        WebhookEvent.objects.bulk_create(
            [
                WebhookEvent(
                    gateway=config,
                    event_id=event.event_id,
                    event_type=event.event_type,
                    payload=json.loads(body),
                    outcome=f"rejected: {exc}"[:255],
                )
            ],
            ignore_conflicts=True,
        )
        raise
    log.info("gateway %s event %s: %s", config.pk, event.event_id, outcome)
    return outcome


def _settle(config: PaymentGateway, event: GatewayEvent) -> str:
    if Payment.objects.filter(gateway=config, gateway_payment_id=event.payment_id).exists():
        return f"payment {event.payment_id} already recorded"
    proforma = _proforma_for(config, event)
    if proforma is None:
        raise BillingError(f"No open proforma matches order {event.order_id or '(none)'}.")
    check_currency(event.currency, proforma.currency)
    if event.amount != proforma.total:
        raise BillingError(f"Paid {event.amount} but proforma {proforma} is for {proforma.total}.")
    payment = record_payment(
        proforma.subscriber,
        event.amount,
        actor=None,
        method=Payment.Method.GATEWAY,
        currency=event.currency,
        reference=event.payment_id,
        auto_allocate=False,
        gateway=config,
        gateway_payment_id=event.payment_id,
        note=f"{config.get_provider_display()} {event.event_type}",
    )
    billed = orchestration.convert_proforma(proforma)
    if proforma.purpose == Proforma.Purpose.WALLET_RECHARGE:
        return f"payment {payment.number} recharged the wallet"
    return f"payment {payment.number} settled invoice {billed.invoice or '-'}"


def _proforma_for(config, event: GatewayEvent) -> Proforma | None:
    qs = Proforma.objects.select_related("subscriber").filter(tenant_id=config.tenant_id)
    if event.order_id:
        found = qs.filter(gateway_order_id=event.order_id).first()
        if found:
            return found
    proforma_id = str(event.notes.get("proforma_id", ""))
    if proforma_id.isdigit():
        return qs.filter(pk=int(proforma_id)).first()
    return None
