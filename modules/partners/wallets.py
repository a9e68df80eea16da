"""Partner wallets: recharge by the parent, top-up requests, the debit at partner price when a
partner sells a plan, and the low-balance alert. Every movement goes through the billing ledger
(row locks, immutable entries); nothing here writes a balance."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from modules.billing import ledger
from modules.billing.models import LedgerEntry
from modules.billing.money import parse_amount
from modules.core import scope
from modules.core.models import Organization
from modules.partners import notices
from modules.partners.models import Partner, PlanShare, TopUpRequest
from modules.partners.profiles import PartnerError, governing_partner, parent_of, require_scope

log = logging.getLogger("partners.wallets")
Kind = LedgerEntry.Kind


def note_balance(organization: Organization) -> None:
    """Raise or clear the partner's low-balance flag after its wallet moved; raising it queues
    one alert to the partner's contact."""
    partner = Partner.objects.filter(organization=organization).first()
    if partner is None or partner.low_balance_threshold is None:
        return
    balance = ledger.organization_wallet(organization).balance
    low = balance < partner.low_balance_threshold
    if low and partner.low_balance_since is None:
        since = timezone.now()
        # Conditional on the flag being clear: of two racing debits only one crosses.
        if not Partner.objects.filter(pk=partner.pk, low_balance_since__isnull=True).update(
                low_balance_since=since):
            return
        log.warning("partner %s wallet low: %s below %s", organization.code, balance,
                    partner.low_balance_threshold)
        notices.queue(partner, notices.LOW_WALLET,
                      {"balance": balance, "threshold": partner.low_balance_threshold},
                      dedupe_key=f"low_wallet:{since.isoformat()}")
    elif not low and partner.low_balance_since is not None:
        Partner.objects.filter(pk=partner.pk).update(low_balance_since=None)


def _check_payer(actor, organization: Organization) -> Organization:
    """The parent pays; only a user who may act for the parent may recharge."""
    if organization.depth == 1:
        raise PartnerError("The ISP's own wallet is not recharged.")
    parent = parent_of(organization)
    if actor is not None:
        if not scope.in_scope(actor, organization):
            raise PermissionDenied("This partner is outside your scope.")
        if not scope.in_scope(actor, parent) or actor.organization_id == organization.pk:
            raise PermissionDenied("Only the parent of a partner can recharge its wallet.")
    return parent


@transaction.atomic
def recharge(organization: Organization, amount, *, actor, memo: str = "",
             source=None) -> LedgerEntry:
    """Put money in a partner's wallet; the parent's wallet pays unless the parent is the ISP."""
    parent = _check_payer(actor, organization)
    wallet = ledger.organization_wallet(organization)
    value = parse_amount(amount, wallet.currency)
    memo = memo or f"Recharge by {parent.name}"
    if parent.depth == 1:
        entry = ledger.post(wallet, value, Kind.TRANSFER, actor=actor, source=source, memo=memo)
    else:
        payer = ledger.organization_wallet(parent)
        _, entry = ledger.transfer(payer, wallet, value, actor=actor, source=source, memo=memo)
        note_balance(parent)
    note_balance(organization)
    return entry


@transaction.atomic
def request_topup(organization: Organization, amount, *, actor, note: str = "") -> TopUpRequest:
    require_scope(actor, organization)
    if organization.depth == 1:
        raise PartnerError("The ISP's own wallet is not topped up by request.")
    value = parse_amount(amount, ledger.organization_wallet(organization).currency)
    return TopUpRequest.objects.create(organization=organization, amount=value,
                                       note=note.strip()[:255], requested_by=actor)


def _lock_pending(request: TopUpRequest, actor) -> TopUpRequest:
    require_scope(actor, request.organization)
    locked = TopUpRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != TopUpRequest.Status.PENDING:
        raise PartnerError(f"This request is already {locked.get_status_display().lower()}.")
    if actor is not None and (actor.pk == locked.requested_by_id
                              or actor.organization_id == locked.organization_id):
        raise PermissionDenied("A top-up request must be approved above the partner that made it.")
    return locked


@transaction.atomic
def approve_topup(request: TopUpRequest, *, actor, note: str = "") -> TopUpRequest:
    """Approve: the parent recharges the partner by the requested amount."""
    locked = _lock_pending(request, actor)
    entry = recharge(locked.organization, locked.amount, actor=actor, source=locked,
                     memo=f"Top-up request {locked.pk} approved")
    _decide(locked, TopUpRequest.Status.APPROVED, actor, note, entry)
    return locked


@transaction.atomic
def reject_topup(request: TopUpRequest, *, actor, note: str) -> TopUpRequest:
    if not note or not note.strip():
        raise PartnerError("Give the reason for rejecting the request.")
    locked = _lock_pending(request, actor)
    _check_payer(actor, locked.organization)
    _decide(locked, TopUpRequest.Status.REJECTED, actor, note, None)
    return locked


def _decide(locked, status, actor, note, entry):
    locked.status, locked.decided_by, locked.decided_at = status, actor, timezone.now()
    locked.decision_note, locked.ledger_entry = note.strip()[:255], entry
    locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note",
                               "ledger_entry"])


def sale_price(subscriber, plan) -> tuple[Partner, Decimal] | None:
    """The partner that pays for a sale to `subscriber`, and its price (None: no charge)."""
    if plan is None:
        return None
    partner = governing_partner(subscriber.organization)
    if partner is None:
        return None
    share = PlanShare.objects.filter(plan=plan, organization=partner.organization).first()
    if share is None or share.partner_price <= 0:
        return None
    return partner, share.partner_price


def charge_sale(subscriber, plan, *, action: str, actor) -> LedgerEntry | None:
    """Debit the partner's wallet at partner price; refused below its credit limit.

    Runs inside the activation / renewal transaction, so a refusal rolls the sale back.
    ISP-level users and system jobs sell for the ISP itself: no partner debit.
    """
    if actor is None or scope.has_root_scope(actor, subscriber.tenant_id):
        return None
    found = sale_price(subscriber, plan)
    if found is None:
        return None
    partner, price = found
    wallet = ledger.organization_wallet(partner.organization)
    entry = ledger.post(wallet, -price, Kind.ADJUSTMENT, actor=actor, source=subscriber,
                        memo=f"{action.capitalize()} {subscriber.username}: {plan.name} "
                             "at partner price")
    note_balance(partner.organization)
    return entry


def charge_sales(sales, *, action: str, actor) -> list[LedgerEntry]:
    """`charge_sale` for a batch of (subscriber, plan) sales: the same rule and prices, one
    entry per sale, written in one ledger step; a wallet that cannot pay refuses the batch."""
    if actor is None or not sales:
        return []
    root_scope, prices, wallets, postings = {}, {}, {}, []
    for subscriber, plan in sales:
        tenant_id = subscriber.tenant_id
        if tenant_id not in root_scope:
            root_scope[tenant_id] = scope.has_root_scope(actor, tenant_id)
        if root_scope[tenant_id]:
            continue
        key = (subscriber.organization_id, plan.pk if plan else None)
        if key not in prices:
            prices[key] = sale_price(subscriber, plan)
        if prices[key] is None:
            continue
        partner, price = prices[key]
        org = partner.organization
        if org.pk not in wallets:
            wallets[org.pk] = (org, ledger.organization_wallet(org))
        postings.append(ledger.Posting(
            wallets[org.pk][1].pk, -price, Kind.ADJUSTMENT, source=subscriber,
            memo=f"{action.capitalize()} {subscriber.username}: {plan.name} at partner price"))
    entries = ledger.post_many(postings, actor=actor)
    for org, _ in wallets.values():
        note_balance(org)
    return entries
