"""Every movement type, and the rules that refuse a movement."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction

from modules.inventory import selectors, services
from modules.inventory.models import SerialUnit, StockLevel, StockMovement
from modules.inventory.services import InventoryError
from tests.inventory import samples

Kind = StockMovement.Kind


def on_hand(warehouse, product):
    level = StockLevel.objects.filter(warehouse=warehouse, product=product).first()
    return level.quantity if level else 0


def unit(serial):
    return SerialUnit.objects.get(serial_number=serial)


@pytest.fixture(autouse=True)
def _levels_always_equal_the_journal(request, db):
    yield
    if "stock" in request.fixturenames:
        assert selectors.levels_out_of_balance() == []


def test_receive_records_supplier_reference_who_and_why(stock):
    moved = services.receive(actor=stock.admin, warehouse=stock.central, product=stock.cable,
                             quantity=250, reference="SUP-77", note="Monthly order")
    assert (moved.kind, moved.quantity, moved.reference, moved.note) == (
        Kind.RECEIVE, 250, "SUP-77", "Monthly order")
    assert moved.actor == stock.admin and moved.created_at is not None
    assert on_hand(stock.central, stock.cable) == 750


def test_receive_units_registers_each_unit_in_stock_with_its_history(stock):
    units = services.receive_units(actor=stock.admin, warehouse=stock.central, product=stock.ont,
                                   units=[("HWTC0001", "aa-bb-cc-dd-ee-01")], reference="PO-9")
    fresh = unit("HWTC0001")
    assert fresh.pk == units[0].pk and fresh.mac_address == "AA:BB:CC:DD:EE:01"
    assert (fresh.status, fresh.warehouse) == (SerialUnit.Status.IN_STOCK, stock.central)
    assert on_hand(stock.central, stock.ont) == 6
    assert list(fresh.movements.values_list("kind", "reference")) == [(Kind.RECEIVE, "PO-9")]


def test_transfer_moves_stock_between_organizations_stores(stock):
    services.transfer(actor=stock.admin, source=stock.central, destination=stock.dist_store,
                      product=stock.cable, quantity=120, note="For the Kothrud build-out")
    assert on_hand(stock.central, stock.cable) == 380
    assert on_hand(stock.dist_store, stock.cable) == 120


def test_transfer_of_a_unit_moves_it_and_its_owner(stock):
    ont = unit("ZTEG00000001")
    services.transfer(actor=stock.admin, source=stock.central, destination=stock.partner_store,
                      product=stock.ont, serial_unit=ont)
    ont.refresh_from_db()
    assert ont.warehouse == stock.partner_store
    assert ont.organization == stock.world.orgs["partner"]
    assert on_hand(stock.partner_store, stock.ont) == 1


def test_issue_to_technician_creates_its_personal_location(stock):
    services.issue_to_technician(actor=stock.admin, source=stock.central,
                                 technician=stock.technician, product=stock.cable, quantity=40)
    location = services.technician_location(stock.technician)
    assert location.kind == "technician" and location.technician == stock.technician
    assert on_hand(location, stock.cable) == 40
    assert services.technician_location(stock.technician) == location


def test_return_from_technician_back_to_store(stock):
    services.issue_to_technician(actor=stock.admin, source=stock.central,
                                 technician=stock.technician, product=stock.cable, quantity=40)
    services.return_from_technician(actor=stock.admin, technician=stock.technician,
                                    destination=stock.central, product=stock.cable, quantity=15)
    assert on_hand(services.technician_location(stock.technician), stock.cable) == 25
    assert on_hand(stock.central, stock.cable) == 475


def test_install_from_technician_stock_at_subscriber(stock):
    ont = unit("ZTEG00000002")
    services.issue_to_technician(actor=stock.admin, source=stock.central,
                                 technician=stock.technician, product=stock.ont, serial_unit=ont)
    services.issue_to_technician(actor=stock.admin, source=stock.central,
                                 technician=stock.technician, product=stock.cable, quantity=60)
    van = services.technician_location(stock.technician)
    services.install_at_subscriber(actor=stock.technician, source=van,
                                   subscriber=stock.subscriber, product=stock.ont,
                                   serial_unit=ont, reference="FV-101")
    services.install_at_subscriber(actor=stock.technician, source=van,
                                   subscriber=stock.subscriber, product=stock.cable, quantity=35,
                                   reference="FV-101")
    ont.refresh_from_db()
    assert (ont.status, ont.subscriber, ont.warehouse) == ("installed", stock.subscriber, None)
    assert ont.organization == stock.subscriber.organization
    assert on_hand(van, stock.cable) == 25 and on_hand(van, stock.ont) == 0
    installed = selectors.installed_equipment(stock.subscriber)
    assert [(i.product, i.quantity, i.serial_unit) for i in installed] == [
        (stock.ont, 1, ont), (stock.cable, 35, None)]


def test_install_directly_from_a_store(stock):
    services.install_at_subscriber(actor=stock.admin, source=stock.central,
                                   subscriber=stock.subscriber, product=stock.cable, quantity=10)
    assert on_hand(stock.central, stock.cable) == 490


def test_recover_from_subscriber(stock):
    ont = unit("ZTEG00000003")
    services.install_at_subscriber(actor=stock.admin, source=stock.central,
                                   subscriber=stock.subscriber, product=stock.ont, serial_unit=ont)
    services.install_at_subscriber(actor=stock.admin, source=stock.central,
                                   subscriber=stock.subscriber, product=stock.cable, quantity=30)
    services.recover_from_subscriber(actor=stock.admin, subscriber=stock.subscriber,
                                     destination=stock.central, product=stock.ont,
                                     serial_unit=ont, note="Connection terminated")
    services.recover_from_subscriber(actor=stock.admin, subscriber=stock.subscriber,
                                     destination=stock.central, product=stock.cable, quantity=20)
    ont.refresh_from_db()
    assert (ont.status, ont.warehouse, ont.subscriber) == ("in_stock", stock.central, None)
    assert [(i.product, i.quantity) for i in selectors.installed_equipment(stock.subscriber)] == [
        (stock.cable, 10)]
    assert [m.kind for m in ont.movements.order_by("id")] == [Kind.RECEIVE, Kind.INSTALL,
                                                               Kind.RECOVER]


def test_write_off_with_reason(stock):
    ont = unit("ZTEG00000004")
    services.write_off(actor=stock.admin, source=stock.central, product=stock.ont,
                       serial_unit=ont, reason="damaged", note="Dropped from the ladder")
    services.write_off(actor=stock.admin, source=stock.central, product=stock.cable, quantity=5,
                       reason="lost")
    ont.refresh_from_db()
    assert (ont.status, ont.warehouse) == ("written_off", None)
    assert on_hand(stock.central, stock.cable) == 495 and on_hand(stock.central, stock.ont) == 4


def test_write_off_needs_a_reason(stock):
    with pytest.raises(InventoryError):
        services.write_off(actor=stock.admin, source=stock.central, product=stock.cable,
                           quantity=1, reason="")
    with pytest.raises(InventoryError):
        services.write_off(actor=stock.admin, source=stock.central, product=stock.cable,
                           quantity=1, reason="other", note=" ")


def test_count_adjustment_up_and_down(stock):
    down = services.adjust_count(actor=stock.admin, warehouse=stock.central, product=stock.cable,
                                 counted=480, note="Annual count, 20 m short")
    up = services.adjust_count(actor=stock.admin, warehouse=stock.central, product=stock.cable,
                               counted=490, note="Recount found a drum")
    assert (down.source, down.destination, down.quantity) == (stock.central, None, 20)
    assert (up.source, up.destination, up.quantity) == (None, stock.central, 10)
    assert services.adjust_count(actor=stock.admin, warehouse=stock.central,
                                 product=stock.cable, counted=490, note="Same again") is None
    assert on_hand(stock.central, stock.cable) == 490


# Refusals ----------------------------------------------------------------------------------------
def test_cannot_move_more_than_on_hand(stock):
    with pytest.raises(InventoryError, match="Only 500"):
        services.transfer(actor=stock.admin, source=stock.central, destination=stock.dist_store,
                          product=stock.cable, quantity=501)
    assert on_hand(stock.central, stock.cable) == 500
    assert not StockMovement.objects.filter(kind=Kind.TRANSFER).exists()


def test_cannot_take_from_a_location_that_never_held_the_product(stock):
    with pytest.raises(InventoryError, match="Only 0"):
        services.install_at_subscriber(actor=stock.admin, source=stock.dist_store,
                                       subscriber=stock.subscriber, product=stock.cable)


@pytest.mark.parametrize("quantity", [0, -5, 2.5, True])
def test_quantity_must_be_a_positive_whole_number(stock, quantity):
    with pytest.raises(InventoryError, match="positive whole number"):
        services.transfer(actor=stock.admin, source=stock.central, destination=stock.dist_store,
                          product=stock.cable, quantity=quantity)
    with pytest.raises(InventoryError):
        services.receive(actor=stock.admin, warehouse=stock.central, product=stock.cable,
                         quantity=quantity)


def test_negative_count_refused(stock):
    with pytest.raises(InventoryError, match="negative"):
        services.adjust_count(actor=stock.admin, warehouse=stock.central, product=stock.cable,
                              counted=-1, note="typo")


def test_installed_unit_cannot_be_issued_or_installed_again(stock):
    ont = unit("ZTEG00000005")
    services.install_at_subscriber(actor=stock.admin, source=stock.central,
                                   subscriber=stock.subscriber, product=stock.ont, serial_unit=ont)
    with pytest.raises(InventoryError, match="installed at a subscriber"):
        services.issue_to_technician(actor=stock.admin, source=stock.central,
                                     technician=stock.technician, product=stock.ont,
                                     serial_unit=ont)
    with pytest.raises(InventoryError, match="installed at a subscriber"):
        services.install_at_subscriber(actor=stock.admin, source=stock.central,
                                       subscriber=stock.partner_subscriber, product=stock.ont,
                                       serial_unit=ont)


def test_unit_must_be_at_the_source(stock):
    ont = unit("ZTEG00000001")
    with pytest.raises(InventoryError, match="not in stock at"):
        services.transfer(actor=stock.admin, source=stock.dist_store,
                          destination=stock.partner_store, product=stock.ont, serial_unit=ont)


def test_serialized_product_moves_by_unit_and_counted_product_without(stock):
    with pytest.raises(InventoryError, match="serialized"):
        services.transfer(actor=stock.admin, source=stock.central, destination=stock.dist_store,
                          product=stock.ont, quantity=1)
    with pytest.raises(InventoryError, match="counted"):
        services.transfer(actor=stock.admin, source=stock.central, destination=stock.dist_store,
                          product=stock.cable, serial_unit=unit("ZTEG00000001"))


def test_duplicate_serial_or_mac_refused(stock):
    with pytest.raises(InventoryError, match="Already registered: ZTEG00000001"):
        services.receive_units(actor=stock.admin, warehouse=stock.central, product=stock.ont,
                               units=[("ZTEG00000001", None)])
    with pytest.raises(InventoryError, match="00:1A:2B:00:00:01"):
        services.receive_units(actor=stock.admin, warehouse=stock.central, product=stock.ont,
                               units=[("NEW-1", "00-1a-2b-00-00-01")])
    with pytest.raises(InventoryError, match="not a MAC"):
        services.receive_units(actor=stock.admin, warehouse=stock.central, product=stock.ont,
                               units=[("NEW-2", "00:1a:2b:zz:00:01")])


def test_recover_refuses_more_than_installed(stock):
    services.install_at_subscriber(actor=stock.admin, source=stock.central,
                                   subscriber=stock.subscriber, product=stock.cable, quantity=5)
    with pytest.raises(InventoryError, match="Only 5"):
        services.recover_from_subscriber(actor=stock.admin, subscriber=stock.subscriber,
                                         destination=stock.central, product=stock.cable,
                                         quantity=6)


def test_location_outside_scope_refused(stock):
    partner_user = stock.world.users["partner"]
    with pytest.raises(PermissionDenied):
        services.transfer(actor=partner_user, source=stock.central,
                          destination=stock.partner_store, product=stock.cable, quantity=1)
    lco_user = stock.world.users["lco1"]
    with pytest.raises(PermissionDenied):
        services.install_at_subscriber(actor=lco_user, source=stock.dist_store,
                                       subscriber=stock.subscriber, product=stock.cable)


def test_subscriber_outside_scope_refused(stock):
    services.transfer(actor=stock.admin, source=stock.central, destination=stock.partner_store,
                      product=stock.cable, quantity=10)
    with pytest.raises(PermissionDenied):
        services.install_at_subscriber(actor=stock.world.users["partner"],
                                       source=stock.partner_store, subscriber=stock.subscriber,
                                       product=stock.cable)


def test_partner_products_stay_in_the_partners_tree(stock):
    own = samples.product(stock.world.orgs["partner"])
    services.receive(actor=stock.world.users["partner"], warehouse=stock.partner_store,
                     product=own, quantity=3)
    with pytest.raises(InventoryError, match="not in the catalogue"):
        services.transfer(actor=stock.admin, source=stock.partner_store,
                          destination=stock.central, product=own, quantity=1)


def test_other_tenants_product_refused(stock):
    foreign = samples.product(stock.world.orgs["other_root"])
    with pytest.raises(InventoryError, match="not in the catalogue"):
        services.receive(actor=None, warehouse=stock.central, product=foreign, quantity=1)


def test_closed_location_refused(stock):
    stock.dist_store.is_active = False
    stock.dist_store.save()
    with pytest.raises(InventoryError, match="closed"):
        services.transfer(actor=stock.admin, source=stock.central, destination=stock.dist_store,
                          product=stock.cable, quantity=1)


def test_journal_is_append_only_in_the_database(stock):
    entry = StockMovement.objects.first()
    with pytest.raises(ValueError):
        entry.save()
    for sql in ("UPDATE inventory_stockmovement SET quantity = 1",
                "DELETE FROM inventory_stockmovement"):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(sql)


def test_level_can_never_go_negative_in_the_database(stock):
    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(warehouse=stock.central).update(quantity=-1)


def test_a_refused_movement_leaves_nothing_behind(stock):
    before = StockMovement.objects.count()
    with pytest.raises(InventoryError):
        services.transfer(actor=stock.admin, source=stock.central, destination=stock.dist_store,
                          product=stock.cable, quantity=10_000)
    assert StockMovement.objects.count() == before
    assert not StockLevel.objects.filter(warehouse=stock.dist_store).exclude(quantity=0).exists()
