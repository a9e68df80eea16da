"""Scheduled billing work besides renewals: expiries, reminders, postpaid bills, late fees and
overdue suspension. Each job is idempotent and works in locked (SKIP LOCKED) batches."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from modules.billing import notify
from modules.billing.invoicing import BillingContext, plan_line, prepare_invoice, save_invoices
from modules.billing.models import BillingSettings, Invoice
from modules.billing.money import round_money
from modules.billing.orchestration import is_postpaid
from modules.billing.selectors import billing_settings
from modules.core.models import Tenant
from modules.plans.models import Plan
from modules.settings_hub.models import NotificationTemplate
from modules.subscribers import services as subscribers
from modules.subscribers.models import Subscriber

S = Subscriber.Status
OPEN = [Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID]


def _tenants():
    return Tenant.objects.filter(is_active=True).order_by("pk")


def _batches(queryset, batch_size, handle) -> int:
    """Lock and handle rows in keyset-ordered batches until none are left; returns handled."""
    done, after = 0, 0
    while True:
        with transaction.atomic():
            rows = list(
                queryset.filter(pk__gt=after)
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("pk")[:batch_size]
            )
            if not rows:
                return done
            after = rows[-1].pk
            for row in rows:
                done += 1 if handle(row) else 0


def expire_unrenewed(*, now=None, batch_size=500) -> int:
    """Active or limited subscribers past expiry plus grace become expired (network event)."""
    now = now or timezone.now()
    total = 0
    for tenant in _tenants():
        cutoff = now - timedelta(days=billing_settings(tenant).grace_days)
        qs = Subscriber.objects.filter(
            tenant=tenant, status__in=[S.ACTIVE, S.LIMITED], expires_at__lte=cutoff
        )

        def handle(sub):
            subscribers.expire(sub, actor=None, reason="Not renewed before the end of grace")
            return True

        total += _batches(qs, batch_size, handle)
    return total


def send_expiry_reminders(*, now=None, batch_size=1000) -> int:
    """One reminder per subscriber and expiry date, N days before (outbox dedupe key)."""
    now = now or timezone.now()
    sent = 0
    for tenant in _tenants():
        days = billing_settings(tenant).reminder_days
        templates = list(
            NotificationTemplate.objects.filter(
                tenant=tenant, event=NotificationTemplate.Event.EXPIRY_REMINDER, is_active=True
            )
        )
        if not days or not templates:
            continue
        link = notify.pay_link(tenant.pk)
        qs = Subscriber.objects.filter(
            tenant=tenant,
            status__in=[S.ACTIVE, S.LIMITED],
            expires_at__gt=now,
            expires_at__lte=now + timedelta(days=days),
        ).select_related("plan")
        for sub in qs.order_by("pk").iterator(chunk_size=batch_size):
            expires = timezone.localtime(sub.expires_at).date()
            created = notify.send(
                sub,
                NotificationTemplate.Event.EXPIRY_REMINDER,
                {
                    "plan": sub.plan.name if sub.plan else "",
                    "expires": expires.isoformat(),
                    "pay_link": link,
                },
                dedupe_key=f"expiry_reminder:{sub.pk}:{expires.isoformat()}",
                templates=templates,
            )
            sent += 1 if created else 0
    return sent


def postpaid_bill_run(*, now=None, batch_size=500) -> int:
    """On each tenant's cycle day, bill every active postpaid subscriber once for the month."""
    now = now or timezone.now()
    billed = 0
    for tenant in _tenants():
        ctx = BillingContext.for_tenant(tenant.pk)
        today = ctx.today(now)
        if today.day != ctx.settings.bill_cycle_day:
            continue
        period = today.strftime("%Y-%m")
        qs = Subscriber.objects.filter(
            tenant=tenant, status__in=[S.ACTIVE, S.LIMITED], plan__isnull=False
        ).select_related("plan__tax_class")
        if ctx.settings.invoice_mode != BillingSettings.InvoiceMode.POSTPAID:
            qs = qs.filter(plan__billing_mode=Plan.BillingMode.POSTPAID)

        def handle(sub, ctx=ctx, period=period):
            if not is_postpaid(ctx, sub.plan):
                return False
            key = f"postpaid:{sub.pk}:{period}"
            if Invoice.objects.filter(tenant_id=ctx.tenant_id, idempotency_key=key).exists():
                return False
            prepared = prepare_invoice(
                ctx,
                sub,
                [plan_line(sub.plan, ctx)],
                reason=Invoice.Reason.POSTPAID,
                idempotency_key=key,
                notes=f"Postpaid bill for {period}",
            )
            save_invoices(ctx, [prepared], now=now)
            return True

        billed += _batches(qs, batch_size, handle)
    return billed


def apply_late_fees(*, now=None, batch_size=500) -> int:
    """One late-fee invoice per overdue invoice (the one-to-one link makes it once only)."""
    now = now or timezone.now()
    charged = 0
    for tenant in _tenants():
        ctx = BillingContext.for_tenant(tenant.pk)
        s = ctx.settings
        if s.late_fee == BillingSettings.LateFee.NONE or s.late_fee_value <= 0:
            continue
        cutoff = ctx.today(now) - timedelta(days=s.late_fee_after_days)
        qs = (
            Invoice.objects.filter(
                tenant=tenant,
                status__in=OPEN,
                due_date__lt=cutoff,
                late_fee_invoice__isnull=True,
                subscriber__isnull=False,
            )
            .exclude(reason=Invoice.Reason.LATE_FEE)
            .select_related("subscriber")
        )

        def handle(invoice, ctx=ctx, s=s):
            fee = s.late_fee_value
            if s.late_fee == BillingSettings.LateFee.PERCENT:
                fee = round_money(invoice.amount_due * fee / Decimal(100), ctx.currency, s.rounding)
            if fee <= 0:
                return False
            from modules.billing.tax import LineInput

            prepared = prepare_invoice(
                ctx,
                invoice.subscriber,
                [
                    LineInput(
                        f"Late fee on {invoice.number}", fee, Decimal(0), hsn_sac=s.default_hsn_sac
                    )
                ],
                reason=Invoice.Reason.LATE_FEE,
            )
            prepared.invoice.late_fee_for = invoice
            try:
                with transaction.atomic():
                    save_invoices(ctx, [prepared], now=now)
            except IntegrityError:
                return False
            return True

        charged += _batches(qs, batch_size, handle)
    return charged


def suspend_overdue(*, now=None, batch_size=500) -> int:
    """Suspend active subscribers whose oldest open invoice is overdue beyond the setting."""
    now = now or timezone.now()
    suspended = 0
    for tenant in _tenants():
        ctx = BillingContext.for_tenant(tenant.pk)
        days = ctx.settings.suspend_overdue_after_days
        if days is None:
            continue
        cutoff = ctx.today(now) - timedelta(days=days)
        overdue = Invoice.objects.filter(tenant=tenant, status__in=OPEN, due_date__lt=cutoff)
        qs = Subscriber.objects.filter(
            Q(pk__in=overdue.values("subscriber_id")),
            tenant=tenant,
            status__in=[S.ACTIVE, S.LIMITED],
        )

        def handle(sub):
            try:
                subscribers.suspend(sub, actor=None, reason="Overdue invoice")
            except (subscribers.TransitionError, PermissionDenied):
                return False
            return True

        suspended += _batches(qs, batch_size, handle)
    return suspended
