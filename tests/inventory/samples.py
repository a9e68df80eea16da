"""Sample factories for the inventory admins (used by the scope-crawling test)."""

from decimal import Decimal

from modules.inventory import services
from modules.inventory.models import Product, SerialUnit, StockLevel, StockMovement, Warehouse
from tests.samples import sample

_counter = iter(range(1, 10**9))


def _n():
    return next(_counter)


@sample("inventory.product")
def product(org, *, serialized=False, reorder_level=0, price="100.00"):
    n = _n()
    return Product.objects.create(
        organization=org, sku=f"SKU-{n}",
        name=f"ONT model {n}" if serialized else f"Drop cable {n}",
        category=Product.Category.ONT if serialized else Product.Category.CABLE,
        unit=Product.Unit.PIECE if serialized else Product.Unit.METRE,
        is_serialized=serialized, purchase_price=Decimal(price), sale_price=Decimal(price) * 2,
        reorder_level=reorder_level,
    )


@sample("inventory.warehouse")
def warehouse(org):
    n = _n()
    return Warehouse.objects.create(organization=org, code=f"store-{n}", name=f"Store {n}")


@sample("inventory.stockmovement")
def movement(org) -> StockMovement:
    return services.receive(actor=None, warehouse=warehouse(org), product=product(org),
                            quantity=10, reference=f"INV-{_n()}")


@sample("inventory.stocklevel")
def level(org) -> StockLevel:
    received = movement(org)
    return StockLevel.objects.get(warehouse=received.destination, product=received.product)


@sample("inventory.serialunit")
def unit(org) -> SerialUnit:
    n = _n()
    return services.receive_units(actor=None, warehouse=warehouse(org),
                                  product=product(org, serialized=True),
                                  units=[(f"SN{n:08d}", None)], reference="PO-1")[0]
