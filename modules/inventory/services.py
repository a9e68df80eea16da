"""Writes of the inventory: every change of stock is one journal entry plus its level update.

Each movement runs in one transaction (joining the caller's, e.g. a field visit's) and takes
its row locks in one fixed order, so concurrent movements serialize instead of deadlocking:

    subscriber (counted recoveries only) -> serial unit -> stock levels by (warehouse, product)

A level is decreased only after its locked row shows enough on hand, so stock never goes
negative (and a CHECK constraint backs that up). Every function takes the acting portal user as
`actor` (None for system jobs) and refuses locations, subscribers and products outside its
scope with PermissionDenied; a confined technician (see `selectors.is_confined_to_own_stock`)
may only take stock out of its own location. Model permissions are checked by the admin views.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q

from modules.core import scope
from modules.core.models import Organization
from modules.inventory import selectors
from modules.inventory.models import Product, SerialUnit, StockLevel, StockMovement, Warehouse
from modules.subscribers.models import Subscriber

Kind = StockMovement.Kind
_MAC = re.compile(r"^[0-9A-F]{12}$")


class InventoryError(ValueError):
    """A stock movement refused by a business rule (the message says why)."""


# Locations ---------------------------------------------------------------------------------
def technician_location(user) -> Warehouse:
    """The technician's personal stock location, created on first use."""
    if user is None or not user.organization_id:
        raise InventoryError("Only a portal user with an organization can hold stock.")
    location = Warehouse.objects.filter(technician=user).first()
    if location is None:
        Warehouse.objects.bulk_create([Warehouse(
            tenant_id=user.organization.tenant_id, organization=user.organization,
            code=f"tech-{user.pk}", name=f"Technician stock: {user.get_full_name() or user}",
            kind=Warehouse.Kind.TECHNICIAN, technician=user,
        )], ignore_conflicts=True)
        location = Warehouse.objects.get(technician=user)
    user._own_stock_location = location
    return location


def normalize_mac(value: str | None) -> str | None:
    """`aa-bb-cc-dd-ee-ff`, `aabb.ccdd.eeff` -> `AA:BB:CC:DD:EE:FF`; empty -> None."""
    if value is None or not str(value).strip():
        return None
    digits = re.sub(r"[^0-9A-Fa-f]", "", str(value)).upper()
    if not _MAC.match(digits) or len(re.sub(r"[\s:.\-]", "", str(value))) != 12:
        raise InventoryError(f"{value!r} is not a MAC address.")
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


# Checks --------------------------------------------------------------------------------------
def _check_org(actor, org: Organization, what: str) -> None:
    if actor is not None and not scope.in_scope(actor, org):
        raise PermissionDenied(f"{what} is outside your scope.")


def _check_location(actor, warehouse: Warehouse, *, taking_out: bool) -> None:
    _check_org(actor, warehouse.organization, f"Location {warehouse}")
    if not warehouse.is_active:
        raise InventoryError(f"Location {warehouse} is closed.")
    if actor is not None and taking_out and selectors.is_confined_to_own_stock(actor):
        own = selectors.own_location(actor)
        if own is None or own.pk != warehouse.pk:
            raise PermissionDenied("A technician may only use its own stock.")


def check_product_at(product: Product, warehouse: Warehouse) -> None:
    org = warehouse.organization
    if product.tenant_id != org.tenant_id or not org.path.startswith(product.organization.path):
        raise InventoryError(f"{product} is not in the catalogue of {warehouse}.")


def _check_quantity(product: Product, quantity, serial_unit) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise InventoryError("The quantity must be a positive whole number.")
    if product.is_serialized:
        if serial_unit is None:
            raise InventoryError(f"{product} is serialized: name the unit by its serial number.")
        if quantity != 1:
            raise InventoryError("A serialized unit moves one at a time.")
        if serial_unit.product_id != product.pk:
            raise InventoryError(f"Unit {serial_unit} is not a {product}.")
    elif serial_unit is not None:
        raise InventoryError(f"{product} is counted, not serialized.")
    return quantity


# Levels ---------------------------------------------------------------------------------------
def _apply(deltas: dict[tuple[int, int], int]) -> None:
    """Add `deltas[(warehouse_id, product_id)]` to the levels, locking rows in key order.

    Refuses (and the transaction rolls back) when any location would go below zero.
    """
    keys = sorted(k for k, d in deltas.items() if d)
    if not keys:
        return
    StockLevel.objects.bulk_create(
        [StockLevel(warehouse_id=w, product_id=p) for (w, p) in keys if deltas[(w, p)] > 0],
        ignore_conflicts=True,
    )
    match = Q(pk__in=[])
    for w, p in keys:
        match |= Q(warehouse_id=w, product_id=p)
    locked = {
        (lvl.warehouse_id, lvl.product_id): lvl
        for lvl in StockLevel.objects.select_for_update().filter(match)
        .order_by("warehouse_id", "product_id").select_related("warehouse", "product")
    }
    for key in keys:
        level, delta = locked.get(key), deltas[key]
        on_hand = level.quantity if level else 0
        if on_hand + delta < 0:
            what = f"{level.product.name} at {level.warehouse}" if level else "this product"
            raise InventoryError(f"Only {on_hand} of {what} on hand; {-delta} requested.")
        StockLevel.objects.filter(pk=level.pk).update(quantity=F("quantity") + delta)


def _lock_unit(unit: SerialUnit) -> SerialUnit:
    return SerialUnit.objects.select_for_update().select_related("product").get(pk=unit.pk)


def _record(kind, *, actor, product, quantity=1, source=None, destination=None,
            subscriber=None, serial_unit=None, reference="", note="", write_off_reason=""):
    """Lock, check and write one movement; the single path every movement takes."""
    quantity = _check_quantity(product, quantity, serial_unit)
    for warehouse in (source, destination):
        if warehouse is not None:
            check_product_at(product, warehouse)
    if subscriber is not None:
        _check_org(actor, subscriber.organization, f"Subscriber {subscriber}")
        if subscriber.tenant_id != product.tenant_id:
            raise InventoryError(f"{product} is not in the catalogue of {subscriber}'s ISP.")
    with transaction.atomic():
        if subscriber is not None and kind == Kind.RECOVER and serial_unit is None:
            Subscriber.objects.select_for_update().filter(pk=subscriber.pk).first()
            installed = selectors.installed_quantity(subscriber, product)
            if installed < quantity:
                raise InventoryError(
                    f"Only {installed} of {product.name} installed at {subscriber}.")
        if serial_unit is not None:
            serial_unit = _lock_unit(serial_unit)
            _check_unit_at(serial_unit, source=source, subscriber=subscriber, kind=kind)
        deltas: Counter = Counter()
        if source is not None:
            deltas[(source.pk, product.pk)] -= quantity
        if destination is not None:
            deltas[(destination.pk, product.pk)] += quantity
        _apply(deltas)
        movement = StockMovement.objects.create(
            tenant_id=product.tenant_id, kind=kind, product=product, quantity=quantity,
            source=source, destination=destination, subscriber=subscriber,
            serial_unit=serial_unit, reference=reference[:80], note=note[:255],
            write_off_reason=write_off_reason, actor=actor,
        )
        if serial_unit is not None:
            _place_unit(serial_unit, destination=destination,
                        subscriber=subscriber if kind == Kind.INSTALL else None)
    return movement


def _check_unit_at(unit: SerialUnit, *, source, subscriber, kind) -> None:
    if kind == Kind.RECOVER:
        if unit.status != SerialUnit.Status.INSTALLED or unit.subscriber_id != subscriber.pk:
            raise InventoryError(f"Unit {unit} is not installed at {subscriber}.")
        return
    if unit.status == SerialUnit.Status.INSTALLED:
        raise InventoryError(f"Unit {unit} is installed at a subscriber; recover it first.")
    if unit.status != SerialUnit.Status.IN_STOCK or unit.warehouse_id != source.pk:
        raise InventoryError(f"Unit {unit} is not in stock at {source}.")


def _place_unit(unit: SerialUnit, *, destination, subscriber) -> None:
    if destination is not None:
        values = {"status": SerialUnit.Status.IN_STOCK, "warehouse": destination,
                  "subscriber": None, "organization_id": destination.organization_id}
    elif subscriber is not None:
        values = {"status": SerialUnit.Status.INSTALLED, "warehouse": None,
                  "subscriber": subscriber, "organization_id": subscriber.organization_id}
    else:
        values = {"status": SerialUnit.Status.WRITTEN_OFF, "warehouse": None, "subscriber": None}
    for name, value in values.items():
        setattr(unit, name, value)
    unit.save(update_fields=[*values, "updated_at"])


# Movements -------------------------------------------------------------------------------------
def receive(*, actor, warehouse, product, quantity, reference="", note="") -> StockMovement:
    """Goods in from a supplier (counted products; serialized ones use `receive_units`)."""
    if product.is_serialized:
        raise InventoryError(f"{product} is serialized: receive its units by serial number.")
    _check_location(actor, warehouse, taking_out=False)
    return _record(Kind.RECEIVE, actor=actor, product=product, quantity=quantity,
                   destination=warehouse, reference=reference, note=note)


@transaction.atomic
def receive_units(*, actor, warehouse, product, units: Iterable[tuple[str, str | None]],
                  reference="", note="") -> list[SerialUnit]:
    """Serialized goods in from a supplier: one unit and one journal entry per (serial, MAC)."""
    if not product.is_serialized:
        raise InventoryError(f"{product} is counted, not serialized.")
    _check_location(actor, warehouse, taking_out=False)
    check_product_at(product, warehouse)
    created = []
    for serial, mac in units:
        serial = (serial or "").strip()
        if not serial:
            raise InventoryError("Every unit needs a serial number.")
        created.append(SerialUnit(
            tenant_id=product.tenant_id, product=product, serial_number=serial,
            mac_address=normalize_mac(mac), organization_id=warehouse.organization_id,
            warehouse=warehouse,
        ))
    if not created:
        raise InventoryError("No units to receive.")
    clashes = find_clashes(product.tenant_id, created)
    if clashes:
        raise InventoryError("Already registered: " + ", ".join(sorted(clashes)[:10]))
    SerialUnit.objects.bulk_create(created, batch_size=2000)
    record_received_units(created, actor=actor, reference=reference, note=note)
    return created


def find_clashes(tenant_id: int, units: list[SerialUnit]) -> set[str]:
    """Serial numbers and MACs of `units` already registered in the tenant, or repeated."""
    serials = Counter(u.serial_number for u in units)
    macs = Counter(u.mac_address for u in units if u.mac_address)
    clashes = {s for s, n in serials.items() if n > 1} | {m for m, n in macs.items() if n > 1}
    existing = SerialUnit.objects.filter(tenant_id=tenant_id)
    serial_list, mac_list = list(serials), list(macs)
    for i in range(0, max(len(serial_list), len(mac_list)), 5000):
        clashes.update(existing.filter(serial_number__in=serial_list[i:i + 5000])
                       .values_list("serial_number", flat=True))
        clashes.update(existing.filter(mac_address__in=mac_list[i:i + 5000])
                       .values_list("mac_address", flat=True))
    return clashes


def record_received_units(units: list[SerialUnit], *, actor, reference="", note="") -> None:
    """Journal entries and level increases for freshly created in-stock units (bulk)."""
    StockMovement.objects.bulk_create([
        StockMovement(tenant_id=u.tenant_id, kind=Kind.RECEIVE, product_id=u.product_id,
                      quantity=1, serial_unit=u, destination_id=u.warehouse_id,
                      reference=reference[:80], note=note[:255], actor=actor)
        for u in units
    ], batch_size=2000)
    _apply(Counter((u.warehouse_id, u.product_id) for u in units))


def transfer(*, actor, source, destination, product, quantity=1, serial_unit=None,
             reference="", note="") -> StockMovement:
    """Between two locations (stores of any organization in the actor's scope)."""
    if source.pk == destination.pk:
        raise InventoryError("Source and destination are the same location.")
    _check_location(actor, source, taking_out=True)
    _check_location(actor, destination, taking_out=False)
    return _record(Kind.TRANSFER, actor=actor, product=product, quantity=quantity,
                   source=source, destination=destination, serial_unit=serial_unit,
                   reference=reference, note=note)


def issue_to_technician(*, actor, source, technician, product, quantity=1, serial_unit=None,
                        reference="", note="") -> StockMovement:
    """From a store into a technician's personal stock."""
    if source.kind != Warehouse.Kind.STORE:
        raise InventoryError("Stock is issued from a store.")
    _check_org(actor, technician.organization, f"Technician {technician}")
    destination = technician_location(technician)
    _check_location(actor, source, taking_out=True)
    _check_location(actor, destination, taking_out=False)
    return _record(Kind.ISSUE, actor=actor, product=product, quantity=quantity, source=source,
                   destination=destination, serial_unit=serial_unit, reference=reference,
                   note=note)


def return_from_technician(*, actor, technician, destination, product, quantity=1,
                           serial_unit=None, reference="", note="") -> StockMovement:
    """From a technician's personal stock back into a store."""
    if destination.kind != Warehouse.Kind.STORE:
        raise InventoryError("Stock is returned to a store.")
    source = technician_location(technician)
    _check_location(actor, source, taking_out=True)
    _check_location(actor, destination, taking_out=False)
    return _record(Kind.RETURN, actor=actor, product=product, quantity=quantity, source=source,
                   destination=destination, serial_unit=serial_unit, reference=reference,
                   note=note)


def install_at_subscriber(*, actor, source, subscriber, product, quantity=1, serial_unit=None,
                          reference="") -> StockMovement:
    """Out of `source` (a technician's stock or a store) onto a subscriber's premises."""
    _check_location(actor, source, taking_out=True)
    return _record(Kind.INSTALL, actor=actor, product=product, quantity=quantity, source=source,
                   subscriber=subscriber, serial_unit=serial_unit, reference=reference)


def recover_from_subscriber(*, actor, subscriber, destination, product, quantity=1,
                            serial_unit=None, reference="", note="") -> StockMovement:
    """Back from a subscriber's premises into a location (e.g. after a termination)."""
    _check_location(actor, destination, taking_out=False)
    if (actor is not None and selectors.is_confined_to_own_stock(actor)
            and destination.pk != getattr(selectors.own_location(actor), "pk", None)):
        raise PermissionDenied("A technician recovers equipment into its own stock.")
    return _record(Kind.RECOVER, actor=actor, product=product, quantity=quantity,
                   destination=destination, subscriber=subscriber, serial_unit=serial_unit,
                   reference=reference, note=note)


def write_off(*, actor, source, product, reason, quantity=1, serial_unit=None, note=""):
    """Damaged, lost or faulty stock leaves the books, with its reason."""
    if reason not in StockMovement.WriteOffReason.values:
        raise InventoryError("Say why the stock is written off.")
    if reason == StockMovement.WriteOffReason.OTHER and not note.strip():
        raise InventoryError("Describe the reason of the write-off.")
    _check_location(actor, source, taking_out=True)
    return _record(Kind.WRITE_OFF, actor=actor, product=product, quantity=quantity,
                   source=source, serial_unit=serial_unit, write_off_reason=reason, note=note)


def adjust_count(*, actor, warehouse, product, counted: int, note: str) -> StockMovement | None:
    """Set a counted product's level to what a stock count found; None when it already matches."""
    if product.is_serialized:
        raise InventoryError("Serialized stock is corrected unit by unit (receive or write off).")
    if not isinstance(counted, int) or isinstance(counted, bool) or counted < 0:
        raise InventoryError("The counted quantity cannot be negative.")
    if not note.strip():
        raise InventoryError("Say why the count differs (who counted, when).")
    _check_location(actor, warehouse, taking_out=True)
    check_product_at(product, warehouse)
    with transaction.atomic():
        level = (StockLevel.objects.select_for_update()
                 .filter(warehouse=warehouse, product=product).first())
        delta = counted - (level.quantity if level else 0)
        if delta == 0:
            return None
        side = {"destination": warehouse} if delta > 0 else {"source": warehouse}
        return _record(Kind.ADJUST, actor=actor, product=product, quantity=abs(delta),
                       note=note, **side)
