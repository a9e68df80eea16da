"""Payments: money received into a subscriber's wallet, then allocated to invoices."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from modules.billing import events, ledger
from modules.billing.invoicing import BillingContext, require_scope, settle
from modules.billing.models import Invoice, LedgerEntry, Payment
from modules.billing.money import BillingError, check_currency, parse_amount
from modules.billing.numbering import take_numbers


@transaction.atomic
def record_payment(
    subscriber,
    amount,
    *,
    actor,
    method: str,
    currency: str | None = None,
    reference: str = "",
    invoices: list[Invoice] | None = None,
    auto_allocate: bool = True,
    gateway=None,
    gateway_payment_id: str | None = None,
    collected_by=None,
    received_at=None,
    note: str = "",
) -> Payment:
    """Receive money for a subscriber: a receipt-numbered payment credited to its wallet, then
    allocated to the given invoices (or to its oldest open invoices when `auto_allocate`)."""
    require_scope(actor, subscriber.organization)
    if method not in Payment.Method.values:
        raise BillingError(f"Unknown payment method “{method}”.")
    ctx = BillingContext.for_tenant(subscriber.tenant_id)
    check_currency(currency, ctx.currency)
    value = parse_amount(amount, ctx.currency)
    if method in (Payment.Method.CHEQUE, Payment.Method.BANK_TRANSFER) and not reference.strip():
        raise BillingError("A cheque or bank transfer needs its reference (cheque number / UTR).")
    if method == Payment.Method.PARTNER_COLLECTION and collected_by is None:
        # The partner that took the cash is the acting user's node (kept for its settlement).
        collected_by = getattr(actor, "organization", None)
        if collected_by is None:
            raise BillingError("A partner collection needs the partner that collected it.")
    for invoice in invoices or []:
        if invoice.subscriber_id != subscriber.pk:
            raise BillingError(f"{invoice} belongs to another subscriber.")
    wallet = ledger.lock_subscriber_wallet(subscriber)
    check_currency(wallet.currency, ctx.currency)
    s = ctx.settings
    now = received_at or timezone.now()
    year, [(number, sequence)] = take_numbers(s, "receipt", s.receipt_prefix, ctx.today(now))
    payment = Payment.objects.create(
        tenant_id=ctx.tenant_id,
        organization_id=subscriber.organization_id,
        subscriber=subscriber,
        bill_to_name=subscriber.name,
        bill_to_address=subscriber.address,
        bill_to_state=subscriber.state,
        bill_to_tax_number=subscriber.tax_number,
        currency=ctx.currency,
        created_by=actor,
        wallet=wallet,
        number=number,
        fiscal_year=year,
        sequence=sequence,
        amount=value,
        method=method,
        reference=reference[:120],
        gateway=gateway,
        gateway_payment_id=gateway_payment_id,
        collected_by=collected_by,
        received_at=now,
        note=note[:255],
    )
    ledger.post(
        wallet,
        value,
        LedgerEntry.Kind.PAYMENT,
        actor=actor,
        source=payment,
        memo=f"Receipt {number} ({payment.get_method_display()})",
    )
    targets = list(invoices) if invoices else []
    if not targets and auto_allocate:
        targets = list(
            Invoice.objects.filter(
                subscriber=subscriber,
                status__in=[Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID],
            ).order_by("due_date", "id")[:50]
        )
    remaining = value
    for invoice in targets:
        if remaining <= 0:
            break
        if not invoice.is_open:
            raise BillingError(
                f"{invoice} is {invoice.get_status_display().lower()} and cannot be paid."
            )
        share = min(remaining, invoice.amount_due)
        if share > 0:
            settle(invoice, wallet, share, actor=actor, payment=payment)
            remaining -= share
    events.payment_received.send(sender=Payment, payment=payment, actor=actor)
    return payment


@transaction.atomic
def allocate(payment: Payment, invoice: Invoice, amount, *, actor) -> None:
    """Apply part of a payment's unallocated money (still in the wallet) to an invoice."""
    require_scope(actor, payment.organization)
    ledger.lock(payment.wallet_id)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != Payment.Status.RECEIVED:
        raise BillingError(f"Payment {payment} is cancelled.")
    if invoice.subscriber_id != payment.subscriber_id:
        raise BillingError(f"{invoice} belongs to another subscriber.")
    value = parse_amount(amount, payment.currency)
    if value > unallocated(payment):
        raise BillingError(f"Only {unallocated(payment)} of {payment} is unallocated.")
    wallet = ledger.lock(payment.wallet_id)[payment.wallet_id]
    settle(invoice, wallet, value, actor=actor, payment=payment)


def unallocated(payment: Payment) -> Decimal:
    used = sum((a.amount for a in payment.allocations.filter(reversed=False)), Decimal(0))
    return payment.amount - used
