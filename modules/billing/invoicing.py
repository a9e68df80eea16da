"""Invoices, credit notes and proformas: priced with the tax engine, numbered gap-free at issue,
never edited once issued (corrections are credit notes or cancellations)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from modules.billing import ledger, tax
from modules.billing.models import (
    Allocation,
    BillingSettings,
    CreditNote,
    Invoice,
    InvoiceLine,
    LedgerEntry,
    LineTax,
    Proforma,
)
from modules.billing.money import BillingError, parse_amount
from modules.billing.numbering import take_numbers
from modules.billing.selectors import billing_settings
from modules.core import scope
from modules.plans import selectors as plans_selectors
from modules.plans.services import tenant_zone
from modules.settings_hub.selectors import general_settings


def require_scope(actor, organization) -> None:
    """Services refuse an actor acting outside its scope (None is the system itself)."""
    if actor is not None and not scope.in_scope(actor, organization):
        raise PermissionDenied("This record is outside your scope.")


@dataclass
class BillingContext:
    """Per-tenant facts a document needs, read once per request or per batch."""

    tenant_id: int
    settings: BillingSettings
    currency: str
    supplier_state: str
    supplier_tax_number: str
    zone: object

    @classmethod
    def for_tenant(cls, tenant_id: int) -> BillingContext:
        from modules.core.models import Tenant

        general = general_settings(Tenant.objects.get(pk=tenant_id))
        return cls(
            tenant_id,
            billing_settings(tenant_id),
            (general.currency or "INR").upper(),
            general.state,
            general.tax_number,
            tenant_zone(tenant_id),
        )

    def today(self, now=None) -> date:
        return timezone.localtime(now or timezone.now(), self.zone).date()


def status_for(total, paid) -> str:
    if paid >= total:
        return Invoice.Status.PAID
    return Invoice.Status.PARTIALLY_PAID if paid > 0 else Invoice.Status.ISSUED


@dataclass
class ListPriceLine(tax.LineInput):
    """A plan line at no explicit price: priced for the subscriber when billed (a partner's
    subscriber pays its partner's selling price, see plans.selectors.price_for)."""

    plan: object = field(default=None, repr=False, compare=False)


def plan_line(
    plan,
    ctx: BillingContext,
    *,
    price: Decimal | None = None,
    description: str | None = None,
    quantity: Decimal = Decimal(1),
) -> tax.LineInput:
    tax_class = plan.tax_class
    return (ListPriceLine if price is None else tax.LineInput)(
        description=description or plan.name,
        unit_price=plan.price if price is None else price,
        tax_rate=tax_class.rate if tax_class else Decimal(0),
        quantity=quantity,
        hsn_sac=(
            tax_class.hsn_sac if tax_class and tax_class.hsn_sac else ctx.settings.default_hsn_sac
        ),
        plan_id=plan.pk,
        **({"plan": plan} if price is None else {}),
    )


def _for_subscriber(line: tax.LineInput, subscriber) -> tax.LineInput:
    if not isinstance(line, ListPriceLine) or line.plan is None:
        return line
    price = plans_selectors.price_for(line.plan, subscriber.organization)
    return line if price == line.unit_price else replace(line, unit_price=price)


def price_lines(
    ctx: BillingContext, subscriber, lines: list[tax.LineInput]
) -> tuple[tax.TaxResult, bool]:
    interstate = tax.is_interstate(
        ctx.supplier_tax_number, ctx.supplier_state, subscriber.tax_number, subscriber.state
    )
    lines = [_for_subscriber(line, subscriber) for line in lines]
    s = ctx.settings
    result = tax.compute(
        lines,
        currency=ctx.currency,
        rounding=s.rounding,
        inclusive=s.prices_include_tax,
        per_line=s.tax_rounding == BillingSettings.TaxRounding.PER_LINE,
        scheme=s.tax_scheme,
        interstate=interstate,
        single_name=s.single_tax_name,
        round_total_to_unit=s.round_total_to_unit,
    )
    return result, interstate


@dataclass
class PreparedInvoice:
    invoice: Invoice
    lines: list[tuple[InvoiceLine, list[LineTax]]] = field(default_factory=list)


def prepare_invoice(
    ctx: BillingContext,
    subscriber,
    lines: list[tax.LineInput],
    *,
    reason: str,
    actor=None,
    period_start=None,
    period_end=None,
    idempotency_key: str | None = None,
    notes: str = "",
) -> PreparedInvoice:
    """An unsaved invoice with its lines and tax components (nothing written yet)."""
    if not lines:
        raise BillingError("An invoice needs at least one line.")
    for line in lines:
        if line.unit_price < 0 or line.quantity <= 0:
            raise BillingError(
                "Invoice lines need a price of zero or more and a positive quantity."
            )
    result, interstate = price_lines(ctx, subscriber, lines)
    invoice = Invoice(
        tenant_id=ctx.tenant_id,
        organization_id=subscriber.organization_id,
        subscriber=subscriber,
        bill_to_name=subscriber.name,
        bill_to_address=subscriber.address,
        bill_to_state=subscriber.state,
        bill_to_tax_number=subscriber.tax_number,
        currency=ctx.currency,
        created_by=actor,
        reason=reason,
        period_start=period_start,
        period_end=period_end,
        supplier_state=ctx.supplier_state,
        supplier_tax_number=ctx.supplier_tax_number,
        is_interstate=interstate,
        taxable_total=result.taxable_total,
        tax_total=result.tax_total,
        round_off=result.round_off,
        total=result.total,
        tax_breakdown=result.breakdown,
        idempotency_key=idempotency_key,
        notes=notes,
    )
    prepared = PreparedInvoice(invoice)
    for position, res in enumerate(result.lines, start=1):
        src = res.source
        line = InvoiceLine(
            position=position,
            description=src.description[:255],
            plan_id=src.plan_id,
            hsn_sac=src.hsn_sac,
            quantity=src.quantity,
            unit_price=src.unit_price,
            tax_rate=src.tax_rate,
            taxable_value=res.taxable_value.quantize(Decimal("0.01")),
            tax_amount=res.tax_amount,
            line_total=res.line_total,
        )
        taxes = [LineTax(name=n, rate=r, amount=a) for n, r, a in res.components]
        prepared.lines.append((line, taxes))
    return prepared


def save_invoices(
    ctx: BillingContext, prepared: list[PreparedInvoice], *, issue: bool = True, now=None
) -> list[Invoice]:
    """Write prepared invoices (bulk), numbering them in one counter step when issuing."""
    if not prepared:
        return []
    now = now or timezone.now()
    today = ctx.today(now)
    if issue:
        s = ctx.settings
        year, numbers = take_numbers(s, "invoice", s.invoice_prefix, today, len(prepared))
        for p, (number, sequence) in zip(prepared, numbers, strict=True):
            inv = p.invoice
            inv.number, inv.sequence, inv.fiscal_year = number, sequence, year
            inv.status, inv.issue_date, inv.issued_at = Invoice.Status.ISSUED, today, now
            inv.due_date = today + timedelta(days=s.due_days)
            inv.status = status_for(inv.total, inv.amount_paid)
    invoices = Invoice.objects.bulk_create([p.invoice for p in prepared])
    lines = []
    for p in prepared:
        for line, _ in p.lines:
            line.invoice = p.invoice
            lines.append(line)
    InvoiceLine.objects.bulk_create(lines)
    LineTax.objects.bulk_create(
        [
            LineTax(line=line, name=t.name, rate=t.rate, amount=t.amount)
            for p in prepared
            for line, taxes in p.lines
            for t in taxes
        ]
    )
    return invoices


@transaction.atomic
def create_invoice(
    subscriber,
    lines: list[tax.LineInput],
    *,
    actor,
    reason=Invoice.Reason.OTHER,
    issue=True,
    ctx: BillingContext | None = None,
    **kwargs,
) -> Invoice:
    require_scope(actor, subscriber.organization)
    ctx = ctx or BillingContext.for_tenant(subscriber.tenant_id)
    prepared = prepare_invoice(ctx, subscriber, lines, reason=reason, actor=actor, **kwargs)
    return save_invoices(ctx, [prepared], issue=issue)[0]


@transaction.atomic
def issue_invoice(invoice: Invoice, *, actor, now=None) -> Invoice:
    """Number and issue a draft; an issued invoice is never edited afterwards."""
    require_scope(actor, invoice.organization)
    locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if locked.status != Invoice.Status.DRAFT:
        raise BillingError(f"{locked} is already {locked.get_status_display().lower()}.")
    ctx = BillingContext.for_tenant(locked.tenant_id)
    now = now or timezone.now()
    today = ctx.today(now)
    s = ctx.settings
    year, [(number, sequence)] = take_numbers(s, "invoice", s.invoice_prefix, today)
    Invoice.objects.filter(pk=locked.pk).update(
        number=number,
        sequence=sequence,
        fiscal_year=year,
        issue_date=today,
        issued_at=now,
        due_date=today + timedelta(days=s.due_days),
        status=Invoice.Status.PAID if locked.total == 0 else Invoice.Status.ISSUED,
    )
    locked.refresh_from_db()
    return locked


def settle(invoice: Invoice, wallet, amount: Decimal, *, actor=None, payment=None) -> Allocation:
    """Apply `amount` from `wallet` to an open invoice: allocation, ledger debit, invoice paid.
    The caller holds the transaction; the invoice row is locked here."""
    inv = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if not inv.is_open:
        raise BillingError(f"{inv} is {inv.get_status_display().lower()} and cannot be paid.")
    if amount <= 0 or amount > inv.amount_due:
        raise BillingError(f"{inv} has {inv.amount_due} {inv.currency} due; cannot apply {amount}.")
    allocation = Allocation.objects.create(invoice=inv, payment=payment, amount=amount)
    ledger.post(
        wallet,
        -amount,
        LedgerEntry.Kind.INVOICE,
        actor=actor,
        source=inv,
        memo=f"Settles {inv.number}",
    )
    paid = inv.amount_paid + amount
    Invoice.objects.filter(pk=inv.pk).update(
        amount_paid=F("amount_paid") + amount, status=status_for(inv.total, paid)
    )
    invoice.amount_paid, invoice.status = paid, status_for(inv.total, paid)
    return allocation


@transaction.atomic
def apply_advance(invoice: Invoice, *, actor=None, settings=None) -> Decimal:
    """Settle as much of the invoice as the subscriber's wallet allows; returns the amount."""
    require_scope(actor, invoice.organization)
    if invoice.subscriber_id is None:
        return Decimal(0)
    wallet = ledger.lock_subscriber_wallet(invoice.subscriber)
    current = Invoice.objects.select_for_update().get(pk=invoice.pk)  # after the wallet lock
    if not current.is_open:
        return Decimal(0)
    amount = min(current.amount_due, ledger.available(wallet, settings))
    if amount > 0:
        settle(invoice, wallet, amount, actor=actor)
    return amount


@transaction.atomic
def issue_credit_note(
    subscriber, amount, *, actor, reason: str, invoice: Invoice | None = None, now=None
) -> CreditNote:
    """Credit the subscriber's wallet; against an open invoice, first reduce what it owes."""
    require_scope(actor, subscriber.organization)
    if not reason.strip():
        raise BillingError("A credit note needs a reason.")
    ctx = BillingContext.for_tenant(subscriber.tenant_id)
    value = parse_amount(amount, ctx.currency)
    wallet = ledger.lock_subscriber_wallet(subscriber)
    if invoice is not None:
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.subscriber_id != subscriber.pk:
            raise BillingError("The invoice belongs to another subscriber.")
        if invoice.status in (Invoice.Status.DRAFT, Invoice.Status.CANCELLED):
            raise BillingError(f"{invoice} is {invoice.get_status_display().lower()}.")
        credited = sum((c.amount for c in invoice.credit_notes.all()), Decimal(0))
        if credited + value > invoice.total:
            raise BillingError(f"Credit notes may not exceed the invoice total of {invoice.total}.")
    s = ctx.settings
    year, [(number, sequence)] = take_numbers(
        s, "credit_note", s.credit_note_prefix, ctx.today(now)
    )
    note = CreditNote.objects.create(
        tenant_id=ctx.tenant_id,
        organization_id=subscriber.organization_id,
        subscriber=subscriber,
        bill_to_name=subscriber.name,
        bill_to_address=subscriber.address,
        bill_to_state=subscriber.state,
        bill_to_tax_number=subscriber.tax_number,
        currency=ctx.currency,
        created_by=actor,
        number=number,
        fiscal_year=year,
        sequence=sequence,
        invoice=invoice,
        amount=value,
        reason=reason[:255],
    )
    ledger.post(
        wallet,
        value,
        LedgerEntry.Kind.CREDIT_NOTE,
        actor=actor,
        source=note,
        memo=f"{number}: {reason}",
    )
    if invoice is not None and invoice.is_open:
        settle(invoice, wallet, min(value, invoice.amount_due), actor=actor)
    return note


@transaction.atomic
def create_proforma(
    subscriber, plan, *, actor, purpose=Proforma.Purpose.RENEW, valid_days: int = 7, now=None
) -> Proforma:
    """A quote for a plan purchase; paying it performs the purchase (see orchestration)."""
    require_scope(actor, subscriber.organization)
    ctx = BillingContext.for_tenant(subscriber.tenant_id)
    result, _ = price_lines(ctx, subscriber, [plan_line(plan, ctx)])
    s = ctx.settings
    today = ctx.today(now)
    year, [(number, sequence)] = take_numbers(s, "proforma", s.proforma_prefix, today)
    return Proforma.objects.create(
        tenant_id=ctx.tenant_id,
        organization_id=subscriber.organization_id,
        subscriber=subscriber,
        bill_to_name=subscriber.name,
        bill_to_address=subscriber.address,
        bill_to_state=subscriber.state,
        bill_to_tax_number=subscriber.tax_number,
        currency=ctx.currency,
        created_by=actor,
        number=number,
        fiscal_year=year,
        sequence=sequence,
        purpose=purpose,
        plan=plan,
        taxable_total=result.taxable_total,
        tax_total=result.tax_total,
        total=result.total,
        tax_breakdown=result.breakdown,
        valid_until=today + timedelta(days=valid_days),
    )
