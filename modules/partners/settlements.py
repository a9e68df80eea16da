"""Settlements: a partner's wallet money paid out by bank, UPI or cheque. Requested by the
partner or started above it; paid by someone above the partner; the payout debits the wallet
(never into credit) and is traced to the commissions it settles."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from modules.billing import ledger
from modules.billing.models import LedgerEntry
from modules.billing.money import parse_amount
from modules.core import scope
from modules.core.models import Organization
from modules.partners.models import Commission, Settlement
from modules.partners.profiles import PartnerError, parent_of, require_scope
from modules.partners.wallets import note_balance


def _check_method(method: str) -> None:
    if method not in Settlement.Method.values:
        raise PartnerError(f"Unknown payout method “{method}”.")


def _check_payer(actor, organization: Organization) -> None:
    if actor is not None and (not scope.in_scope(actor, parent_of(organization))
                              or actor.organization_id == organization.pk):
        raise PermissionDenied("Payouts are made above the partner that receives them.")


@transaction.atomic
def request_settlement(organization: Organization, amount, *, actor, method: str,
                       note: str = "") -> Settlement:
    require_scope(actor, organization)
    if organization.depth == 1:
        raise PartnerError("The ISP does not settle with itself.")
    _check_method(method)
    wallet = ledger.organization_wallet(organization)
    value = parse_amount(amount, wallet.currency)
    if value > wallet.balance:
        payable = max(wallet.balance, Decimal(0))
        raise PartnerError(f"Only {payable} {wallet.currency} can be paid out.")
    return Settlement.objects.create(organization=organization, amount=value, method=method,
                                     note=note.strip()[:255], requested_by=actor)


@transaction.atomic
def pay_settlement(settlement: Settlement, *, actor, reference: str,
                   method: str | None = None) -> Settlement:
    """Pay a requested settlement: debit the wallet and trace the commissions it covers."""
    require_scope(actor, settlement.organization)
    _check_payer(actor, settlement.organization)
    if not reference or not reference.strip():
        raise PartnerError("Give the bank UTR, UPI reference or cheque number of the payout.")
    wallet = ledger.organization_wallet(settlement.organization)
    ledger.lock(wallet.pk)
    locked = Settlement.objects.select_for_update().get(pk=settlement.pk)
    if locked.status != Settlement.Status.REQUESTED:
        raise PartnerError(f"This settlement is already {locked.get_status_display().lower()}.")
    if method:
        _check_method(method)
        locked.method = method
    wallet.refresh_from_db()
    if locked.amount > wallet.balance:
        raise PartnerError(f"The wallet holds {wallet.balance} {wallet.currency}; "
                           f"a payout of {locked.amount} would go into credit.")
    entry = ledger.post(wallet, -locked.amount, LedgerEntry.Kind.ADJUSTMENT, actor=actor,
                        source=locked, memo=f"Payout {locked.pk} by {locked.get_method_display()}")
    locked.status, locked.paid_by, locked.paid_at = Settlement.Status.PAID, actor, timezone.now()
    locked.reference, locked.ledger_entry = reference.strip()[:120], entry
    locked.save(update_fields=["status", "paid_by", "paid_at", "reference", "method",
                               "ledger_entry"])
    _trace(locked)
    note_balance(locked.organization)
    return locked


def _trace(settlement: Settlement) -> None:
    """Attach the oldest unsettled commissions the payout covers."""
    left, ids = settlement.amount, []
    for pk, amount in (Commission.objects.filter(
            organization=settlement.organization, settlement__isnull=True,
            reversal_entry__isnull=True).order_by("id").values_list("pk", "amount")):
        if amount > left:
            break
        ids.append(pk)
        left -= amount
    Commission.objects.filter(pk__in=ids).update(settlement=settlement)


@transaction.atomic
def start_payout(organization: Organization, amount, *, actor, method: str,
                 reference: str, note: str = "") -> Settlement:
    """A payout started above the partner: recorded and paid at once."""
    _check_payer(actor, organization)
    settlement = request_settlement(organization, amount, actor=actor, method=method, note=note)
    return pay_settlement(settlement, actor=actor, reference=reference)


@transaction.atomic
def reject_settlement(settlement: Settlement, *, actor, note: str) -> Settlement:
    require_scope(actor, settlement.organization)
    _check_payer(actor, settlement.organization)
    if not note or not note.strip():
        raise PartnerError("Give the reason for rejecting the settlement.")
    locked = Settlement.objects.select_for_update().get(pk=settlement.pk)
    if locked.status != Settlement.Status.REQUESTED:
        raise PartnerError(f"This settlement is already {locked.get_status_display().lower()}.")
    locked.status, locked.paid_by = Settlement.Status.REJECTED, actor
    locked.paid_at = timezone.now()
    locked.note = f"Rejected: {note.strip()}"[:255]
    locked.save(update_fields=["status", "paid_by", "paid_at", "note"])
    return locked
