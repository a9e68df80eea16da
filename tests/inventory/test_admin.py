"""The inventory pages: the technician rule, movement forms, low stock and valuation."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from modules.inventory import selectors, services
from modules.inventory.models import SerialUnit, StockLevel, StockMovement, Warehouse

MOVES = "/admin/inventory/stockmovement/"


def visible(model, user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return set(admin.site._registry[model].get_queryset(request))


@pytest.fixture
def van(stock):
    services.issue_to_technician(actor=stock.admin, source=stock.central,
                                 technician=stock.technician, product=stock.cable, quantity=50)
    services.issue_to_technician(actor=stock.admin, source=stock.central,
                                 technician=stock.technician, product=stock.ont,
                                 serial_unit=SerialUnit.objects.get(serial_number="ZTEG00000001"))
    return services.technician_location(stock.technician)


def test_technician_sees_only_its_own_stock(stock, van):
    tech = stock.technician
    assert selectors.is_confined_to_own_stock(tech)
    assert visible(Warehouse, tech) == {van}
    assert {lvl.warehouse for lvl in visible(StockLevel, tech)} == {van}
    assert {u.serial_number for u in visible(SerialUnit, tech)} == {"ZTEG00000001"}
    assert all(van in (m.source, m.destination) for m in visible(StockMovement, tech))
    assert len(visible(StockMovement, tech)) == 2


def test_technician_role_without_a_location_yet_sees_no_stock(stock):
    assert selectors.is_confined_to_own_stock(stock.technician)
    assert visible(StockLevel, stock.technician) == set()


def test_broader_inventory_permission_lifts_the_technician_rule(stock, van):
    admin_user = stock.admin  # holds every permission, including view_all_stock
    services.technician_location(admin_user)
    assert not selectors.is_confined_to_own_stock(admin_user)
    assert stock.central in visible(Warehouse, admin_user)


def test_technician_page_of_another_location_is_not_found(stock, van, client):
    own = StockLevel.objects.get(warehouse=van, product=stock.cable)
    store = StockLevel.objects.get(warehouse=stock.central, product=stock.cable)
    client.force_login(stock.technician)
    assert client.get(f"/admin/inventory/stocklevel/{own.pk}/change/").status_code == 200
    assert client.get(f"/admin/inventory/stocklevel/{store.pk}/change/").status_code == 404


def test_technician_cannot_install_from_a_store(stock, van):
    with pytest.raises(services.PermissionDenied):
        services.install_at_subscriber(actor=stock.technician, source=stock.central,
                                       subscriber=stock.subscriber, product=stock.cable)
    services.install_at_subscriber(actor=stock.technician, source=van,
                                   subscriber=stock.subscriber, product=stock.cable, quantity=3)


def test_partner_sees_its_subtree_stock_and_movements_into_it(stock):
    services.transfer(actor=stock.admin, source=stock.central, destination=stock.dist_store,
                      product=stock.cable, quantity=7)
    dist_user = stock.world.users["dist"]
    assert {lvl.warehouse for lvl in visible(StockLevel, dist_user)} == {stock.dist_store}
    assert [m.kind for m in visible(StockMovement, dist_user)] == ["transfer"]
    assert visible(StockLevel, stock.world.users["partner"]) == set()


def test_movement_form_posts_through_the_service(stock, client):
    client.force_login(stock.admin)
    assert client.get(f"{MOVES}transfer/").status_code == 200
    response = client.post(f"{MOVES}transfer/", {
        "source": stock.central.pk, "destination": stock.dist_store.pk,
        "product": stock.cable.pk, "quantity": 25, "note": "Branch opening"})
    assert response.status_code == 302
    moved = StockMovement.objects.get(kind="transfer")
    assert (moved.quantity, moved.actor, moved.note) == (25, stock.admin, "Branch opening")


def test_movement_form_by_serial_number_and_refusal_shown(stock, client):
    client.force_login(stock.admin)
    data = {"source": stock.central.pk, "subscriber": "asha.k", "serial_number": "ZTEG00000002",
            "quantity": 1, "reference": "FV-7"}
    assert client.post(f"{MOVES}install/", data).status_code == 302
    again = client.post(f"{MOVES}install/", data)
    assert again.status_code == 400
    assert b"installed at a subscriber" in again.content


def test_movement_form_refuses_location_outside_scope(stock, client):
    client.force_login(stock.world.users["partner"])
    response = client.post(f"{MOVES}transfer/", {
        "source": stock.central.pk, "destination": stock.partner_store.pk,
        "product": stock.cable.pk, "quantity": 1})
    assert response.status_code == 400
    assert StockLevel.objects.get(warehouse=stock.central, product=stock.cable).quantity == 500


def test_movement_pages_need_their_permission(stock, client):
    client.force_login(stock.technician)
    for page in ("receive", "transfer", "issue", "return", "install", "recover", "write-off",
                 "adjust"):
        assert client.get(f"{MOVES}{page}/").status_code == 403, page
        assert client.post(f"{MOVES}{page}/", {"quantity": 1}).status_code == 403, page


def test_receive_form_registers_serial_units(stock, client):
    client.force_login(stock.admin)
    response = client.post(f"{MOVES}receive/", {
        "warehouse": stock.central.pk, "product": stock.ont.pk, "quantity": 1,
        "serial_numbers": "HW-1,AA:00:00:00:00:01\nHW-2\n", "reference": "PO-55"})
    assert response.status_code == 302
    assert StockLevel.objects.get(warehouse=stock.central, product=stock.ont).quantity == 7


def test_journal_and_levels_are_read_only_in_the_admin(stock, client):
    client.force_login(stock.admin)
    level = StockLevel.objects.first()
    entry = StockMovement.objects.first()
    assert client.get("/admin/inventory/stocklevel/add/").status_code == 403
    assert client.post(f"/admin/inventory/stockmovement/{entry.pk}/delete/",
                       {"post": "yes"}).status_code == 403
    assert client.post(f"/admin/inventory/stocklevel/{level.pk}/change/",
                       {"quantity": 9999}).status_code == 403


def test_low_stock_lists_products_under_reorder_level_including_never_stocked(stock, client):
    services.transfer(actor=stock.admin, source=stock.central, destination=stock.dist_store,
                      product=stock.cable, quantity=30)
    low = {p.sku: (p.on_hand, p.shortfall) for p in selectors.low_stock(stock.dist_store)}
    assert low == {stock.cable.sku: (30, 70), stock.ont.sku: (0, 5)}
    assert selectors.low_stock(stock.central).count() == 0
    client.force_login(stock.admin)
    page = client.get(f"/admin/inventory/warehouse/{stock.dist_store.pk}/reorder/")
    assert page.status_code == 200 and stock.cable.sku.encode() in page.content
    flagged = client.get("/admin/inventory/stocklevel/?low=yes")
    assert list(flagged.context["cl"].result_list) == [
        StockLevel.objects.get(warehouse=stock.dist_store, product=stock.cable)]


def test_valuation_per_location_with_totals(stock, client, django_assert_max_num_queries):
    services.transfer(actor=stock.admin, source=stock.central, destination=stock.dist_store,
                      product=stock.cable, quantity=100)
    rows, totals = selectors.valuation(Warehouse.objects.all())
    by_code = {r["warehouse"].code: r["value"] for r in rows}
    assert by_code["central"] == 400 * stock.cable.purchase_price + 5 * stock.ont.purchase_price
    assert by_code["dist-store"] == 100 * stock.cable.purchase_price
    assert totals["value"] == by_code["central"] + by_code["dist-store"]
    client.force_login(stock.world.users["dist"])
    with django_assert_max_num_queries(15):
        page = client.get("/admin/inventory/warehouse/valuation/")
    assert page.status_code == 200
    assert b"Distributor store" in page.content and b"Central store" not in page.content


def test_subscribers_page_shows_installed_equipment_and_its_history(stock, client):
    ont = SerialUnit.objects.get(serial_number="ZTEG00000002")
    services.install_at_subscriber(actor=stock.admin, source=stock.central,
                                   subscriber=stock.subscriber, product=stock.ont,
                                   serial_unit=ont, reference="T-000042")
    services.install_at_subscriber(actor=stock.admin, source=stock.central,
                                   subscriber=stock.subscriber, product=stock.cable, quantity=35)
    assert [(i.product, i.quantity) for i in selectors.installed_equipment(stock.subscriber)] == [
        (stock.ont, 1), (stock.cable, 35)]
    client.force_login(stock.admin)
    page = client.get(f"/admin/subscribers/subscriber/{stock.subscriber.pk}/change/")
    assert page.status_code == 200
    tabs = {f.formset.prefix: f for f in page.context["inline_admin_formsets"]}
    assert [u.serial_number for u in tabs["equipment"].formset.queryset] == ["ZTEG00000002"]
    assert {m.reference for m in tabs["stock_movements"].formset.queryset} == {"T-000042", ""}
    assert b"ZTEG00000002" in page.content
    # The add form carries no equipment tabs (nothing is installed at a new subscriber).
    add = client.get("/admin/subscribers/subscriber/add/")
    assert not {"equipment", "stock_movements"} & {
        f.formset.prefix for f in add.context["inline_admin_formsets"]}
