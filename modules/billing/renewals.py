"""The auto-renewal run: every due subscriber renewed from its wallet once, in locked batches.

Batches lock subscriber rows with SKIP LOCKED, so two runs at once share the work instead of
repeating it; the renewal invoice carries an idempotency key (subscriber + old expiry) as a
second guard. Money moves in bulk per batch: one counter step for the invoice numbers, one
insert each for invoices, lines, taxes, allocations and ledger entries, one balance update.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from modules.billing import events, ledger
from modules.billing.invoicing import BillingContext, plan_line, prepare_invoice, save_invoices
from modules.billing.models import Allocation, BillingSettings, Invoice, LedgerEntry, Wallet
from modules.billing.money import BillingError
from modules.billing.orchestration import is_postpaid
from modules.billing.selectors import tenant_currency
from modules.subscribers import services as subscribers
from modules.subscribers.models import Subscriber

S = Subscriber.Status


def renew_due(*, now=None, batch_size: int = 500) -> int:
    """Renew every subscriber due now whose wallet covers the plan; returns how many."""
    now = now or timezone.now()
    disabled = list(
        BillingSettings.objects.filter(auto_renew=False).values_list("tenant_id", flat=True)
    )
    renewed, after, contexts = 0, None, {}
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
                qs = qs.filter(Q(expires_at__gt=after[0]) | Q(expires_at=after[0], pk__gt=after[1]))
            batch = list(
                qs.select_related("plan__tax_class", "plan__organization", "organization")
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("expires_at", "pk")[:batch_size]
            )
            if not batch:
                return renewed
            after = (batch[-1].expires_at, batch[-1].pk)
            renewed += _renew_batch(batch, now, contexts)


def _wallets(batch) -> dict[int, Wallet]:
    ids = [s.pk for s in batch]
    have = set(Wallet.objects.filter(subscriber_id__in=ids).values_list("subscriber_id", flat=True))
    missing = [s for s in batch if s.pk not in have]
    if missing:
        Wallet.objects.bulk_create(
            [
                Wallet(
                    tenant_id=s.tenant_id,
                    organization_id=s.organization_id,
                    subscriber_id=s.pk,
                    currency=tenant_currency(s.tenant_id),
                )
                for s in missing
            ],
            ignore_conflicts=True,
        )
    # SKIP LOCKED: a wallet busy in an operator's payment or renewal is left for the next run
    # (waiting for it while holding subscriber rows could deadlock with that operator).
    rows = (
        Wallet.objects.select_for_update(skip_locked=True)
        .filter(subscriber_id__in=ids)
        .order_by("pk")
    )
    return {w.subscriber_id: w for w in rows}


def _renew_batch(batch, now, contexts) -> int:
    wallets = _wallets(batch)
    prepared_by_tenant: dict[int, list] = {}
    renewed = 0
    for sub in batch:
        ctx = contexts.get(sub.tenant_id) or contexts.setdefault(
            sub.tenant_id, BillingContext.for_tenant(sub.tenant_id)
        )
        old_expiry = sub.expires_at
        prepared = None
        if not is_postpaid(ctx, sub.plan):
            prepared = prepare_invoice(
                ctx,
                sub,
                [plan_line(sub.plan, ctx)],
                reason=Invoice.Reason.RENEWAL,
                idempotency_key=f"renew:{sub.pk}:{old_expiry.isoformat()}",
            )
            wallet = wallets.get(sub.pk)
            if wallet is None:
                continue
            if prepared.invoice.total > ledger.available(wallet, ctx.settings):
                continue  # not enough advance: left for a payment, or for expiry after grace
            wallet.balance -= prepared.invoice.total
        try:
            # One savepoint per subscriber: the renewal and the sale event (a partner's wallet
            # is charged by its receiver) stand or fall together, without the batch.
            with transaction.atomic():
                subscribers.renew(sub, actor=None, now=now, reason="Auto-renewal from wallet")
                events.plan_sold.send(sender=Invoice, subscriber=sub, plan=sub.plan,
                                      action="renew", actor=None)
        except (subscribers.TransitionError, PermissionDenied, BillingError):
            if prepared:
                wallets[sub.pk].balance += prepared.invoice.total
            continue
        renewed += 1
        if prepared:
            inv = prepared.invoice
            inv.period_start, inv.period_end = max(now, old_expiry), sub.expires_at
            inv.amount_paid = inv.total
            prepared_by_tenant.setdefault(sub.tenant_id, []).append(prepared)
    for tenant_id, prepared_list in prepared_by_tenant.items():
        ctx = contexts[tenant_id]
        invoices = save_invoices(ctx, prepared_list, now=now)
        paid = [inv for inv in invoices if inv.total > 0]
        Allocation.objects.bulk_create([Allocation(invoice=inv, amount=inv.total) for inv in paid])
        ledger.post_many(
            [
                ledger.Posting(
                    wallets[inv.subscriber_id].pk,
                    -inv.total,
                    LedgerEntry.Kind.INVOICE,
                    source=inv,
                    memo=f"Auto-renewal {inv.number}",
                )
                for inv in paid
            ],
            settings=ctx.settings,
        )
    return renewed


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
