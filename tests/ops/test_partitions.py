"""The auth log partitioned by month: conversion keeps every row, upkeep adds and drops months.

Each test converts the real `networking_authlog` table inside its transaction (PostgreSQL
DDL is transactional), so the table is plain again afterwards.
"""

import io
from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command
from django.db import connection

from modules.networking.models import AuthLog
from modules.ops import partitions
from modules.ops.partitions import Partitioned

pytestmark = pytest.mark.django_db

TABLE = "networking_authlog"
SPEC = Partitioned(TABLE, "created_at", keep_months=3)


def log(year, month, day, hour=12) -> AuthLog:
    return AuthLog.objects.create(created_at=datetime(year, month, day, hour, tzinfo=UTC),
                                  username="u1", outcome="reject", reason="expired")


def rows_in(partition: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{partition}"')
        return cursor.fetchone()[0]


def test_conversion_keeps_rows_ids_and_indexes():
    june, november = log(2026, 6, 10), log(2026, 11, 30, 23)

    assert partitions.convert(SPEC, today=date(2026, 11, 30)) == 2

    assert partitions.is_partitioned(TABLE)
    assert partitions.partitions(TABLE) == [
        *(f"{TABLE}_p2026{m:02d}" for m in range(6, 13)), f"{TABLE}_p202701", f"{TABLE}_default"]
    assert list(AuthLog.objects.order_by("id").values_list("id", flat=True)) == [
        june.pk, november.pk]
    december = log(2026, 12, 1, 0)
    assert december.pk > november.pk  # ids continue from the same sequence
    assert rows_in(f"{TABLE}_p202612") == 1 and rows_in(f"{TABLE}_default") == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [TABLE])
        names = {row[0] for row in cursor.fetchall()}
    assert {"authlog_created_brin", "authlog_username_idx", "authlog_org_idx"} <= names
    assert partitions.convert(SPEC) == 0  # a second conversion changes nothing


def test_upkeep_creates_coming_months_and_drops_expired_ones(settings):
    settings.PARTITION_RETENTION_MONTHS = {TABLE: 3}
    log(2026, 3, 5)
    partitions.convert(SPEC, today=date(2026, 6, 15))  # March, then June to August
    september = log(2026, 9, 5)  # no partition yet: kept by the default one
    assert rows_in(f"{TABLE}_default") == 1

    done = partitions.maintain(today=date(2026, 9, 10))

    assert done == {TABLE: {
        "created": [f"{TABLE}_p202609", f"{TABLE}_p202610", f"{TABLE}_p202611"],
        "dropped": [f"{TABLE}_p202603"]}}
    assert rows_in(f"{TABLE}_p202609") == 1 and rows_in(f"{TABLE}_default") == 0
    assert list(AuthLog.objects.values_list("pk", flat=True)) == [september.pk]
    assert partitions.maintain(today=date(2026, 9, 10)) == {TABLE: {"created": [],
                                                                    "dropped": []}}


def test_retention_zero_keeps_every_month(settings):
    settings.PARTITION_RETENTION_MONTHS = {TABLE: 0}
    log(2020, 1, 1)
    partitions.convert(SPEC, today=date(2026, 9, 10))
    assert partitions.maintain(today=date(2026, 9, 10))[TABLE]["dropped"] == []
    assert AuthLog.objects.count() == 1


def test_upkeep_leaves_a_plain_table_alone():
    assert partitions.maintain(today=date(2026, 9, 10)) == {}
    assert not partitions.is_partitioned(TABLE)


def test_command_converts_and_reports():
    log(2026, 10, 1)
    output = io.StringIO()
    call_command("partition_tables", "--convert", "--maintain", stdout=output)
    out = output.getvalue()
    assert f"{TABLE}: partitioned by month, 1 rows moved" in out
    assert "partitions" in out.splitlines()[-1]
    assert AuthLog.objects.count() == 1
