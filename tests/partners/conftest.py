"""A billing-ready world whose partner nodes have profiles and a three-level chain:

    ISP (root) -> Distributor (dist) -> LCO One (lco1) -> Sub LCO (sub);  dist -> LCO Two (lco2)

Plans "Fiber 50" (500) and "Fiber 200" (1000) are owned by the ISP; nothing is shared yet.
"""

from dataclasses import dataclass

import pytest

from modules.core.models import User
from modules.core.services import add_organization, create_portal_user
from modules.partners import services
from tests.billing.conftest import make_billing_world
from tests.world import PASSWORD


@dataclass
class PartnerWorld:
    billing: object

    @property
    def world(self):
        return self.billing.world

    @property
    def orgs(self):
        return self.billing.world.orgs

    @property
    def users(self):
        return self.billing.world.users

    @property
    def plan(self):
        return self.billing.plan

    @property
    def gold(self):
        return self.billing.gold

    def subscriber(self, org="lco1", **kwargs):
        return self.billing.subscriber(org, **kwargs)

    def profile(self, org):
        return self.orgs[org].partner_profile


def make_partner_world() -> PartnerWorld:
    billing = make_billing_world()
    world = billing.world
    sub = add_organization(world.orgs["lco1"], name="Sub LCO", code="sub", kind="lco")
    world.orgs["sub"] = sub
    for name in ("dist", "lco1", "lco2", "sub", "partner"):
        services.ensure_profile(world.orgs[name])
    world.users["sub"] = create_portal_user(username="sub_user", password=PASSWORD,
                                            organization=sub, kind=User.Kind.PARTNER,
                                            roles=[world.all_role])
    world.users["lco1_clerk"] = create_portal_user(
        username="lco1_clerk", password=PASSWORD, organization=world.orgs["lco1"],
        kind=User.Kind.EMPLOYEE, roles=[world.all_role])
    for user in world.users.values():
        user.refresh_from_db()
    return PartnerWorld(billing)


@pytest.fixture
def pw(db):
    return make_partner_world()


@pytest.fixture
def pw_tx(transactional_db):
    return make_partner_world()
