"""Reads for partner pages, self-care and reports: sellable plans, statements, dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from modules.billing.models import LedgerEntry, Payment, Wallet
from modules.core import scope
from modules.core.models import Organization
from modules.partners.models import Partner, PlanShare
from modules.plans.models import Plan
from modules.plans.selectors import available_to_organization
from modules.subscribers.models import Subscriber


def plans_for_organization(org: Organization):
    """Active plans a subscriber of `org` may buy (self-care, forms): shared ones for partners."""
    return available_to_organization(org).filter(is_active=True).order_by("plan_type", "price")


def share_for(org: Organization, plan: Plan) -> PlanShare | None:
    """The share that prices `plan` for `org` (its governing partner's), if any."""
    from modules.partners.profiles import governing_partner

    partner = governing_partner(org)
    if partner is None:
        return None
    return PlanShare.objects.filter(plan=plan, organization=partner.organization).first()


def partners_for(user):
    return scope.restrict_to_scope(Partner.objects.select_related("organization"), user,
                                   "organization")


@dataclass
class StatementLine:
    at: datetime
    kind: str
    memo: str
    amount: Decimal
    balance: Decimal


@dataclass
class Statement:
    wallet: Wallet
    opening: Decimal
    closing: Decimal
    lines: list[StatementLine] = field(default_factory=list)


def statement(wallet: Wallet, *, start: datetime | None = None, end: datetime | None = None,
              limit: int = 500) -> Statement:
    """Entries of a period with the running balance after each (stored with the entry)."""
    entries = LedgerEntry.objects.filter(wallet=wallet)
    opening = Decimal(0)
    if start is not None:
        before = entries.filter(created_at__lt=start).order_by("-id").first()
        opening = before.balance_after if before else Decimal(0)
        entries = entries.filter(created_at__gte=start)
    if end is not None:
        entries = entries.filter(created_at__lt=end)
    rows = list(entries.order_by("id")[:limit])
    lines = [StatementLine(e.created_at, e.get_kind_display(), e.memo, e.amount, e.balance_after)
             for e in rows]
    return Statement(wallet, opening, lines[-1].balance if lines else opening, lines)


@dataclass
class Dashboard:
    organization: Organization
    subscribers: dict
    renewals_due: int
    collection: Decimal
    wallet: Wallet | None
    low_balance: bool


def dashboard(org: Organization, *, now: datetime | None = None) -> Dashboard:
    """A partner's numbers over its subtree: subscribers, renewals due, collection, wallet."""
    now = now or timezone.now()
    subtree = Q(organization__tenant_id=org.tenant_id, organization__path__startswith=org.path)
    counts = dict(Subscriber.objects.filter(subtree).values_list("status")
                  .annotate(n=Count("id")).values_list("status", "n"))
    due = Subscriber.objects.filter(subtree, status=Subscriber.Status.ACTIVE,
                                    expires_at__gte=now, expires_at__lt=now + timedelta(days=7))
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    collected = Payment.objects.filter(subtree, status=Payment.Status.RECEIVED,
                                       received_at__gte=month).aggregate(s=Sum("amount"))["s"]
    wallet = Wallet.objects.filter(owner_organization=org).first()
    partner = Partner.objects.filter(organization=org).first()
    return Dashboard(org, counts, due.count(), collected or Decimal(0), wallet,
                     bool(partner and partner.low_balance_since))
