from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Permission

from modules.core.models import Role, User
from modules.core.services import create_portal_user
from modules.inventory import services
from modules.inventory.models import Product, Warehouse
from modules.subscribers.models import Subscriber
from tests.inventory import samples
from tests.world import PASSWORD


@dataclass
class Stock:
    """Stores at the ISP, the distributor and partner P; catalogue of the ISP; a technician."""

    world: object
    admin: User
    central: Warehouse
    dist_store: Warehouse
    partner_store: Warehouse
    cable: Product
    ont: Product
    technician: User
    subscriber: Subscriber
    partner_subscriber: Subscriber


def make_subscriber(org, username):
    return Subscriber.objects.create(tenant_id=org.tenant_id, organization=org,
                                     username=username, name=username.title())


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Sign-in is not under test here; a cheap hasher keeps the suite fast."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def technician_role(world):
    """The example Technician role's stock permissions (see modules/core/roles.py)."""
    role = Role.objects.create(tenant=world.tenant, name="Technician")
    role.permissions.set(Permission.objects.filter(
        content_type__app_label="inventory", codename__in=["view_stocklevel", "view_serialunit"]))
    return role


@pytest.fixture
def stock(world, technician_role):
    root = world.orgs["root"]
    technician = create_portal_user(username="tech", password=PASSWORD, organization=root,
                                    kind=User.Kind.EMPLOYEE, roles=[technician_role])
    cable = samples.product(root, reorder_level=100, price="12.50")
    ont = samples.product(root, serialized=True, reorder_level=5, price="1450.00")
    central = Warehouse.objects.create(organization=root, code="central", name="Central store")
    stock = Stock(
        world=world, admin=world.users["isp_admin"], central=central,
        dist_store=Warehouse.objects.create(organization=world.orgs["dist"], code="dist-store",
                                            name="Distributor store"),
        partner_store=Warehouse.objects.create(organization=world.orgs["partner"], code="pp",
                                               name="Partner store"),
        cable=cable, ont=ont, technician=technician,
        subscriber=make_subscriber(world.orgs["lco1"], "asha.k"),
        partner_subscriber=make_subscriber(world.orgs["partner"], "ravi.p"),
    )
    services.receive(actor=stock.admin, warehouse=central, product=cable, quantity=500,
                     reference="SUP-INV-1")
    services.receive_units(actor=stock.admin, warehouse=central, product=ont,
                           units=[(f"ZTEG{i:08d}", f"00:1A:2B:00:00:{i:02X}") for i in range(1, 6)],
                           reference="SUP-INV-2")
    return stock

