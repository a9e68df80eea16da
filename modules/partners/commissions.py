"""Commissions: on each subscriber payment every partner up the hierarchy is credited by its
rule (plan-share rule, else commission template, else the partner's default rate). Each credit
is a ledger entry pointing to the payment; a cancelled payment reverses them. Running the hook
twice for one payment credits nothing the second time."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from modules.billing import ledger
from modules.billing.models import LedgerEntry, Payment
from modules.billing.money import round_money
from modules.core.models import Organization
from modules.partners.models import Commission, CommissionType, Partner, PlanShare

Kind = LedgerEntry.Kind


def chain(organization: Organization) -> list[Partner]:
    """Active partners at and above `organization` (below the ISP), nearest first."""
    step = Organization.steplen
    paths = [organization.path[:i] for i in range(2 * step, len(organization.path) + 1, step)]
    return list(Partner.objects.select_related("organization", "commission_template")
                .filter(organization__tenant_id=organization.tenant_id,
                        organization__path__in=paths, status=Partner.Status.ACTIVE)
                .order_by("-organization__depth"))


def rule_for(partner: Partner, plan, shares: dict[int, PlanShare]) -> tuple[str, Decimal, str]:
    """(type, value, description) of the rule that applies to `partner` for `plan`."""
    share = shares.get(partner.organization_id)
    if share is not None and share.commission_type and share.commission_value is not None:
        return share.commission_type, share.commission_value, f"plan share {plan}"
    template = partner.commission_template
    if template is not None:
        return template.commission_type, template.value, f"template {template.name}"
    return CommissionType.PERCENT, partner.default_commission_rate, "default rate"


def amount_for(kind: str, value: Decimal, basis: Decimal, currency: str) -> Decimal:
    if kind == CommissionType.FLAT:
        return round_money(value, currency)
    return round_money(basis * value / Decimal(100), currency)


@transaction.atomic
def credit_commissions(payment: Payment, *, actor=None) -> list[Commission]:
    """Credit every partner above the payment's subscriber once (idempotent per payment)."""
    partners = chain(payment.organization)
    if not partners:
        return []
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != Payment.Status.RECEIVED or payment.subscriber is None:
        return []
    if Commission.objects.filter(payment=payment).exists():
        return []
    plan = payment.subscriber.plan
    shares = {}
    if plan is not None:
        shares = {s.organization_id: s for s in PlanShare.objects.filter(
            plan=plan, organization__in=[p.organization_id for p in partners])}
    rows, postings = [], []
    for level, partner in enumerate(partners, start=1):
        kind, value, label = rule_for(partner, plan, shares)
        amount = amount_for(kind, value, payment.amount, payment.currency)
        if amount <= 0:
            continue
        wallet = ledger.organization_wallet(partner.organization)
        shown = f"{value}%" if kind == CommissionType.PERCENT else f"flat {value}"
        rule = f"{shown} ({label})"[:120]
        postings.append(ledger.Posting(wallet.pk, amount, Kind.COMMISSION, payment,
                                       f"Commission L{level} on receipt {payment.number}: {rule}"))
        rows.append(Commission(tenant_id=payment.tenant_id, organization=partner.organization,
                               payment=payment, level=level, basis=payment.amount, rule=rule,
                               amount=amount))
    entries = ledger.post_many(postings, actor=actor)
    for row, entry in zip(rows, entries, strict=True):
        row.ledger_entry = entry
    return Commission.objects.bulk_create(rows)


@transaction.atomic
def reverse_commissions(payment: Payment, *, actor=None) -> list[Commission]:
    """Take back the commissions of a cancelled payment (each at most once)."""
    rows = list(Commission.objects.select_for_update().select_related("organization")
                .filter(payment=payment, reversal_entry__isnull=True).order_by("id"))
    if not rows:
        return []
    postings = [ledger.Posting(ledger.organization_wallet(r.organization).pk, -r.amount,
                               Kind.COMMISSION, payment,
                               f"Commission L{r.level} reversed: {payment.number} cancelled")
                for r in rows]
    entries = ledger.post_many(postings, actor=actor)
    for row, entry in zip(rows, entries, strict=True):
        Commission.objects.filter(pk=row.pk).update(reversal_entry=entry)
        row.reversal_entry = entry
    return rows
