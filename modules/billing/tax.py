"""Tax arithmetic for one document: inclusive or exclusive prices, GST split by place of supply,
rounding per line or per invoice. Pure functions: no database, easy to check by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from modules.billing.money import quantum

HUNDRED = Decimal(100)
RAW = Decimal("0.0001")  # precision kept for unrounded per-invoice components


@dataclass
class LineInput:
    description: str
    unit_price: Decimal
    tax_rate: Decimal
    quantity: Decimal = Decimal(1)
    hsn_sac: str = ""
    plan_id: int | None = None


@dataclass
class LineResult:
    source: LineInput
    taxable_value: Decimal
    tax_amount: Decimal
    components: list[tuple[str, Decimal, Decimal]]  # (name, rate, amount)

    @property
    def line_total(self) -> Decimal:
        return self.taxable_value + self.tax_amount


@dataclass
class TaxResult:
    lines: list[LineResult]
    taxable_total: Decimal
    tax_total: Decimal
    round_off: Decimal
    total: Decimal
    breakdown: list[dict] = field(default_factory=list)


def gst_state_code(tax_number: str) -> str:
    """The first two digits of a GSTIN are the state code."""
    tax_number = (tax_number or "").strip()
    return tax_number[:2] if len(tax_number) >= 2 and tax_number[:2].isdigit() else ""


def is_interstate(
    supplier_tax_number: str, supplier_state: str, customer_tax_number: str, customer_state: str
) -> bool:
    """Place of supply: GSTIN state codes when both are known, else billing state names; a
    customer with neither is treated as in the supplier's state."""
    ours, theirs = gst_state_code(supplier_tax_number), gst_state_code(customer_tax_number)
    if ours and theirs:
        return ours != theirs
    a, b = (supplier_state or "").strip().lower(), (customer_state or "").strip().lower()
    return bool(a and b and a != b)


def split(
    rate: Decimal, scheme: str, interstate: bool, single_name: str
) -> list[tuple[str, Decimal]]:
    if rate == 0:
        return []
    if scheme != "gst":
        return [(single_name, rate)]
    if interstate:
        return [("IGST", rate)]
    half = rate / 2
    return [("CGST", half), ("SGST", half)]


def compute(
    lines: list[LineInput],
    *,
    currency: str,
    rounding: str,
    inclusive: bool,
    per_line: bool,
    scheme: str = "gst",
    interstate: bool = False,
    single_name: str = "VAT",
    round_total_to_unit: bool = False,
) -> TaxResult:
    q = quantum(currency)
    step = q if per_line else RAW
    results: list[LineResult] = []
    for line in lines:
        gross = line.unit_price * line.quantity
        parts = split(line.tax_rate, scheme, interstate, single_name)
        if inclusive:
            taxable_raw = gross * HUNDRED / (HUNDRED + line.tax_rate)
            tax = (
                (gross - taxable_raw.quantize(step, rounding=rounding))
                if per_line
                else (gross - taxable_raw).quantize(RAW, rounding=rounding)
            )
            taxable = gross - tax
        else:
            taxable = gross.quantize(q, rounding=rounding)
            tax = None
        components = []
        if parts:
            if tax is None:  # exclusive: each component on the taxable value
                amounts = [
                    (taxable * r / HUNDRED).quantize(step, rounding=rounding) for _, r in parts
                ]
            else:  # inclusive: split the tax already inside the price; the last part takes the rest
                amounts = [
                    (tax * r / line.tax_rate).quantize(step, rounding=rounding) for _, r in parts
                ]
                amounts[-1] = tax - sum(amounts[:-1])
            components = [(name, r, amt) for (name, r), amt in zip(parts, amounts, strict=True)]
        tax_amount = sum((c[2] for c in components), Decimal(0))
        results.append(
            LineResult(line, taxable.quantize(step), tax_amount.quantize(step), components)
        )

    # Invoice level: components summed by (name, rate), rounded once when rounding per invoice.
    summary: dict[tuple[str, Decimal], list[Decimal]] = {}
    for res in results:
        for name, rate, amount in res.components:
            entry = summary.setdefault((name, rate), [Decimal(0), Decimal(0)])
            entry[0] += res.taxable_value
            entry[1] += amount
    breakdown = []
    tax_total = Decimal(0)
    for (name, rate), (taxable, amount) in sorted(
        summary.items(), key=lambda kv: (kv[0][1], kv[0][0])
    ):
        rounded = amount.quantize(q, rounding=rounding)
        tax_total += rounded
        breakdown.append(
            {
                "name": name,
                "rate": str(rate.normalize()),
                "taxable": str(taxable.quantize(q, rounding=rounding)),
                "amount": str(rounded),
            }
        )
    if inclusive:
        gross_total = sum((r.source.unit_price * r.source.quantity for r in results), Decimal(0))
        gross_total = gross_total.quantize(q, rounding=rounding)
        taxable_total = gross_total - tax_total
    else:
        taxable_total = sum((r.taxable_value for r in results), Decimal(0)).quantize(q)
    total = taxable_total + tax_total
    round_off = Decimal(0).quantize(q)
    if round_total_to_unit:
        whole = total.quantize(Decimal(1), rounding=rounding)
        round_off, total = (whole - total).quantize(q), whole.quantize(q)
    return TaxResult(results, taxable_total, tax_total, round_off, total, breakdown)
