"""The auto-renewal run: every due subscriber renewed from its wallet once, in locked batches.

Batches lock subscriber rows with SKIP LOCKED, so two runs at once share the work instead of
repeating it; the renewal invoice carries an idempotency key (subscriber + old expiry) as a
second guard. Everything moves in bulk per batch: one UPDATE renews the subscribers
(`subscribers.renew_many`: audit rows in one insert, one batched network event), one
`plans_sold` event for the partners, one counter step for the invoice numbers, one COPY each
for invoices, lines, taxes, allocations and ledger entries, one balance update. The documents
are written as row tuples, not model instances (`invoicing.issue_paid_batch`,
`ledger.debit_locked`): at 100,000 renewals a run building ~7 instances per subscriber spent
most of its time in the ORM.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from modules.billing import bulk, events, ledger
from modules.billing.invoicing import (
    BillingContext,
    issue_paid_batch,
    period_line,
    price_lines,
)
from modules.billing.models import Allocation, BillingSettings, Invoice, LedgerEntry, Wallet
from modules.billing.money import BillingError
from modules.billing.orchestration import is_postpaid
from modules.billing.selectors import tenant_currency
from modules.core.models import Organization
from modules.plans.models import Plan
from modules.plans.selectors import price_for
from modules.subscribers import services as subscribers
from modules.subscribers.models import Subscriber

S = Subscriber.Status
REASON = "Auto-renewal from wallet"


WORKERS = 2  # the beat task's renewal workers: one renews while the other waits on PostgreSQL
BATCH_SIZE = 1000  # subscribers locked and renewed per transaction


def renew_due(*, now=None, batch_size: int = BATCH_SIZE, workers: int = 1) -> int:
    """Renew every subscriber due now whose wallet covers the plan; returns how many.

    `workers` > 1 runs that many threads, each with its own database connection, taking
    batches side by side (SKIP LOCKED shares them out, as between two runs at once). Not
    inside a caller's transaction: the workers would not see its rows."""
    now = now or timezone.now()
    disabled = list(
        BillingSettings.objects.filter(auto_renew=False).values_list("tenant_id", flat=True)
    )
    if workers <= 1:
        return _renew_batches(now, disabled, batch_size)
    with ThreadPoolExecutor(workers) as pool:
        runs = [pool.submit(_worker, now, disabled, batch_size) for _ in range(workers)]
        return sum(run.result() for run in runs)


def _worker(now, disabled, batch_size) -> int:
    try:
        return _renew_batches(now, disabled, batch_size)
    finally:
        connection.close()


def _renew_batches(now, disabled, batch_size) -> int:
    renewed, after, contexts, prices, related = 0, None, {}, {}, {}
    while True:
        with transaction.atomic():
            qs = Subscriber.objects.filter(
                auto_renew=True,
                status__in=[S.ACTIVE, S.LIMITED],
                expires_at__lte=now,
                plan__isnull=False,
            )
            if disabled:
                qs = qs.exclude(tenant_id__in=disabled)
            if after:
                # The plain bound lets the expiry index start the walk at the last batch: the
                # rows behind it were just renewed (their old index entries are dead).
                qs = qs.filter(Q(expires_at__gt=after[0]) | Q(expires_at=after[0], pk__gt=after[1]),
                               expires_at__gte=after[0])
            batch = list(
                qs.select_for_update(skip_locked=True).order_by("expires_at", "pk")[:batch_size]
            )
            if not batch:
                return renewed
            _attach(batch, related)
            after = (batch[-1].expires_at, batch[-1].pk)
            renewed += _renew_batch(batch, now, contexts, prices)


def _attach(batch, related) -> None:
    """Give each subscriber its plan (with tax class and owner) and organization from a cache
    kept for the run: a batch shares a few plans and organizations, so they are read once
    instead of joined into every row."""
    for model, field, attname in ((Plan, "plan", "plan_id"),
                                  (Organization, "organization", "organization_id")):
        cache = related.setdefault(model, {})
        missing = {getattr(sub, attname) for sub in batch} - cache.keys() - {None}
        if missing:
            qs = model.objects.all()
            if model is Plan:
                qs = qs.select_related("tax_class", "organization")
            cache.update(qs.in_bulk(missing))
        descriptor = Subscriber._meta.get_field(field)
        for sub in batch:
            key = getattr(sub, attname)
            if key is not None:
                descriptor.set_cached_value(sub, cache[key])


def _wallets(batch) -> dict[int, Wallet]:
    """The batch's wallets, locked; those missing are created first. One query when every
    wallet exists (the ids go as one array parameter, not a thousand placeholders)."""
    ids = [s.pk for s in batch]
    found = _lock_wallets(ids)
    missing = [s for s in batch if s.pk not in found]
    if missing:
        have = set(
            Wallet.objects.filter(subscriber_id__in=[s.pk for s in missing])
            .values_list("subscriber_id", flat=True)
        )
        new = [s for s in missing if s.pk not in have]  # the others are locked elsewhere
        if new:
            Wallet.objects.bulk_create(
                [
                    Wallet(
                        tenant_id=s.tenant_id,
                        organization_id=s.organization_id,
                        subscriber_id=s.pk,
                        currency=tenant_currency(s.tenant_id),
                    )
                    for s in new
                ],
                ignore_conflicts=True,
            )
            found.update(_lock_wallets([s.pk for s in new]))
    return found


def _lock_wallets(subscriber_ids) -> dict[int, Wallet]:
    # SKIP LOCKED: a wallet busy in an operator's payment or renewal is left for the next run
    # (waiting for it while holding subscriber rows could deadlock with that operator).
    rows = (
        Wallet.objects.select_for_update(skip_locked=True)
        .extra(where=["subscriber_id = ANY(%s)"], params=[list(subscriber_ids)])
        .order_by("pk")
    )
    return {w.subscriber_id: w for w in rows}


def _context(contexts, tenant_id) -> BillingContext:
    ctx = contexts.get(tenant_id)
    if ctx is None:
        ctx = contexts[tenant_id] = BillingContext.for_tenant(tenant_id)
    return ctx


def _price(prices, sub) -> Decimal:
    """The subscriber's price for its plan (a partner's selling price), once per plan and org."""
    key = (sub.plan_id, sub.organization_id)
    if key not in prices:
        prices[key] = price_for(sub.plan, sub.organization)
    return prices[key]


def _priced(prices, ctx, sub, line):
    """Tax worked out once per identical line and tax position (state, tax number); invoices
    sharing the answer share their line and tax rows too (`issue_paid_batch`)."""
    key = (ctx.tenant_id, line.description, line.unit_price, line.tax_rate, line.quantity,
           line.hsn_sac, line.plan_id, sub.state, sub.tax_number)
    if key not in prices:
        if line.unit_price < 0 or line.quantity <= 0:
            raise BillingError(
                "Invoice lines need a price of zero or more and a positive quantity."
            )
        prices[key] = price_lines(ctx, sub, [line])
    return prices[key]


def _renew_batch(batch, now, contexts, prices=None) -> int:
    """Renew the locked batch: invoices priced in memory, the covered subscribers renewed with
    one `renew_many`, their sales announced in one `plans_sold`, then invoices, lines, taxes,
    allocations and ledger debits written as rows per tenant."""
    prices = {} if prices is None else prices
    wallets = _wallets(batch)
    chosen: list[tuple[Subscriber, object]] = []
    sold = events.plan_sold.send
    for sub in batch:
        ctx = _context(contexts, sub.tenant_id)
        priced = None
        if not is_postpaid(ctx, sub.plan):
            wallet = wallets.get(sub.pk)
            if wallet is None:
                continue
            expiry = sub.expires_at
            bought_at = expiry + timedelta(seconds=1) if expiry > now else now
            line = period_line(ctx, sub, sub.plan, bought_at, price=_price(prices, sub))
            priced = _priced(prices, ctx, sub, line)
            if priced[0].total > ledger.available(wallet, ctx.settings):
                continue  # not enough advance: left for a payment, or for expiry after grace
        try:
            sold(sender=Invoice, subscriber=sub, plan=sub.plan, action="renew", actor=None,
                 batch=True)
        except (PermissionDenied, BillingError):
            continue  # a receiver refused this sale: left for the next run
        chosen.append((sub, priced))
    if not chosen:
        return 0
    old_expiry = {sub.pk: sub.expires_at for sub, _ in chosen}
    policies = {tenant_id: ctx.policy for tenant_id, ctx in contexts.items()}
    saved = {sub.pk: (sub.status, sub.expires_at, sub.activated_at) for sub, _ in chosen}
    try:
        # One savepoint for the batch: the renewals and the sale event (partners' wallets are
        # charged by its receiver) stand or fall together.
        with transaction.atomic():
            renewed = subscribers.renew_many([sub for sub, _ in chosen], actor=None, now=now,
                                             reason=REASON, policies=policies)
            events.plans_sold.send(sender=Invoice, sales=[(s, s.plan) for s in renewed],
                                   action="renew", actor=None)
    except (PermissionDenied, BillingError):
        for sub, _ in chosen:
            sub.status, sub.expires_at, sub.activated_at = saved[sub.pk]
        return _renew_one_by_one(chosen, wallets, now, contexts)
    done = {sub.pk for sub in renewed}
    _invoice([(sub, priced) for sub, priced in chosen if sub.pk in done],
             old_expiry, wallets, now, contexts)
    return len(renewed)


def _renew_one_by_one(chosen, wallets, now, contexts) -> int:
    """The slow path after a receiver refused a batch: each subscriber in its own savepoint,
    so one refusal (a partner wallet that cannot pay) leaves only that renewal undone."""
    old_expiry = {sub.pk: sub.expires_at for sub, _ in chosen}
    kept = []
    for sub, priced in chosen:
        try:
            with transaction.atomic():
                subscribers.renew(sub, actor=None, now=now, reason=REASON)
                events.plan_sold.send(sender=Invoice, subscriber=sub, plan=sub.plan,
                                      action="renew", actor=None)
        except (subscribers.TransitionError, PermissionDenied, BillingError):
            continue
        kept.append((sub, priced))
    _invoice(kept, old_expiry, wallets, now, contexts)
    return len(kept)


def _invoice(renewed, old_expiry, wallets, now, contexts) -> None:
    """Issue the renewed subscribers' invoices, paid from their wallets, in bulk per tenant:
    invoice, line and tax rows, one allocation and one ledger debit per invoice."""
    by_tenant: dict[int, list] = {}
    for sub, priced in renewed:
        if priced is None:
            continue  # postpaid: billed on the cycle day
        old = old_expiry[sub.pk]
        by_tenant.setdefault(sub.tenant_id, []).append(
            (sub, priced, max(now, old), sub.expires_at, f"renew:{sub.pk}:{old.isoformat()}")
        )
    by_wallet = {w.pk: w for w in wallets.values()}
    for tenant_id, charges in by_tenant.items():
        ctx = contexts[tenant_id]
        issued = issue_paid_batch(ctx, charges, reason=Invoice.Reason.RENEWAL, now=now)
        paid = [(pk, number, total, charge[0].pk)
                for (pk, number, total), charge in zip(issued, charges, strict=True)
                if total > 0]
        bulk.copy_rows(Allocation, ("invoice_id", "amount"),
                       [(pk, total) for pk, _, total, _ in paid])
        ledger.debit_locked(
            by_wallet,
            [(wallets[sub_pk].pk, total, pk, f"Auto-renewal {number}")
             for pk, number, total, sub_pk in paid],
            LedgerEntry.Kind.INVOICE,
            Invoice,
            settings=ctx.settings,
        )


def balance_check(wallet_ids=None) -> list[tuple[int, Decimal, Decimal]]:
    """Wallets whose stored balance differs from the sum of their entries (should be none)."""
    from django.db.models import Sum

    qs = Wallet.objects.all() if wallet_ids is None else Wallet.objects.filter(pk__in=wallet_ids)
    sums = dict(
        LedgerEntry.objects.filter(wallet__in=qs).values_list("wallet").annotate(s=Sum("amount"))
    )
    return [
        (w.pk, w.balance, sums.get(w.pk, Decimal(0)))
        for w in qs
        if w.balance != sums.get(w.pk, Decimal(0))
    ]
