"""Benchmark: CSV import of 50,000 serialized units (dry run, then confirm) and their export.

Runs the same path as the admin's import page (SerialUnitResource.import_data in one
transaction, rollback on any row error) against the database of DATABASE_URL. Each run uses a
fresh tenant, so it can be repeated. Prints a Markdown section for BENCHMARKS.md.

    DATABASE_URL=postgres://... .venv/bin/python bench/inventory_import.py [rows]
"""

import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

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

    timings = {}
    for label, dry_run in (("dry run", True), ("confirm", False)):
        started = time.perf_counter()
        result = SerialUnitResource(user=user).import_data(
            data, dry_run=dry_run, user=user, use_transactions=True,
            rollback_on_validation_errors=True, file_name="bench.csv")
        timings[label] = time.perf_counter() - started
        assert not result.has_errors() and not result.has_validation_errors(), label
    units = SerialUnit.objects.filter(tenant=tenant)
    assert units.count() == rows
    assert sum(StockLevel.objects.filter(warehouse__tenant=tenant)
               .values_list("quantity", flat=True)) == rows
    assert selectors.levels_out_of_balance() == []

    started = time.perf_counter()
    exported = SerialUnitResource(user=user).export(
        units.select_related("product", "warehouse", "subscriber"))
    exported.export("csv")
    timings["export (CSV)"] = time.perf_counter() - started

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    print(f"\n## Inventory: import of {rows:,} serialized units\n")
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} CPUs "
          f"(shared with other work), Python {platform.python_version()}, PostgreSQL {pg}. "
          "`bench/inventory_import.py`: SerialUnitResource (the admin's import path), one "
          "transaction, per-row checks (serial/MAC unique, SKU and location in scope), bulk "
          "insert of units and journal entries, levels locked and updated once.\n")
    print("| Pass | Seconds | Rows/s |\n|---|---:|---:|")
    for label, seconds in timings.items():
        print(f"| {label} | {seconds:.1f} | {rows / seconds:,.0f} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
