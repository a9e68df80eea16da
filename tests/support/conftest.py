import pytest

from modules.core.models import Role, User
from modules.core.roles import resolve
from modules.core.services import create_portal_user
from modules.settings_hub.models import GeneralSettings
from tests.support.samples import make_subscriber
from tests.world import PASSWORD

TECHNICIAN_PERMS = ["field-visits.view", "field-visits.edit", "tickets.view",
                    "stock-levels.view", "serial-units.view", "subscribers.view"]
AGENT_PERMS = ["subscribers.view", "tickets.view", "tickets.create", "tickets.edit",
               "tickets.assign", "field-visits.view", "field-visits.create"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def kolkata(world):
    GeneralSettings.objects.create(tenant=world.tenant, company_name="Alpha Broadband",
                                   timezone="Asia/Kolkata")
    return world


def _role(world, name, perms):
    role = Role.objects.create(tenant=world.tenant, name=name)
    role.permissions.set(resolve(perms))
    return role


@pytest.fixture
def make_staff(world):
    roles = {}

    def make(username, org, perms):
        key = tuple(perms)
        if key not in roles:
            roles[key] = _role(world, f"Role {len(roles)}", perms)
        return create_portal_user(username=username, password=PASSWORD, organization=org,
                                  kind=User.Kind.EMPLOYEE, roles=[roles[key]])

    return make


@pytest.fixture
def technician(world, make_staff):
    return make_staff("tech_ravi", world.orgs["lco1"], TECHNICIAN_PERMS)


@pytest.fixture
def agent(world, make_staff):
    return make_staff("agent_neha", world.orgs["root"], AGENT_PERMS)


@pytest.fixture
def subscriber(world):
    return make_subscriber(world.orgs["lco1"])
