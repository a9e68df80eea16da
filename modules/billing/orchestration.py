"""Money-aware service actions: the subscriber change, its invoice and the wallet settlement in
one transaction. Any refusal (lifecycle rule, scope, insufficient balance) rolls all of it back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from modules.billing import events, invoicing, ledger
from modules.billing.invoicing import (
    BillingContext,
    period_line,
    plan_line,
    prepare_invoice,
    save_invoices,
)
from modules.billing.models import BillingSettings, CreditNote, Invoice, Proforma
from modules.billing.money import BillingError, parse_amount, round_money
from modules.billing.numbering import take_numbers
from modules.plans.models import Plan
from modules.plans.selectors import price_for
from modules.subscribers import services as subscribers


@dataclass
class Billed:
    subscriber: object
    invoice: Invoice | None = None
    credit_note: CreditNote | None = None
    addon: object | None = None
    settled: Decimal = Decimal(0)


def is_postpaid(ctx: BillingContext, plan) -> bool:
    return (ctx.settings.invoice_mode == BillingSettings.InvoiceMode.POSTPAID
            or (plan is not None and plan.billing_mode == Plan.BillingMode.POSTPAID))


def _lock(subscriber) -> None:
    """Wallet, then subscriber row (the money lock order), refreshing `subscriber` in place so
    the charge is computed from the state the service change will see."""
    ledger.lock_subscriber_wallet(subscriber)
    fresh = type(subscriber).objects.select_for_update().get(pk=subscriber.pk)
    for field in fresh._meta.concrete_fields:
        setattr(subscriber, field.attname, getattr(fresh, field.attname))


def _bill(ctx, subscriber, lines, *, actor, reason, require_paid, now, period=(None, None),
          idempotency_key=None) -> tuple[Invoice, Decimal]:
    prepared = prepare_invoice(ctx, subscriber, lines, reason=reason, actor=actor,
                               period_start=period[0], period_end=period[1],
                               idempotency_key=idempotency_key)
    invoice = save_invoices(ctx, [prepared], now=now)[0]
    settled = Decimal(0)
    if ctx.settings.auto_apply_wallet or require_paid:
        settled = invoicing.apply_advance(invoice, actor=actor, settings=ctx.settings)
    if require_paid and invoice.amount_due > 0:
        raise BillingError(
            f"Insufficient wallet balance for {subscriber.username}: {invoice.total} "
            f"{invoice.currency} needed.")
    return invoice, settled


@transaction.atomic
def activate_and_bill(subscriber, *, actor, now=None, require_paid=False, reason="") -> Billed:
    now = now or timezone.now()
    ctx = BillingContext.for_tenant(subscriber.tenant_id)
    _lock(subscriber)
    subscribers.activate(subscriber, actor=actor, reason=reason, now=now)
    events.plan_sold.send(sender=Invoice, subscriber=subscriber, plan=subscriber.plan,
                          action="activate", actor=actor)
    if is_postpaid(ctx, subscriber.plan):
        return Billed(subscriber)
    line = period_line(ctx, subscriber, subscriber.plan, now)
    invoice, settled = _bill(ctx, subscriber, [line], actor=actor,
                             reason=Invoice.Reason.ACTIVATION, require_paid=require_paid, now=now,
                             period=(now, subscriber.expires_at))
    return Billed(subscriber, invoice, settled=settled)


@transaction.atomic
def renew_and_bill(subscriber, *, actor, plan=None, now=None, require_paid=False,
                   reason="") -> Billed:
    now = now or timezone.now()
    ctx = BillingContext.for_tenant(subscriber.tenant_id)
    _lock(subscriber)
    old_expiry = subscriber.expires_at
    subscribers.renew(subscriber, actor=actor, plan=plan, reason=reason, now=now)
    events.plan_sold.send(sender=Invoice, subscriber=subscriber, plan=subscriber.plan,
                          action="renew", actor=actor)
    if is_postpaid(ctx, subscriber.plan):
        return Billed(subscriber)
    start = max(now, old_expiry) if old_expiry else now
    bought_at = old_expiry + timedelta(seconds=1) if old_expiry and old_expiry > now else now
    key = f"renew:{subscriber.pk}:{old_expiry.isoformat() if old_expiry else 'new'}"
    line = period_line(ctx, subscriber, subscriber.plan, bought_at)
    invoice, settled = _bill(ctx, subscriber, [line], actor=actor,
                             reason=Invoice.Reason.RENEWAL, require_paid=require_paid, now=now,
                             period=(start, subscriber.expires_at), idempotency_key=key)
    return Billed(subscriber, invoice, settled=settled)


def unused_value(subscriber, ctx: BillingContext, now) -> Decimal:
    """What the rest of the current cycle is worth: the last plan invoice covering it, pro rata."""
    if not subscriber.expires_at or subscriber.expires_at <= now:
        return Decimal(0)
    last = (Invoice.objects.filter(
        subscriber=subscriber, period_end=subscriber.expires_at, period_start__isnull=False,
        status__in=[Invoice.Status.PAID, Invoice.Status.PARTIALLY_PAID, Invoice.Status.ISSUED])
        .order_by("-id").first())
    if last is None or last.period_end <= last.period_start:
        return Decimal(0)
    remaining = (last.period_end - now).total_seconds()
    length = (last.period_end - last.period_start).total_seconds()
    fraction = Decimal(str(min(max(remaining / length, 0.0), 1.0)))
    return round_money(last.amount_paid * fraction, ctx.currency, ctx.settings.rounding)


def prorated_line(ctx: BillingContext, subscriber, new_plan, unused: Decimal
                  ) -> tuple[object, Decimal]:
    """The new plan's invoice line and the credit owed, per the proration setting.

    The new price is what this subscriber pays (a partner's selling price, not the list
    price): credit — full price, the unused part credited; difference — the price less the
    unused part, any excess credited; none — full price, nothing credited.
    """
    mode = ctx.settings.proration
    if unused <= 0 or mode == BillingSettings.Proration.NONE:
        return plan_line(new_plan, ctx), Decimal(0)
    if mode == BillingSettings.Proration.CREDIT_UNUSED:
        return plan_line(new_plan, ctx), unused
    price = price_for(new_plan, subscriber.organization)
    if unused >= price:
        return plan_line(new_plan, ctx, price=Decimal(0), description=(
            f"{new_plan.name} (covered by the unused previous plan)")), unused - price
    return plan_line(new_plan, ctx, price=price - unused, description=(
        f"{new_plan.name} (less {unused} unused of the previous plan)")), Decimal(0)


@transaction.atomic
def change_plan_and_bill(subscriber, new_plan, *, actor, now=None, require_paid=False,
                         reason="") -> Billed:
    """Plan change with proration per settings. The new plan's validity starts now, so:
    none — full price; credit — a credit note for the unused part, full price invoiced;
    difference — one invoice for the new price less the unused part."""
    now = now or timezone.now()
    ctx = BillingContext.for_tenant(subscriber.tenant_id)
    _lock(subscriber)
    was_new = subscriber.status == subscriber.Status.NEW
    unused = Decimal(0) if was_new else unused_value(subscriber, ctx, now)
    subscribers.change_plan(subscriber, new_plan, actor=actor, reason=reason, now=now)
    if was_new or is_postpaid(ctx, new_plan):
        return Billed(subscriber)
    line, credit = prorated_line(ctx, subscriber, new_plan, unused)
    note = None
    if credit > 0:
        why = (f"Unused part of the previous plan ({reason or 'plan change'})"
               if ctx.settings.proration == BillingSettings.Proration.CREDIT_UNUSED
               else "Unused previous plan above the new price")
        note = invoicing.issue_credit_note(subscriber, credit, actor=actor, now=now, reason=why)
    invoice, settled = _bill(ctx, subscriber, [line], actor=actor,
                             reason=Invoice.Reason.PLAN_CHANGE, require_paid=require_paid,
                             now=now, period=(now, subscriber.expires_at))
    return Billed(subscriber, invoice, credit_note=note, settled=settled)


@transaction.atomic
def add_plan_item_and_bill(subscriber, item_plan, *, actor, now=None, require_paid=False) -> Billed:
    now = now or timezone.now()
    ctx = BillingContext.for_tenant(subscriber.tenant_id)
    _lock(subscriber)
    addon = subscribers.add_plan_item(subscriber, item_plan, actor=actor, now=now)
    invoice, settled = _bill(ctx, subscriber, [plan_line(item_plan, ctx)], actor=actor,
                             reason=Invoice.Reason.PLAN_ITEM, require_paid=require_paid, now=now,
                             period=(addon.starts_at, addon.expires_at))
    return Billed(subscriber, invoice, addon=addon, settled=settled)


@transaction.atomic
def convert_proforma(proforma, *, actor=None, now=None) -> Billed:
    """Carry out a paid proforma (its money is already in the wallet): the purchase it quoted;
    a wallet recharge is complete once paid."""
    locked = Proforma.objects.select_for_update().get(pk=proforma.pk)
    if locked.status != Proforma.Status.OPEN:
        raise BillingError(f"Proforma {locked} is {locked.get_status_display().lower()}.")
    subscriber = locked.subscriber
    purpose = locked.purpose
    if purpose == Proforma.Purpose.WALLET_RECHARGE:
        # The payment already credited the wallet; there is no service change to invoice.
        Proforma.objects.filter(pk=locked.pk).update(status=Proforma.Status.CONVERTED)
        return Billed(subscriber, settled=locked.total)
    if purpose == Proforma.Purpose.ACTIVATE:
        if subscriber.plan_id != locked.plan_id:
            subscribers.change_plan(subscriber, locked.plan, actor=actor, now=now)
        billed = activate_and_bill(subscriber, actor=actor, now=now, require_paid=True)
    elif purpose == Proforma.Purpose.CHANGE_PLAN:
        billed = change_plan_and_bill(subscriber, locked.plan, actor=actor, now=now,
                                      require_paid=True)
    elif purpose == Proforma.Purpose.PLAN_ITEM:
        billed = add_plan_item_and_bill(subscriber, locked.plan, actor=actor, now=now,
                                        require_paid=True)
    else:
        billed = renew_and_bill(subscriber, actor=actor, plan=locked.plan, now=now,
                                require_paid=True)
    Proforma.objects.filter(pk=locked.pk).update(status=Proforma.Status.CONVERTED,
                                                 invoice=billed.invoice)
    return billed


@transaction.atomic
def create_recharge_proforma(subscriber, amount, *, actor, valid_days: int = 1,
                             now=None) -> Proforma:
    """A quote to put `amount` into the subscriber's wallet through a gateway. An advance is
    not a supply, so it carries no tax; the service documents it pays for carry the tax."""
    invoicing.require_scope(actor, subscriber.organization)
    ctx = BillingContext.for_tenant(subscriber.tenant_id)
    value = parse_amount(amount, ctx.currency)
    total = Proforma._meta.get_field("total")
    if value >= Decimal(10) ** (total.max_digits - total.decimal_places):
        raise BillingError(f"{value} {ctx.currency} is more than a wallet recharge can be.")
    s = ctx.settings
    today = ctx.today(now)
    year, [(number, sequence)] = take_numbers(s, "proforma", s.proforma_prefix, today)
    return Proforma.objects.create(
        tenant_id=ctx.tenant_id, organization_id=subscriber.organization_id,
        subscriber=subscriber, bill_to_name=subscriber.name, bill_to_address=subscriber.address,
        bill_to_state=subscriber.state, bill_to_tax_number=subscriber.tax_number,
        currency=ctx.currency, created_by=actor, number=number, fiscal_year=year,
        sequence=sequence, purpose=Proforma.Purpose.WALLET_RECHARGE, plan=None,
        taxable_total=value, tax_total=Decimal(0), total=value,
        valid_until=today + timedelta(days=valid_days))
