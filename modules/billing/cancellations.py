"""The maker-checker cancellation queue for invoices and payments.

A request waits until a different user who holds `billing.approve` decides it. Approving
reverses the document's money through the ledger: nothing is deleted or edited in place.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from modules.billing import events, ledger
from modules.billing.invoicing import require_scope, status_for
from modules.billing.models import Allocation, CancellationRequest, Invoice, LedgerEntry, Payment
from modules.billing.money import BillingError

APPROVE_PERMISSION = "billing.approve"


@transaction.atomic
def request_cancellation(document: Invoice | Payment, *, actor, reason: str) -> CancellationRequest:
    require_scope(actor, document.organization)
    if not reason or not reason.strip():
        raise BillingError("Give the reason for the cancellation.")
    if isinstance(document, Invoice):
        if not document.is_open and document.status != Invoice.Status.PAID:
            raise BillingError(f"{document} is {document.get_status_display().lower()}.")
        target = {"invoice": document}
    else:
        if document.status != Payment.Status.RECEIVED:
            raise BillingError(f"{document} is already cancelled.")
        target = {"payment": document}
    try:
        with transaction.atomic():
            return CancellationRequest.objects.create(
                tenant_id=document.tenant_id, organization_id=document.organization_id,
                reason=reason.strip()[:255], requested_by=actor, **target)
    except IntegrityError as exc:
        raise BillingError(f"{document} already has a pending cancellation request.") from exc


def _lock_pending(request: CancellationRequest, actor) -> CancellationRequest:
    require_scope(actor, request.organization)
    if actor is None or not actor.has_perm(APPROVE_PERMISSION):
        raise PermissionDenied("Approving cancellations needs the approve permission.")
    locked = CancellationRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != CancellationRequest.Status.PENDING:
        raise BillingError(f"This request is already {locked.get_status_display().lower()}.")
    if locked.requested_by_id == actor.pk:
        raise BillingError("A cancellation must be approved by someone other than its requester.")
    return locked


@transaction.atomic
def approve_cancellation(
    request: CancellationRequest, *, actor, note: str = ""
) -> CancellationRequest:
    document = request.invoice or request.payment
    if isinstance(document, Payment):
        ledger.lock(document.wallet_id)
    elif document.subscriber_id:
        ledger.lock_subscriber_wallet(document.subscriber)
    locked = _lock_pending(request, actor)
    if locked.invoice_id:
        cancel_invoice(locked.invoice, actor=actor, memo=locked.reason)
    else:
        cancel_payment(locked.payment, actor=actor, memo=locked.reason)
    _decide(locked, CancellationRequest.Status.APPROVED, actor, note)
    return locked


@transaction.atomic
def reject_cancellation(request: CancellationRequest, *, actor, note: str) -> CancellationRequest:
    locked = _lock_pending(request, actor)
    if not note or not note.strip():
        raise BillingError("Give the reason for rejecting the request.")
    _decide(locked, CancellationRequest.Status.REJECTED, actor, note)
    return locked


def _decide(locked, status, actor, note):
    locked.status, locked.decided_by, locked.decided_at = status, actor, timezone.now()
    locked.decision_note = note[:255]
    locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])


def _reverse_allocations(allocations, *, actor, memo) -> None:
    for allocation in allocations:
        invoice = allocation.invoice
        wallet = (allocation.payment.wallet if allocation.payment_id
                  else ledger.subscriber_wallet(invoice.subscriber))
        ledger.post(wallet, allocation.amount, LedgerEntry.Kind.INVOICE_REVERSAL, actor=actor,
                    source=invoice, memo=f"Reversal for {invoice.number}: {memo}")
        Allocation.objects.filter(pk=allocation.pk).update(reversed=True)
        Invoice.objects.filter(pk=invoice.pk).update(
            amount_paid=F("amount_paid") - allocation.amount)


def cancel_invoice(invoice: Invoice, *, actor, memo: str = "") -> None:
    """Cancel an issued invoice: money applied to it goes back to the wallet it came from."""
    if invoice.subscriber_id:  # wallet before invoice: the lock order of every money path
        ledger.lock_subscriber_wallet(invoice.subscriber)
    inv = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if inv.status in (Invoice.Status.CANCELLED, Invoice.Status.DRAFT):
        raise BillingError(f"{inv} is {inv.get_status_display().lower()}.")
    allocations = list(inv.allocations.filter(reversed=False).select_related("payment__wallet"))
    _reverse_allocations(allocations, actor=actor, memo=memo)
    Invoice.objects.filter(pk=inv.pk).update(status=Invoice.Status.CANCELLED,
                                             cancelled_at=timezone.now())


def cancel_payment(payment: Payment, *, actor, memo: str = "") -> None:
    """Cancel a payment: its allocations are undone (invoices owe again) and its amount leaves the
    wallet; refused when the wallet has already spent it (the floor would be crossed)."""
    ledger.lock(payment.wallet_id)
    pay = Payment.objects.select_for_update().get(pk=payment.pk)
    if pay.status != Payment.Status.RECEIVED:
        raise BillingError(f"{pay} is already cancelled.")
    allocations = list(pay.allocations.filter(reversed=False).select_related("invoice"))
    _reverse_allocations(allocations, actor=actor, memo=memo)
    for invoice_id in {a.invoice_id for a in allocations}:
        inv = Invoice.objects.get(pk=invoice_id)
        if inv.status != Invoice.Status.CANCELLED:
            Invoice.objects.filter(pk=inv.pk).update(status=status_for(inv.total, inv.amount_paid))
    ledger.post(pay.wallet, -pay.amount, LedgerEntry.Kind.PAYMENT_REVERSAL, actor=actor,
                source=pay, memo=f"Receipt {pay.number} cancelled: {memo}")
    Payment.objects.filter(pk=pay.pk).update(status=Payment.Status.CANCELLED,
                                             cancelled_at=timezone.now())
    events.payment_cancelled.send(sender=Payment, payment=pay, actor=actor)


