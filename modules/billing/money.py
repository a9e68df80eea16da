"""Exact money: amounts checked and rounded in the tenant's currency and rounding rule."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import moneyed


class BillingError(ValueError):
    """A billing rule refused the request; the message is meant for the operator."""


def currency_places(code: str) -> int:
    """Decimal places of an ISO 4217 currency (INR 2, JPY 0, BHD 3)."""
    try:
        sub_unit = moneyed.get_currency(code.upper()).sub_unit
    except moneyed.CurrencyDoesNotExist as exc:
        raise BillingError(f"Unknown currency “{code}”.") from exc
    return max(len(str(sub_unit)) - 1, 0)


def quantum(code: str) -> Decimal:
    return Decimal(1).scaleb(-currency_places(code))


def round_money(value: Decimal, code: str, rounding: str = ROUND_HALF_UP) -> Decimal:
    return Decimal(value).quantize(quantum(code), rounding=rounding)


def parse_amount(value, currency: str, *, allow_zero: bool = False) -> Decimal:
    """An amount an operator or gateway gave: a positive Decimal with no more decimals than the
    currency has. Floats are refused (they are not exact)."""
    if isinstance(value, float):
        raise BillingError("Amounts must be exact decimals, not floating point numbers.")
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise BillingError(f"“{value}” is not an amount.") from exc
    if not amount.is_finite():
        raise BillingError(f"“{value}” is not an amount.")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise BillingError("The amount must be greater than zero.")
    places = currency_places(currency)
    if amount != amount.quantize(quantum(currency), rounding=ROUND_HALF_UP):
        raise BillingError(f"{currency} amounts have at most {places} decimal places.")
    return amount.quantize(quantum(currency))


def check_currency(given: str | None, expected: str) -> None:
    if given and given.upper() != expected.upper():
        raise BillingError(f"Currency mismatch: this account is in {expected}, not {given}.")
