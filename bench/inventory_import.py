"""Benchmark: CSV import of 50,000 serialized units (dry run, then confirm) and their export.

Runs the same path as the admin's import page (SerialUnitResource.import_data in one
transaction, rollback on any row error) against the database of DATABASE_URL. Each run uses a
fresh tenant, so it can be repeated. Writes its figures to the "Inventory" section of
BENCHMARKS.md (other sections are kept) and prints them.

    DATABASE_URL=postgres://... .venv/bin/python bench/inventory_import.py [rows]
"""

import os
import platform
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import tablib  # noqa: E402
from django.db import connection  # noqa: E402

from modules.core.models import User  # noqa: E402
from modules.core.services import create_portal_user, create_tenant  # noqa: E402
from modules.inventory import selectors  # noqa: E402
from modules.inventory.models import Product, SerialUnit, StockLevel, Warehouse  # noqa: E402
from modules.inventory.resources import SerialUnitResource  # noqa: E402


def main(rows: int) -> None:
    tag = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    tenant = create_tenant(name=f"Bench {tag}", slug=f"bench-inv-{tag}")
    root = tenant.root
    user = create_portal_user(username=f"bench-inv-{tag}", password="x" * 16, organization=root,
                              kind=User.Kind.ISP_ADMIN)
    user.is_superuser = True
    user.save()
    Product.objects.create(organization=root, sku="ONT-XPON", name="XPON ONT", category="ont",
                           is_serialized=True, purchase_price="1450.00")
    for code in ("central", "north", "south", "east"):
        Warehouse.objects.create(organization=root, code=code, name=f"{code.title()} store")
    codes = ["central", "north", "south", "east"]
    csv = tablib.Dataset(headers=["serial_number", "mac_address", "sku", "location"])
    for i in range(rows):
        csv.append((f"ZTEG{tag[-6:]}{i:08d}", f"02:{i >> 24 & 255:02X}:{i >> 16 & 255:02X}:"
                    f"{i >> 8 & 255:02X}:{i & 255:02X}:01", "ONT-XPON", codes[i % 4]))
    data = tablib.Dataset().load(csv.export("csv"), format="csv")

    timings, cpu = {}, {}
    for label, dry_run in (("dry run", True), ("confirm", False)):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = SerialUnitResource(user=user).import_data(
            data, dry_run=dry_run, user=user, use_transactions=True,
            rollback_on_validation_errors=True, file_name="bench.csv")
        timings[label] = time.perf_counter() - started
        cpu[label] = time.process_time() - started_cpu
        assert not result.has_errors() and not result.has_validation_errors(), label
    units = SerialUnit.objects.filter(tenant=tenant)
    assert units.count() == rows
    assert sum(StockLevel.objects.filter(warehouse__tenant=tenant)
               .values_list("quantity", flat=True)) == rows
    assert selectors.levels_out_of_balance() == []

    started, started_cpu = time.perf_counter(), time.process_time()
    exported = SerialUnitResource(user=user).export(
        units.select_related("product", "warehouse", "subscriber"))
    exported.export("csv")
    timings["export (CSV)"] = time.perf_counter() - started
    cpu["export (CSV)"] = time.process_time() - started_cpu
    load = os.getloadavg()[0]

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    lines = [
        "## Inventory", "",
        f"### Import of {rows:,} serialized units", "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} CPUs "
        f"(shared with other work), Python {platform.python_version()}, PostgreSQL {pg}. "
        "`bench/inventory_import.py`: SerialUnitResource (the admin's import path), one "
        "transaction, per-row checks (serial/MAC unique, SKU and location in scope), bulk "
        "insert of units and journal entries, levels locked and updated once. Afterwards "
        "every level equals the sum of its journal. Load average at the end of the run: "
        f"{load:.1f}; CPU seconds are those of the benchmark process (the Django side), the "
        "wall-clock time includes PostgreSQL and waiting for a CPU.", "",
        "| Pass | Seconds (wall) | Rows/s (wall) | CPU seconds | Rows/CPU-s |",
        "|---|---:|---:|---:|---:|",
        *(f"| {label} | {seconds:.1f} | {rows / seconds:,.0f} | {cpu[label]:.1f} | "
          f"{rows / cpu[label]:,.0f} |" for label, seconds in timings.items()),
    ]
    section = "\n".join(lines) + "\n"
    write_section(section)
    print(section)


def write_section(section: str, path: Path = ROOT / "BENCHMARKS.md") -> None:
    """Replace this module's `## Inventory` section of BENCHMARKS.md, keeping the others."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Inventory\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
