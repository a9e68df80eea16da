"""Bulk CSV/XLSX: products, opening stock and serial units; dry run, all or nothing, scope."""

import io

import pytest
import tablib
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from modules.inventory import selectors
from modules.inventory.models import Product, SerialUnit, StockLevel, StockMovement
from modules.inventory.resources import (
    OpeningStockResource,
    ProductResource,
    SerialUnitResource,
    StockLevelResource,
)


def dataset(headers, *rows):
    return tablib.Dataset(*rows, headers=headers)


def run(resource_class, user, data, dry_run=False):
    return resource_class(user=user).import_data(
        data, dry_run=dry_run, user=user, use_transactions=True,
        rollback_on_validation_errors=True, file_name="upload.csv")


def row_errors(result):
    return {row.number: {field: [str(m) for m in msgs] for field, msgs in
                         row.error.message_dict.items()} for row in result.invalid_rows}


UNITS = ["serial_number", "mac_address", "sku", "location"]


def test_serial_unit_import_creates_units_journal_and_levels(stock):
    data = dataset(UNITS, ("HW0001", "aa:bb:cc:00:00:01", stock.ont.sku, "central"),
                   ("HW0002", "", stock.ont.sku.lower(), "DIST-STORE"))
    result = run(SerialUnitResource, stock.admin, data)
    assert not result.has_errors() and not result.has_validation_errors()
    assert SerialUnit.objects.get(serial_number="HW0002").warehouse == stock.dist_store
    assert StockMovement.objects.filter(serial_unit__serial_number__startswith="HW",
                                        reference="Import upload.csv").count() == 2
    assert StockLevel.objects.get(warehouse=stock.central, product=stock.ont).quantity == 6
    assert selectors.levels_out_of_balance() == []


def test_dry_run_reports_each_bad_row_and_writes_nothing(stock):
    data = dataset(UNITS,
                   ("OK-1", "", stock.ont.sku, "central"),
                   ("ZTEG00000001", "", stock.ont.sku, "central"),   # already registered
                   ("OK-2", "", "NO-SUCH-SKU", "central"),           # unknown product
                   ("OK-3", "", stock.ont.sku, "pp-x"),              # unknown location
                   ("OK-1", "not-a-mac", stock.ont.sku, "central"))  # repeated serial, bad MAC
    before = SerialUnit.objects.count()
    result = run(SerialUnitResource, stock.admin, data, dry_run=True)
    errors = row_errors(result)
    assert set(errors) == {2, 3, 4, 5}
    assert "already registered" in errors[2]["serial_number"][0]
    assert "Unknown SKU 'NO-SUCH-SKU'" in errors[3]["product"][0]
    assert "Unknown location" in errors[4]["warehouse"][0]
    assert set(errors[5]) == {"serial_number", "mac_address"}
    assert SerialUnit.objects.count() == before


def test_import_is_all_or_nothing(stock):
    data = dataset(UNITS, ("GOOD-1", "", stock.ont.sku, "central"),
                   ("GOOD-2", "", "NO-SUCH-SKU", "central"))
    result = run(SerialUnitResource, stock.admin, data)
    assert result.has_validation_errors()
    assert not SerialUnit.objects.filter(serial_number="GOOD-1").exists()
    assert StockLevel.objects.get(warehouse=stock.central, product=stock.ont).quantity == 5


def test_partner_imports_only_into_its_own_locations(stock):
    partner = stock.world.users["partner"]
    data = dataset(UNITS, ("P-1", "", stock.ont.sku, "pp"), ("P-2", "", stock.ont.sku, "central"))
    errors = row_errors(run(SerialUnitResource, partner, data, dry_run=True))
    assert list(errors) == [2] and "Unknown location 'central'" in errors[2]["warehouse"][0]
    result = run(SerialUnitResource, partner, dataset(UNITS, ("P-1", "", stock.ont.sku, "pp")))
    assert not result.has_validation_errors()
    assert SerialUnit.objects.get(serial_number="P-1").organization == stock.world.orgs["partner"]


def test_opening_stock_import_receives_through_the_journal(stock):
    data = dataset(["location", "sku", "quantity", "reference"],
                   ("dist-store", stock.cable.sku, "300", "Opening 2026"),
                   ("central", stock.cable.sku, "20", ""))
    result = run(OpeningStockResource, stock.admin, data)
    assert not result.has_validation_errors(), row_errors(result)
    assert StockLevel.objects.get(warehouse=stock.dist_store, product=stock.cable).quantity == 300
    assert StockMovement.objects.filter(kind="receive", reference="Opening stock").count() == 1
    assert selectors.levels_out_of_balance() == []


def test_opening_stock_refuses_negative_unknown_and_serialized(stock):
    data = dataset(["location", "sku", "quantity", "reference"],
                   ("central", stock.cable.sku, "-4", ""),
                   ("central", "GHOST", "4", ""),
                   ("central", stock.ont.sku, "4", ""))
    errors = row_errors(run(OpeningStockResource, stock.admin, data))
    assert set(errors) == {1, 2, 3}
    assert "positive" in str(errors[1])
    assert StockLevel.objects.get(warehouse=stock.central, product=stock.cable).quantity == 500


def test_product_import_creates_and_updates_by_sku(stock):
    data = dataset(["sku", "name", "category", "unit", "is_serialized", "purchase_price",
                    "sale_price", "reorder_level", "is_active", "organization", "tax_class"],
                   ("rtr-ax3000", "Wi-Fi 6 router AX3000", "Router / CPE", "piece", "1",
                    "2100.00", "2999.00", "10", "1", "", ""),
                   (stock.cable.sku, "Drop cable 2F", "cable", "metre", "0", "11.00", "20.00",
                    "150", "1", "", ""))
    result = run(ProductResource, stock.admin, data)
    assert not result.has_validation_errors(), row_errors(result)
    router = Product.objects.get(sku="RTR-AX3000")
    assert (router.category, router.is_serialized, router.organization) == (
        "router", True, stock.world.orgs["root"])
    stock.cable.refresh_from_db()
    assert (stock.cable.name, stock.cable.reorder_level) == ("Drop cable 2F", 150)


def test_partner_cannot_overwrite_the_isps_products(stock):
    data = dataset(["sku", "name", "category", "unit"], (stock.cable.sku, "Hijacked", "cable",
                                                         "metre"))
    errors = row_errors(run(ProductResource, stock.world.users["partner"], data))
    assert "already used" in errors[1]["sku"][0]
    stock.cable.refresh_from_db()
    assert stock.cable.name != "Hijacked"


def test_stock_level_export_is_scoped_and_valued(stock, rf):
    from django.contrib import admin

    request = rf.get("/admin/")
    request.user = stock.world.users["partner"]
    model_admin = admin.site._registry[StockLevel]
    assert model_admin.get_export_queryset(request).count() == 0
    request.user = stock.admin
    exported = StockLevelResource().export(model_admin.get_export_queryset(request))
    row = dict(zip(exported.headers, exported[0]))
    assert row["location"] == "central" and row["value"] == 500 * stock.cable.purchase_price


def _upload(client, url, content):
    page = client.post(f"{url}import/", {
        "import_file": SimpleUploadedFile("units.csv", content.encode()),
        "format": "0", "resource": "0"})
    return page


def test_admin_import_dry_run_then_confirm(stock, client):
    client.force_login(stock.admin)
    csv = f"serial_number,mac_address,sku,location\nADM-1,,{stock.ont.sku},central\n"
    preview = _upload(client, "/admin/inventory/serialunit/", csv)
    assert preview.status_code == 200
    assert not SerialUnit.objects.filter(serial_number="ADM-1").exists()
    confirm = preview.context["confirm_form"]
    assert confirm is not None
    done = client.post("/admin/inventory/serialunit/process_import/", confirm.initial)
    assert done.status_code == 302
    assert SerialUnit.objects.get(serial_number="ADM-1").status == "in_stock"


def test_admin_import_shows_row_errors_and_offers_no_confirm(stock, client):
    client.force_login(stock.admin)
    preview = _upload(client, "/admin/inventory/serialunit/",
                      "serial_number,mac_address,sku,location\nX-1,,GHOST,central\n")
    assert preview.status_code == 200 and b"Unknown SKU" in preview.content
    assert "confirm_form" not in preview.context


def test_import_needs_the_import_permission(stock, client):
    client.force_login(stock.technician)
    assert client.get("/admin/inventory/serialunit/import/").status_code == 403
    stock.technician_role = stock.technician.roles.get()
    stock.technician_role.permissions.add(Permission.objects.get(codename="export_serialunit"))
    assert client.get("/admin/inventory/serialunit/import/").status_code == 403


@pytest.mark.parametrize("fmt", ["xlsx"])
def test_xlsx_is_accepted(stock, fmt):
    data = dataset(UNITS, ("XL-1", "", stock.ont.sku, "central"))
    data = tablib.Dataset().load(io.BytesIO(data.export(fmt)).read(), format=fmt)
    assert not run(SerialUnitResource, stock.admin, data).has_validation_errors()
