"""What a purchase will cost and when it takes effect, shown before the subscriber pays.

Read-only: it prices with billing's own functions (plan lines, tax engine, unused value) and
follows the proration rule of `billing.orchestration.change_plan_and_bill`, writing nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from modules.billing.invoicing import BillingContext, period_line, plan_line, price_lines
from modules.billing.orchestration import is_postpaid, prorated_line, unused_value
from modules.plans.models import Plan
from modules.plans.services import compute_expiry
from modules.selfcare import selectors


@dataclass
class Quote:
    action: str  # renew, upgrade, downgrade, addon
    plan: Plan
    currency: str
    starts_at: datetime
    expires_at: datetime | None
    immediate: bool
    taxable_total: Decimal = Decimal(0)
    tax_total: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
    breakdown: list[dict] = field(default_factory=list)
    unused_credit: Decimal = Decimal(0)
    proration: str = ""
    postpaid: bool = False
    wallet_available: Decimal = Decimal(0)

    @property
    def wallet_covers(self) -> bool:
        return self.postpaid or self.wallet_available + self.unused_credit >= self.total


def _priced(quote: Quote, ctx: BillingContext, subscriber, line) -> Quote:
    result, _ = price_lines(ctx, subscriber, [line])
    quote.taxable_total, quote.tax_total = result.taxable_total, result.tax_total
    quote.total, quote.breakdown = result.total, result.breakdown
    quote.wallet_available = selectors.wallet(subscriber)["available"]
    return quote


def renewal(subscriber, plan=None, now=None) -> Quote:
    """One more period of the current plan, starting when the current one ends."""
    now = now or timezone.now()
    plan = plan or subscriber.plan
    ctx = BillingContext.for_tenant(subscriber.tenant_id)
    start = now
    if subscriber.expires_at and subscriber.expires_at > now:
        start = subscriber.expires_at + timedelta(seconds=1)
    quote = Quote("renew", plan, ctx.currency, start, compute_expiry(plan, start),
                  immediate=start == now, postpaid=is_postpaid(ctx, plan))
    return _priced(quote, ctx, subscriber, period_line(ctx, subscriber, plan, start))


def plan_change(subscriber, plan, now=None) -> Quote:
    """A move to another plan: validity restarts now; the unused part per the proration rule."""
    now = now or timezone.now()
    ctx = BillingContext.for_tenant(subscriber.tenant_id)
    action = "upgrade" if selectors.is_upgrade(subscriber, plan) else "downgrade"
    quote = Quote(action, plan, ctx.currency, now, compute_expiry(plan, now), immediate=True,
                  postpaid=is_postpaid(ctx, plan), proration=ctx.settings.get_proration_display())
    new = subscriber.status == subscriber.Status.NEW
    unused = Decimal(0) if new else unused_value(subscriber, ctx, now)
    line, credit = prorated_line(ctx, subscriber, plan, unused)
    quote.unused_credit = credit
    return _priced(quote, ctx, subscriber, line)


def plan_item(subscriber, item: Plan, now=None) -> Quote:
    """A top-up or booster: starts now and lives within the current cycle."""
    now = now or timezone.now()
    ctx = BillingContext.for_tenant(subscriber.tenant_id)
    expires = compute_expiry(item, now)
    if subscriber.expires_at:
        expires = min(expires, subscriber.expires_at)
    quote = Quote("addon", item, ctx.currency, now, expires, immediate=True)
    return _priced(quote, ctx, subscriber, plan_line(item, ctx))
