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

from modules.billing import bulk, ledger, tax
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
from modules.billing.money import BillingError, parse_amount, round_money
from modules.billing.numbering import take_numbers
from modules.billing.selectors import billing_settings, policy_from
from modules.core import scope
from modules.plans import selectors as plans_selectors
from modules.plans.models import Plan
from modules.plans.services import tenant_zone, validity_period
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
    policy: object = None  # plans.services.ExpiryPolicy: expiry time of day, calendar cycle

    @classmethod
    def for_tenant(cls, tenant_id: int) -> BillingContext:
        from modules.core.models import Tenant

        general = general_settings(Tenant.objects.get(pk=tenant_id))
        settings, zone = billing_settings(tenant_id), tenant_zone(tenant_id)
        return cls(
            tenant_id,
            settings,
            (general.currency or "INR").upper(),
            general.state,
            general.tax_number,
            zone,
            policy_from(settings, zone),
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


def period_line(ctx: BillingContext, subscriber, plan, start, *, price: Decimal | None = None
                ) -> tax.LineInput:
    """The plan's line for the validity bought at `start`. Under a calendar cycle the first
    period is only part of a cycle: it is charged pro rata by days, unless proration is off.
    `price` is the subscriber's price when the caller already knows it (batches)."""
    s = ctx.settings
    if (ctx.policy is None or ctx.policy.cycle_day is None
            or plan.validity_unit != Plan.ValidityUnit.MONTHS
            or s.proration == BillingSettings.Proration.NONE):
        return plan_line(plan, ctx, price=price)
    days, whole = validity_period(plan, start, ctx.policy).fraction
    if days >= whole:
        return plan_line(plan, ctx, price=price)
    if price is None:
        price = plans_selectors.price_for(plan, subscriber.organization)
    share = round_money(price * days / whole, ctx.currency, s.rounding)
    return plan_line(plan, ctx, price=share,
                     description=f"{plan.name} ({days} of {whole} days of the cycle)")


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
    priced: tuple[tax.TaxResult, bool] | None = None,
) -> PreparedInvoice:
    """An unsaved invoice with its lines and tax components (nothing written yet). `priced` is
    `price_lines`' answer when the caller already has it (a batch of identical invoices)."""
    if not lines:
        raise BillingError("An invoice needs at least one line.")
    for line in lines:
        if line.unit_price < 0 or line.quantity <= 0:
            raise BillingError(
                "Invoice lines need a price of zero or more and a positive quantity."
            )
    result, interstate = priced or price_lines(ctx, subscriber, lines)
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
    invoices = bulk.insert(Invoice, [p.invoice for p in prepared])
    lines = []
    for p in prepared:
        for line, _ in p.lines:
            line.invoice = p.invoice
            lines.append(line)
    bulk.insert(InvoiceLine, lines)
    components = []
    for p in prepared:
        for line, taxes in p.lines:
            for t in taxes:
                t.line = line
                components.append(t)
    bulk.insert(LineTax, components)
    return invoices


def _line_values(result: tax.TaxResult) -> list[tuple[tuple, list[tuple]]]:
    """`prepare_invoice`'s line and tax columns of a priced result, as row values."""
    values = []
    for position, res in enumerate(result.lines, start=1):
        src = res.source
        line = (position, src.description[:255], src.plan_id, src.hsn_sac, src.quantity,
                src.unit_price, src.tax_rate, res.taxable_value.quantize(Decimal("0.01")),
                res.tax_amount, res.line_total)
        values.append((line, list(res.components)))
    return values


LINE_COLUMNS = ("invoice_id", "position", "description", "plan_id", "hsn_sac", "quantity",
                "unit_price", "tax_rate", "taxable_value", "tax_amount", "line_total")
INVOICE_COLUMNS = (
    "organization_id", "subscriber_id", "bill_to_name", "bill_to_address", "bill_to_state",
    "bill_to_tax_number", "number", "sequence", "period_start", "period_end", "is_interstate",
    "taxable_total", "tax_total", "round_off", "total", "amount_paid", "tax_breakdown",
    "idempotency_key", "status",
)


def issue_paid_batch(
    ctx: BillingContext, charges: list[tuple], *, reason: str, now=None
) -> list[tuple[int, str, Decimal]]:
    """Issue and write invoices paid in full at once (the renewal run), numbered gap-free in one
    counter step, as rows without model instances: `charges` are (subscriber, `price_lines`'
    answer, period start, period end, idempotency key), the answers shared between identical
    invoices so their lines and taxes are worked out once. Returns (id, number, total) of each
    invoice, in order; allocations and ledger debits are the caller's."""
    if not charges:
        return []
    now = now or timezone.now()
    today = ctx.today(now)
    s = ctx.settings
    year, numbers = take_numbers(s, "invoice", s.invoice_prefix, today, len(charges))
    shared = {}  # id(priced) -> (breakdown as Jsonb, line values, status)
    rows = []
    for (sub, priced, start, end, key), (number, sequence) in zip(charges, numbers, strict=True):
        result, interstate = priced
        facts = shared.get(id(priced))
        if facts is None:
            facts = shared[id(priced)] = (
                bulk.Jsonb(result.breakdown), _line_values(result),
                status_for(result.total, result.total),
            )
        rows.append((sub.organization_id, sub.pk, sub.name, sub.address, sub.state,
                     sub.tax_number, number, sequence, start, end, interstate,
                     result.taxable_total, result.tax_total, result.round_off, result.total,
                     result.total, facts[0], key, facts[2]))
    ids = bulk.copy_rows(Invoice, INVOICE_COLUMNS, rows, fixed={
        "tenant_id": ctx.tenant_id, "currency": ctx.currency, "reason": reason,
        "supplier_state": ctx.supplier_state, "supplier_tax_number": ctx.supplier_tax_number,
        "fiscal_year": year, "issue_date": today, "issued_at": now,
        "due_date": today + timedelta(days=s.due_days), "created_at": now,
    })
    line_rows, line_taxes = [], []
    for invoice_id, (_, priced, *_) in zip(ids, charges, strict=True):
        for line, taxes in shared[id(priced)][1]:
            line_rows.append((invoice_id, *line))
            line_taxes.append(taxes)
    line_ids = bulk.copy_rows(InvoiceLine, LINE_COLUMNS, line_rows)
    bulk.copy_rows(LineTax, ("line_id", "name", "rate", "amount"), [
        (line_id, *component)
        for line_id, taxes in zip(line_ids, line_taxes, strict=True) for component in taxes
    ])
    return [(pk, number, charge[1][0].total)
            for pk, (number, _), charge in zip(ids, numbers, charges, strict=True)]


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
