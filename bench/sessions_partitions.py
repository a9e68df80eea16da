"""Benchmark: RADIUS accounting on the plain sessions table and on one partitioned by month.

Fills `networking_radiussession` with closed sessions spread over 14 months plus open ones
(SQL `generate_series`), times accounting batches through `store_batch` (Interim-Updates of
open sessions, Stops that close them, Starts of new ones), converts the table with
`partition_tables`' `convert()`, times the same batches again, then the upkeep that adds a
month (it scans the open sessions' partition) and drops expired months. Writes the "Sessions
partitioning" section of BENCHMARKS.md (other sections are kept) and prints it.

    DATABASE_URL=postgres://.../isp_sessions_bench .venv/bin/python bench/sessions_partitions.py \
        [closed] [open]

Defaults: 300,000 closed and 20,000 open sessions (a few minutes on a loaded 2-CPU machine).
The database must be migrated and is emptied of sessions first.
"""

import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from modules.networking import accounting  # noqa: E402
from modules.networking.accounting import AcctRecord  # noqa: E402
from modules.ops import partitions  # noqa: E402

TABLE = "networking_radiussession"
BATCH = 500
RUNS = 5


def fill(closed: int, open_: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLE}")
        common = ("session_id, username, nas_ip, nas_port_id, calling_station_id, "
                  "called_station_id, delegated_ipv6_prefix, started_at, updated_at, stopped_at, "
                  "session_time, input_octets, output_octets, terminate_cause, throttled, "
                  "last_coa_kind, last_coa_result, last_coa_error")
        cursor.execute(
            f"INSERT INTO {TABLE} (unique_id, {common}) SELECT md5('c' || g), 'c' || g, "  # noqa: S608
            "'user' || (g %% 50000), '10.0.0.1', '', '', '', '', "
            "now() - (g %% 420) * interval '1 day' - interval '2 hours', "
            "now() - (g %% 420) * interval '1 day', now() - (g %% 420) * interval '1 day', "
            "7200, g, g, 'User-Request', false, '', '', '' FROM generate_series(1, %s) g",
            [closed])
        cursor.execute(
            f"INSERT INTO {TABLE} (unique_id, {common}) SELECT md5('o' || g), 'o' || g, "  # noqa: S608
            "'user' || g, '10.0.0.1', '', '', '', '', now() - interval '1 hour', now(), NULL, "
            "0, 0, 0, '', false, '', '', '' FROM generate_series(1, %s) g", [open_])
        cursor.execute(f"ANALYZE {TABLE}")


def records(status: str, prefix: str, first: int, octets: int) -> list[AcctRecord]:
    now = timezone.now()
    return [AcctRecord(status=status, unique_id=_md5(f"{prefix}{n}"), session_id=f"{prefix}{n}",
                       username=f"user{n}", tenant_id=0, nas_id=None, nas_org_id=None,
                       nas_ip="10.0.0.1", event_time=now, session_time=3600,
                       input_octets=octets, output_octets=octets,
                       terminate_cause="User-Request" if status == "Stop" else "")
            for n in range(first, first + BATCH)]


def _md5(text: str) -> str:
    import hashlib

    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def batches(open_: int, round_: int) -> dict[str, float]:
    """Median ms per batch of BATCH records, over RUNS batches of each kind."""
    interim = [timed(lambda r=r: accounting.store_batch(
        records("Interim-Update", "o", 1 + (r * BATCH) % (open_ // 2), 1000 * (round_ * 10 + r))))
        for r in range(RUNS)]
    base = open_ // 2 + 1 + round_ * RUNS * BATCH  # Stops close sessions no other run uses
    stop = [timed(lambda r=r: accounting.store_batch(
        records("Stop", "o", base + r * BATCH, 10**9))) for r in range(RUNS)]
    start = [timed(lambda r=r: accounting.store_batch(
        records("Start", f"n{round_}-", r * BATCH, 0))) for r in range(RUNS)]
    return {"Interim-Update": statistics.median(interim), "Stop": statistics.median(stop),
            "Start": statistics.median(start)}


def main(closed: int, open_: int) -> None:
    spec = next(s for s in partitions.tables() if s.table == TABLE)
    if partitions.is_partitioned(TABLE):
        sys.exit(f"{TABLE} is partitioned already: use a freshly migrated database")
    load = os.getloadavg()
    fill(closed, open_)
    plain = batches(open_, 0)
    convert_ms = timed(lambda: partitions.convert(spec))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}")
    parted = batches(open_, 1)
    ahead = partitions.month_start(timezone.now().date(), 1)
    upkeep_ms = timed(lambda: partitions.maintain(today=ahead))  # one new month, one dropped
    names = partitions.partitions(TABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {TABLE}_default")  # noqa: S608
        in_default = cursor.fetchone()[0]
    load_after = os.getloadavg()
    lines = [
        "## Sessions partitioning",
        "",
        f"`bench/sessions_partitions.py {closed} {open_}` on {timezone.now():%Y-%m-%d}: "
        f"{closed:,} closed sessions over 14 months and {open_:,} open ones; batches of "
        f"{BATCH} records through `accounting.store_batch` (median of {RUNS}; usernames "
        "unknown, so only session rows are written). Load average "
        f"{load[0]:.1f} before, {load_after[0]:.1f} after (2 CPUs, shared with other work).",
        "",
        "| batch of 500 | plain table | partitioned by month |",
        "|---|---|---|",
        *(f"| {kind} | {plain[kind]:.0f} ms | {parted[kind]:.0f} ms |" for kind in plain),
        "",
        f"- Conversion (`partition_tables --convert`, one transaction): {convert_ms / 1000:.1f} s "
        f"for {closed + open_:,} rows; {len(names)} partitions after upkeep, "
        f"{in_default:,} rows in `_default` (the open sessions).",
        f"- Upkeep adding one month (scans `_default`) and dropping the expired one: "
        f"{upkeep_ms:.0f} ms.",
        "- Interim-Updates and Stops lock their sessions in `_default` only; a Start (an id "
        "not open yet) is also looked up in every month's index before it is inserted, "
        "which is what the partitioned Start batch pays for.",
        "",
    ]
    section = "\n".join(lines)
    write_section(section)
    print(section)


def write_section(section: str, path: Path = ROOT / "BENCHMARKS.md") -> None:
    """Replace the `## Sessions partitioning` section of BENCHMARKS.md, keeping the others."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Sessions partitioning\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n")


if __name__ == "__main__":
    sizes = [int(a) for a in sys.argv[1:3]]
    main(*(sizes + [300_000, 20_000][len(sizes):]))
