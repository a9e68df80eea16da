"""Tax arithmetic against cases worked out by hand (see the comment on each row)."""

from decimal import Decimal as D

import pytest

from modules.billing.tax import LineInput, compute, is_interstate


def lines(*specs):
    return [LineInput(f"line {i}", D(price), D(rate)) for i, (price, rate) in enumerate(specs)]


CASES = [
    # id, lines, options, expected (taxable, tax, round_off, total, {component: amount})
    (
        "exclusive intra per line",  # 499*9% = 44.91 twice; 99*9% = 8.91 twice
        lines(("499.00", "18"), ("99.00", "18")),
        {"interstate": False},
        ("598.00", "107.64", "0.00", "705.64", {"CGST": "53.82", "SGST": "53.82"}),
    ),
    (
        "exclusive inter-state",  # IGST 18%: 89.82 + 17.82
        lines(("499.00", "18"), ("99.00", "18")),
        {"interstate": True},
        ("598.00", "107.64", "0.00", "705.64", {"IGST": "107.64"}),
    ),
    (
        "inclusive intra per line",  # 1000/1.18 = 847.457.. -> 847.46; tax 152.54 = 76.27 + 76.27
        lines(("1000.00", "18")),
        {"inclusive": True},
        ("847.46", "152.54", "0.00", "1000.00", {"CGST": "76.27", "SGST": "76.27"}),
    ),
    (
        "exclusive per line rounds each line",  # 10.05*9% = 0.9045 -> 0.90; x2 x3 lines = 5.40
        lines(("10.05", "18"), ("10.05", "18"), ("10.05", "18")),
        {},
        ("30.15", "5.40", "0.00", "35.55", {"CGST": "2.70", "SGST": "2.70"}),
    ),
    (
        "exclusive per invoice rounds once",  # 3 x 0.9045 = 2.7135 -> 2.71 per component
        lines(("10.05", "18"), ("10.05", "18"), ("10.05", "18")),
        {"per_line": False},
        ("30.15", "5.42", "0.00", "35.57", {"CGST": "2.71", "SGST": "2.71"}),
    ),
    (
        "inclusive per line splits the rounded tax",  # 100/1.18 -> 84.75, tax 15.25 = 7.63 + 7.62
        lines(("100.00", "18"), ("100.00", "18"), ("100.00", "18")),
        {"inclusive": True},
        ("254.25", "45.75", "0.00", "300.00", {"CGST": "22.89", "SGST": "22.86"}),
    ),
    (
        "inclusive per invoice",  # tax per line 15.2542 = 7.6271 x2; x3 = 22.8813 -> 22.88 each
        lines(("100.00", "18"), ("100.00", "18"), ("100.00", "18")),
        {"inclusive": True, "per_line": False},
        ("254.24", "45.76", "0.00", "300.00", {"CGST": "22.88", "SGST": "22.88"}),
    ),
    (
        "total rounded to a whole rupee",  # 499 + 89.82 = 588.82 -> 589.00, round-off 0.18
        lines(("499.00", "18")),
        {"round_total_to_unit": True},
        ("499.00", "89.82", "0.18", "589.00", {"CGST": "44.91", "SGST": "44.91"}),
    ),
    (
        "half even (banker's) rounding",  # 12.50 * 1% = 0.125 -> 0.12 (half up would give 0.13)
        lines(("12.50", "1")),
        {"scheme": "single", "rounding": "ROUND_HALF_EVEN"},
        ("12.50", "0.12", "0.00", "12.62", {"VAT": "0.12"}),
    ),
    (
        "half up rounding",
        lines(("12.50", "1")),
        {"scheme": "single"},
        ("12.50", "0.13", "0.00", "12.63", {"VAT": "0.13"}),
    ),
    (
        "zero-rated line has no tax components",
        lines(("250.00", "0"), ("100.00", "18")),
        {},
        ("350.00", "18.00", "0.00", "368.00", {"CGST": "9.00", "SGST": "9.00"}),
    ),
    (
        "zero-decimal currency",  # 1000 JPY at 10 %
        lines(("1000", "10")),
        {"scheme": "single", "currency": "JPY"},
        ("1000", "100", "0", "1100", {"VAT": "100"}),
    ),
]


@pytest.mark.parametrize(("name", "items", "options", "expected"), CASES, ids=[c[0] for c in CASES])
def test_tax_table(name, items, options, expected):
    opts = {
        "currency": "INR",
        "rounding": "ROUND_HALF_UP",
        "inclusive": False,
        "per_line": True,
        "scheme": "gst",
        "interstate": False,
        **options,
    }
    result = compute(items, **opts)
    taxable, tax, round_off, total, components = expected
    assert result.taxable_total == D(taxable)
    assert result.tax_total == D(tax)
    assert result.round_off == D(round_off)
    assert result.total == D(total)
    assert {row["name"]: D(row["amount"]) for row in result.breakdown} == {
        k: D(v) for k, v in components.items()
    }
    assert result.taxable_total + result.tax_total + result.round_off == result.total


@pytest.mark.parametrize(
    ("supplier", "supplier_state", "customer", "customer_state", "inter"),
    [
        ("27AABCS1234F1Z5", "Maharashtra", "29AAAAA0000A1Z5", "", True),  # GSTIN state codes differ
        ("27AABCS1234F1Z5", "Maharashtra", "27AAAAA0000A1Z5", "Karnataka", False),  # GSTIN wins
        ("", "Maharashtra", "", " maharashtra ", False),  # names compared loosely
        ("", "Maharashtra", "", "Karnataka", True),
        ("27AABCS1234F1Z5", "Maharashtra", "", "", False),  # unknown customer: local supply
    ],
)
def test_place_of_supply(supplier, supplier_state, customer, customer_state, inter):
    assert is_interstate(supplier, supplier_state, customer, customer_state) is inter
