"""deploy/backup: a dump taken from one database restores into another, row for row."""

import os
import subprocess
import time
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "backup"
SERVER = "postgres://postgres@127.0.0.1:5432"


def admin(sql: str) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def scratch():
    """Names of scratch databases on the local server, dropped afterwards."""
    names = []

    def make(create=True):
        name = f"isp_ops_scratch_{uuid.uuid4().hex[:10]}"
        names.append(name)
        if create:
            admin(f'CREATE DATABASE "{name}"')
        return name

    yield make
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        for name in names:
            kept = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                [f"{name}_replaced_%"]).fetchall()
            for (db,) in [*kept, (name,)]:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def run(script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(DEPLOY / script), *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **env})


def fill(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE payment (id bigint, subscriber text NOT NULL,"
                     " amount numeric(12, 2) NOT NULL, paid_on date NOT NULL,"
                     " PRIMARY KEY (id, paid_on))"
                     " PARTITION BY RANGE (paid_on)")
        conn.execute("CREATE TABLE payment_2026_11 PARTITION OF payment"
                     " FOR VALUES FROM ('2026-11-01') TO ('2026-12-01')")
        conn.execute("INSERT INTO payment SELECT n, 'sub-' || n, n * 1.25, '2026-11-15'"
                     " FROM generate_series(1, 500) AS n")


def payments(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT id, subscriber, amount FROM payment ORDER BY id").fetchall()


def test_backup_then_restore_into_a_new_database_keeps_every_row(scratch, tmp_path):
    source, target = f"{SERVER}/{scratch()}", f"{SERVER}/{scratch(create=False)}"
    fill(source)

    backup = run("pg_backup.sh", source, BACKUP_DIR=str(tmp_path))
    assert backup.returncode == 0, backup.stderr
    (dump,) = tmp_path.glob("*.dump")
    assert dump.read_bytes()[:5] == b"PGDMP"  # custom format
    assert (tmp_path / f"{dump.name}.sha256").exists()
    assert not list(tmp_path.glob(".*partial"))

    restore = run("pg_restore.sh", str(dump), target)
    assert restore.returncode == 0, restore.stderr

    rows = payments(target)
    assert rows == payments(source)
    assert len(rows) == 500 and rows[-1][2] == Decimal("625.00")


def test_restore_refuses_a_database_that_has_tables_unless_told_to_replace(scratch, tmp_path):
    source, target = f"{SERVER}/{scratch()}", f"{SERVER}/{scratch()}"
    fill(source)
    fill(target)
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute("DELETE FROM payment WHERE id > 10")
    assert run("pg_backup.sh", source, BACKUP_DIR=str(tmp_path)).returncode == 0
    (dump,) = tmp_path.glob("*.dump")

    refused = run("pg_restore.sh", str(dump), target)
    assert refused.returncode == 3
    assert len(payments(target)) == 10

    replaced = run("pg_restore.sh", str(dump), target, RESTORE_REPLACE="1")
    assert replaced.returncode == 0, replaced.stderr
    assert len(payments(target)) == 500
    previous = replaced.stdout.split("kept as ")[1].strip()
    assert len(payments(f"{SERVER}/{previous}")) == 10  # kept for a rollback


def test_a_corrupted_dump_is_never_restored(scratch, tmp_path):
    source, target = f"{SERVER}/{scratch()}", f"{SERVER}/{scratch(create=False)}"
    fill(source)
    assert run("pg_backup.sh", source, BACKUP_DIR=str(tmp_path)).returncode == 0
    (dump,) = tmp_path.glob("*.dump")
    dump.write_bytes(dump.read_bytes()[:-40] + b"\0" * 40)

    assert run("pg_restore.sh", str(dump), target).returncode != 0


def test_retention_drops_old_dumps_but_keeps_the_newest_ones(scratch, tmp_path):
    name = scratch()
    fill(f"{SERVER}/{name}")
    month_ago = time.time() - 30 * 86400
    old = []
    for day in range(1, 6):
        path = tmp_path / f"{name}-202610{day:02d}T023000Z.dump"
        path.write_bytes(b"PGDMP")
        os.utime(path, (month_ago + day, month_ago + day))
        old.append(path)
    other_database = tmp_path / "another-20261001T023000Z.dump"
    other_database.write_bytes(b"PGDMP")
    os.utime(other_database, (month_ago, month_ago))

    result = run("pg_backup.sh", f"{SERVER}/{name}", BACKUP_DIR=str(tmp_path),
                 BACKUP_KEEP_DAYS="14", BACKUP_KEEP_MIN="3")

    assert result.returncode == 0, result.stderr
    kept = sorted(p.name for p in tmp_path.glob(f"{name}-*.dump"))
    assert len(kept) == 3  # today's and the two newest old ones
    assert kept[:2] == [old[3].name, old[4].name]
    assert other_database.exists()  # retention looks at its own database only
