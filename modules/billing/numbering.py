"""Gap-free document numbers per tenant, series and fiscal year.

The counter row is locked FOR UPDATE inside the issuing transaction: a rolled-back issue gives
its number back, and two issuers queue on the row instead of skipping or repeating a number.
"""

from __future__ import annotations

from datetime import date

from django.db import connection

from modules.billing.models import BillingSettings, DocumentCounter


def fiscal_year(day: date, start_month: int) -> str:
    """'2026-27' for an April start; '2026' for a calendar year."""
    if start_month == 1:
        return str(day.year)
    first = day.year if day.month >= start_month else day.year - 1
    return f"{first}-{str(first + 1)[-2:]}"


def take_numbers(
    settings: BillingSettings, series: str, prefix: str, day: date, count: int = 1
) -> tuple[str, list[tuple[str, int]]]:
    """Reserve `count` consecutive numbers; returns the fiscal year and (number, sequence) pairs."""
    year = (
        fiscal_year(day, settings.fiscal_year_start_month)
        if settings.number_reset == BillingSettings.NumberReset.FISCAL_YEAR
        else "all"
    )
    table = DocumentCounter._meta.db_table
    with connection.cursor() as cursor:
        # One statement: create the row if missing, else bump it; the row stays locked until
        # the surrounding transaction ends.
        cursor.execute(
            f"INSERT INTO {table} (tenant_id, series, fiscal_year, last_number) "  # noqa: S608
            "VALUES (%s, %s, %s, %s) ON CONFLICT (tenant_id, series, fiscal_year) "
            f"DO UPDATE SET last_number = {table}.last_number + EXCLUDED.last_number "
            "RETURNING last_number",
            [settings.tenant_id, series, year, count],
        )
        last = cursor.fetchone()[0]
    label = year if year != "all" else ""
    numbers = []
    for sequence in range(last - count + 1, last + 1):
        parts = [p for p in (prefix, label, f"{sequence:06d}") if p]
        numbers.append(("/".join(parts), sequence))
    return year, numbers
