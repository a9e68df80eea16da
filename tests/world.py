"""A small two-tenant world with a three-level partner tree, shared by many tests.

    Tenant A: ISP (root) -> Distributor -> LCO 1, LCO 2;  ISP -> Partner P
    Tenant B: ISP B (root)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import Permission

from modules.core.models import Organization, Role, Tenant, User
from modules.core.services import add_organization, create_portal_user, create_tenant

PASSWORD = "Str0ng-Passw0rd!"


@dataclass
class World:
    tenant: Tenant
    other_tenant: Tenant
    orgs: dict[str, Organization] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    all_role: Role | None = None
    empty_role: Role | None = None


def build_world() -> World:
    a = create_tenant(name="Alpha Broadband", slug="alpha")
    b = create_tenant(name="Beta Net", slug="beta", domains=("beta.test",))
    root = a.root
    dist = add_organization(root, name="Distributor", code="dist", kind="distributor")
    lco1 = add_organization(dist, name="LCO One", code="lco1", kind="lco")
    lco2 = add_organization(dist, name="LCO Two", code="lco2", kind="lco")
    partner = add_organization(root, name="Partner P", code="pp", kind="lco")
    world = World(tenant=a, other_tenant=b)
    world.orgs = {"root": root, "dist": dist, "lco1": lco1, "lco2": lco2, "partner": partner,
                  "other_root": b.root}
    world.all_role = Role.objects.create(tenant=a, name="Everything")
    other_all = Role.objects.create(tenant=b, name="Everything")
    # One INSERT instead of an audited change per permission: the world is built for every test.
    through = Role.permissions.through
    through.objects.bulk_create(
        through(role_id=role.pk, permission_id=pk)
        for role in (world.all_role, other_all)
        for pk in Permission.objects.values_list("pk", flat=True)
    )
    world.empty_role = Role.objects.create(tenant=a, name="Nothing")

    def user(name, org, kind, role):
        return create_portal_user(username=name, password=PASSWORD, organization=org,
                                  kind=kind, roles=[role] if role else [])

    world.users = {
        "isp_admin": user("isp_admin", root, User.Kind.ISP_ADMIN, world.all_role),
        "dist": user("dist_user", dist, User.Kind.PARTNER, world.all_role),
        "lco1": user("lco1_user", lco1, User.Kind.PARTNER, world.all_role),
        "partner": user("partner_user", partner, User.Kind.PARTNER, world.all_role),
        "no_perm": user("no_perm", dist, User.Kind.EMPLOYEE, world.empty_role),
        "other_admin": user("other_admin", b.root, User.Kind.ISP_ADMIN, other_all),
    }
    return world
