"""Reads of the inventory: who may see which stock, installed equipment, low stock, valuation."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Case,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from modules.core import scope
from modules.core.models import Organization
from modules.inventory.models import Product, SerialUnit, StockLevel, StockMovement, Warehouse

TECHNICIAN_ROLE = "technician"
VIEW_ALL_STOCK = "inventory.view_all_stock"


# Who sees what ------------------------------------------------------------------------------
def own_location(user) -> Warehouse | None:
    """The user's personal stock location, if it has one (cached on the user object)."""
    if not getattr(user, "is_authenticated", False):
        return None
    if "_own_stock_location" not in user.__dict__:
        user._own_stock_location = Warehouse.objects.filter(technician=user).first()
    return user._own_stock_location


def is_technician(user) -> bool:
    """A technician holds a personal stock location, or a role named "Technician"."""
    if own_location(user) is not None:
        return True
    if "_has_technician_role" not in user.__dict__:
        user._has_technician_role = user.roles.filter(name__iexact=TECHNICIAN_ROLE).exists()
    return user._has_technician_role


def is_confined_to_own_stock(user) -> bool:
    """The technician rule: a technician without `inventory.view_all_stock` sees only its own
    stock location (and what moves in or out of it), whatever its organization scope is."""
    if user is None or user.is_superuser or user.has_perm(VIEW_ALL_STOCK):
        return False
    return is_technician(user)


def confine(qs: QuerySet, user, location_q) -> QuerySet:
    """Narrow `qs` for a confined technician; `location_q(warehouse_id)` says which rows are its."""
    if not is_confined_to_own_stock(user):
        return qs
    location = own_location(user)
    return qs.filter(location_q(location.pk)) if location else qs.none()


def scoped_organizations(user) -> QuerySet[Organization]:
    return Organization.objects.filter(scope.subtree_q(scope.scope_roots(user)))


def movements_in_scope(qs: QuerySet[StockMovement], user) -> QuerySet[StockMovement]:
    """Journal entries touching a location or subscriber of the user's scope (either side)."""
    orgs = scoped_organizations(user).values("pk")
    qs = qs.filter(Q(source__organization__in=orgs) | Q(destination__organization__in=orgs)
                   | Q(subscriber__organization__in=orgs))
    return confine(qs, user, lambda pk: Q(source_id=pk) | Q(destination_id=pk))


def ancestor_paths(org: Organization) -> list[str]:
    step = Organization.steplen
    return [org.path[:i] for i in range(step, len(org.path) + 1, step)]


def products_usable_at(organization: Organization) -> QuerySet[Product]:
    """Products a location of `organization` may hold: owned by it or by one of its ancestors."""
    return Product.objects.filter(tenant_id=organization.tenant_id,
                                  organization__path__in=ancestor_paths(organization))


def usable_products(user) -> QuerySet[Product]:
    """Products the user may move or import: its scope's own plus those of its scope's ancestors."""
    roots = scope.scope_roots(user)
    if not roots:
        return Product.objects.none()
    q = Q(pk__in=[])
    for root in roots:
        q |= Q(organization__path__in=ancestor_paths(root), tenant_id=root.tenant_id)
    return Product.objects.filter(q | Q(organization__in=scoped_organizations(user)))


def locations_for(user) -> QuerySet[Warehouse]:
    """Active stock locations the user may act on (a confined technician: only its own)."""
    qs = Warehouse.objects.filter(is_active=True, organization__in=scoped_organizations(user))
    return confine(qs, user, lambda pk: Q(pk=pk))


def stock_held_by(technician) -> tuple[QuerySet[Product], QuerySet[SerialUnit]]:
    """(products on hand, serialized units) in a technician's personal stock: what a field
    visit of theirs can consume. Empty when the technician holds no stock location yet."""
    location = Warehouse.objects.filter(technician=technician).first()
    if location is None:
        return Product.objects.none(), SerialUnit.objects.none()
    products = Product.objects.filter(levels__warehouse=location, levels__quantity__gt=0)
    units = SerialUnit.objects.filter(warehouse=location, status=SerialUnit.Status.IN_STOCK)
    return products.order_by("name"), units.order_by("serial_number")


# Installed equipment -------------------------------------------------------------------------
@dataclass(frozen=True)
class InstalledItem:
    product: Product
    quantity: int
    serial_unit: SerialUnit | None = None


def installed_equipment(subscriber) -> list[InstalledItem]:
    """What is installed at a subscriber now: each serialized unit, and counted items in sum.

    Two queries whatever the amount of equipment; the subscribers page shows this list.
    """
    units = (SerialUnit.objects.filter(subscriber=subscriber, status=SerialUnit.Status.INSTALLED)
             .select_related("product").order_by("product__name", "serial_number"))
    items = [InstalledItem(product=u.product, quantity=1, serial_unit=u) for u in units]
    counted = (
        StockMovement.objects.filter(subscriber=subscriber, serial_unit__isnull=True)
        .values("product")
        .annotate(net=Sum(_signed_for_subscriber()))
        .filter(net__gt=0)
    )
    net = {row["product"]: row["net"] for row in counted}
    for product in Product.objects.filter(pk__in=net).order_by("name"):
        items.append(InstalledItem(product=product, quantity=net[product.pk]))
    return items


def installed_quantity(subscriber, product) -> int:
    """Net counted quantity of `product` installed at `subscriber` (installs minus recoveries)."""
    total = (StockMovement.objects.filter(subscriber=subscriber, product=product,
                                          serial_unit__isnull=True)
             .aggregate(net=Sum(_signed_for_subscriber()))["net"])
    return total or 0


def _signed_for_subscriber():
    return Case(When(kind=StockMovement.Kind.INSTALL, then=F("quantity")),
                When(kind=StockMovement.Kind.RECOVER, then=-F("quantity")),
                default=Value(0), output_field=IntegerField())


# Journal sums (levels are kept equal to these) ----------------------------------------------------
def journal_balance(warehouse, product) -> int:
    """On-hand quantity recomputed from the journal alone: every entry in minus every entry out."""
    incoming = StockMovement.objects.filter(destination=warehouse, product=product).aggregate(
        n=Sum("quantity"))["n"] or 0
    outgoing = StockMovement.objects.filter(source=warehouse, product=product).aggregate(
        n=Sum("quantity"))["n"] or 0
    return incoming - outgoing


def levels_out_of_balance() -> list[tuple[int, int, int, int]]:
    """(warehouse, product, level, journal) for every level that differs from its journal sum."""
    incoming = (StockMovement.objects.filter(destination=OuterRef("warehouse"),
                                             product=OuterRef("product"))
                .values("destination").annotate(n=Sum("quantity")).values("n"))
    outgoing = (StockMovement.objects.filter(source=OuterRef("warehouse"),
                                             product=OuterRef("product"))
                .values("source").annotate(n=Sum("quantity")).values("n"))
    rows = StockLevel.objects.annotate(
        journal=Coalesce(Subquery(incoming), 0) - Coalesce(Subquery(outgoing), 0)
    ).exclude(quantity=F("journal"))
    return [(r.warehouse_id, r.product_id, r.quantity, r.journal) for r in rows]


# Low stock and valuation -----------------------------------------------------------------------
def low_stock(warehouse: Warehouse) -> QuerySet[Product]:
    """Products under their reorder level at `warehouse`, never-stocked ones included.

    Each product carries `on_hand` and `shortfall`.
    """
    on_hand = StockLevel.objects.filter(warehouse=warehouse, product=OuterRef("pk")).values(
        "quantity")
    return (
        products_usable_at(warehouse.organization)
        .filter(is_active=True, reorder_level__gt=0)
        .annotate(on_hand=Coalesce(Subquery(on_hand), 0))
        .filter(on_hand__lt=F("reorder_level"))
        .annotate(shortfall=F("reorder_level") - F("on_hand"))
        .order_by("-shortfall", "name")
    )


def valuation(warehouses: QuerySet[Warehouse]) -> tuple[list[dict], dict]:
    """Stock value per location at purchase price, with grand totals; one query."""
    zero = Value(Decimal("0"), output_field=DecimalField(max_digits=16, decimal_places=2))
    rows = list(
        warehouses.annotate(
            units_on_hand=Coalesce(Sum("levels__quantity"), 0),
            stock_value=Coalesce(Sum(ExpressionWrapper(
                F("levels__quantity") * F("levels__product__purchase_price"),
                output_field=DecimalField(max_digits=16, decimal_places=2))), zero),
            products_on_hand=Coalesce(Sum(Value(1), filter=Q(levels__quantity__gt=0)), 0),
        ).select_related("organization").order_by("organization__path", "kind", "name")
    )
    result = [{"warehouse": r, "units": r.units_on_hand, "products": r.products_on_hand,
               "value": r.stock_value} for r in rows]
    totals = {"units": sum(r["units"] for r in result),
              "value": sum((r["value"] for r in result), Decimal("0"))}
    return result, totals
