"""Monthly partitions of the large RADIUS tables, and their retention.

The RADIUS auth log and the accounting sessions grow by millions of rows a month. As a
PostgreSQL table partitioned by month on its record time, an expired month is dropped whole
(instant, no bloat) instead of deleted row by row, and time-bounded queries read only their
months.

Sessions are cut on `stopped_at`: an open session (NULL) lives in the default partition,
which is never dropped, and its Stop moves the row into its month. `unique_id` stays unique
together with `stopped_at` (NULLs equal), so a session has at most one open row (docs §9.5).

`convert()` turns a plain table into a partitioned one once, in a maintenance window
(`manage.py partition_tables --convert`); `maintain()` is the periodic job: it creates the
coming months' partitions and drops months older than the table's retention. Tables that
were not converted are left alone, so a small install keeps plain tables.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

logger = logging.getLogger("modules.ops")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")  # names put in DDL are checked against this


@dataclass(frozen=True)
class Partitioned:
    table: str
    column: str  # the record time the months are cut on
    keep_months: int  # whole months kept before the current one; 0 keeps everything
    ahead: int = 2  # months created in advance
    # The column may be NULL (an open session): such rows stay in the default partition, and
    # the id is kept unique by UNIQUE NULLS NOT DISTINCT (id, column) instead of a primary key.
    nullable: bool = False


DEFAULT_RETENTION_MONTHS = 13


def tables() -> list[Partitioned]:
    """The partitioned tables and their retention (`PARTITION_RETENTION_MONTHS` per table)."""
    retention = getattr(settings, "PARTITION_RETENTION_MONTHS", {}) or {}
    return [
        Partitioned("networking_authlog", "created_at",
                    int(retention.get("networking_authlog", DEFAULT_RETENTION_MONTHS))),
        Partitioned("networking_radiussession", "stopped_at",
                    int(retention.get("networking_radiussession", DEFAULT_RETENTION_MONTHS)),
                    nullable=True),
    ]


def month_start(day: date, shift: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + shift
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month:%Y%m}"


def _check(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a plain table or column name: {name!r}")
    return name


def _bound(month: date) -> str:
    """A month boundary in the server's UTC, so every partition covers the same instants."""
    return datetime.combine(month, time.min, tzinfo=UTC).isoformat()


def is_partitioned(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)",
                       [table])
        return cursor.fetchone() is not None


def partitions(table: str) -> list[str]:
    """Names of the table's partitions, oldest first (the default partition last)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                       " WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname", [table])
        names = [row[0] for row in cursor.fetchall()]
    return sorted(names, key=lambda n: (n.endswith("_default"), n))


def ensure_month(spec: Partitioned, month: date) -> bool:
    """Create the partition of `month` if missing; rows already in the default move into it."""
    table, column = _check(spec.table), _check(spec.column)
    name = partition_name(table, month)
    if name in partitions(table):
        return False
    low, high = _bound(month), _bound(month_start(month, 1))
    default = f"{table}_default"
    with transaction.atomic(), connection.cursor() as cursor:
        # CHECK constraints too: ATTACH refuses a table without the parent's.
        cursor.execute(f'CREATE TABLE "{name}" (LIKE "{table}" INCLUDING DEFAULTS '
                       f"INCLUDING CONSTRAINTS)")
        if default in partitions(table):
            # A default partition holding rows of this month would refuse the new partition.
            cursor.execute(f'LOCK TABLE "{default}" IN ACCESS EXCLUSIVE MODE')
            move = (f'WITH moved AS (DELETE FROM "{default}" WHERE "{column}" >= %s AND '  # noqa: S608
                    f'"{column}" < %s RETURNING *) INSERT INTO "{name}" SELECT * FROM moved')
            cursor.execute(move, [low, high])
        cursor.execute(f'ALTER TABLE "{table}" ATTACH PARTITION "{name}" '
                       f"FOR VALUES FROM (%s) TO (%s)", [low, high])
    return True


def drop_expired(spec: Partitioned, today: date) -> list[str]:
    """Drop the monthly partitions wholly older than the retention; returns their names.

    The default partition is never dropped (it holds the open sessions); expired rows that
    landed there (a month without a partition) are deleted from it instead.
    """
    if spec.keep_months <= 0:
        return []
    first_kept = month_start(today, -spec.keep_months)
    oldest_kept = partition_name(spec.table, first_kept)
    pattern = re.compile(rf"^{re.escape(spec.table)}_p\d{{6}}$")
    names = partitions(spec.table)
    dropped = [n for n in names if pattern.match(n) and n < oldest_kept]
    with transaction.atomic(), connection.cursor() as cursor:
        for name in dropped:
            cursor.execute(f'DROP TABLE "{_check(name)}"')
        default = f"{spec.table}_default"
        if default in names:  # NULL (an open session) is never < a bound: it stays
            cursor.execute(f'DELETE FROM "{default}" WHERE "{_check(spec.column)}" < %s',  # noqa: S608
                           [_bound(first_kept)])
            if cursor.rowcount:
                logger.info("Deleted %s expired rows from %s", cursor.rowcount, default)
    return dropped


def maintain(today: date | None = None) -> dict[str, dict]:
    """The periodic job: months ahead created, expired months dropped, per partitioned table."""
    today = today or timezone.now().date()
    done = {}
    for spec in tables():
        if not is_partitioned(spec.table):
            continue
        with connection.cursor() as cursor:  # one maintainer at a time per table
            cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))",
                           [f"partitions:{spec.table}"])
            if not cursor.fetchone()[0]:
                continue
            try:
                created = [partition_name(spec.table, month_start(today, shift))
                           for shift in range(spec.ahead + 1)
                           if ensure_month(spec, month_start(today, shift))]
                dropped = drop_expired(spec, today)
            finally:
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))",
                               [f"partitions:{spec.table}"])
        if created or dropped:
            logger.info("Partitions of %s: created %s, dropped %s", spec.table, created, dropped)
        done[spec.table] = {"created": created, "dropped": dropped}
    return done


def convert(spec: Partitioned, today: date | None = None) -> int:
    """Turn a plain table into one partitioned by month, keeping every row, id and index.

    One transaction under an exclusive lock: writers wait (the RADIUS server's log and
    accounting writers retry their batch), and a failure leaves the plain table as it was.
    Unique constraints move along (they include the partition column). Returns rows moved.
    """
    table, column = _check(spec.table), _check(spec.column)
    if is_partitioned(table):
        return 0
    today = today or timezone.now().date()
    old = f"{table}_unpartitioned"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
        cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE "
                       "conrelid = %s::regclass AND contype = 'u' ORDER BY conname", [table])
        uniques = cursor.fetchall()
        skip = {f"{table}_pkey"} | {name for name, _ in uniques}
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = "
                       "current_schema() AND tablename = %s", [table])
        indexes = [(n, d) for n, d in cursor.fetchall() if n not in skip]
        cursor.execute(f'SELECT min("{column}"), max("{column}"), '  # noqa: S608
                       f'coalesce(max(id), 0) FROM "{table}"')
        first, last, top_id = cursor.fetchone()
        cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{old}"')
        cursor.execute(f'ALTER TABLE "{old}" RENAME CONSTRAINT "{table}_pkey" TO "{old}_pkey"')
        for name, _ in indexes:
            cursor.execute(f'ALTER INDEX "{name}" RENAME TO "{name}_old"')
        for name, _ in uniques:  # renames the constraint's index with it
            cursor.execute(f'ALTER TABLE "{old}" RENAME CONSTRAINT "{name}" TO "{name}_old"')
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [old])
        sequence = cursor.fetchone()[0]
        if sequence:  # the identity's sequence goes with the old table; free its name
            cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO \"{old}_id_seq\"")
        # Ids keep coming from one sequence; the primary key must include the partition key.
        cursor.execute(f'CREATE TABLE "{table}" (LIKE "{old}" INCLUDING DEFAULTS '
                       f'INCLUDING CONSTRAINTS) PARTITION BY RANGE ("{column}")')
        cursor.execute(f'CREATE SEQUENCE "{table}_id_seq" OWNED BY "{table}".id')
        cursor.execute("SELECT setval(%s, %s, %s)", [f"{table}_id_seq", max(top_id, 1),
                                                      top_id > 0])
        cursor.execute(f"ALTER TABLE \"{table}\" ALTER COLUMN id SET DEFAULT "
                       f"nextval('{table}_id_seq')")
        if spec.nullable:  # a primary key column cannot be NULL
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_id_key" '
                           f'UNIQUE NULLS NOT DISTINCT (id, "{column}")')
        else:
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" '
                           f'PRIMARY KEY (id, "{column}")')
        for _name, definition in indexes:  # read before the rename: they name the new table
            cursor.execute(definition)
        for name, definition in uniques:  # each includes the partition column, or this fails
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{_check(name)}" {definition}')
        # The default partition takes the rows that are still updated (open sessions): it keeps
        # the table's storage options (free room per page for in-place updates).
        cursor.execute("SELECT array_to_string(reloptions, ', ') FROM pg_class "
                       "WHERE oid = %s::regclass", [old])
        options = cursor.fetchone()[0]
        storage = f" WITH ({options})" if options else ""
        cursor.execute(f'CREATE TABLE "{table}_default" PARTITION OF "{table}" DEFAULT{storage}')
        months = {month_start(today, shift) for shift in range(spec.ahead + 1)}
        if first is not None:
            month = month_start(timezone.localtime(first, UTC).date())
            end = month_start(timezone.localtime(last, UTC).date())
            while month <= end:
                months.add(month)
                month = month_start(month, 1)
        for month in sorted(months):
            cursor.execute(f'CREATE TABLE "{partition_name(table, month)}" PARTITION OF '
                           f'"{table}" FOR VALUES FROM (%s) TO (%s)',
                           [_bound(month), _bound(month_start(month, 1))])
        cursor.execute(f'INSERT INTO "{table}" SELECT * FROM "{old}"')  # noqa: S608
        moved = cursor.rowcount
        cursor.execute(f'DROP TABLE "{old}"')
    return moved
