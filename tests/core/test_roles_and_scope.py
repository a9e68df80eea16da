"""Roles give what a user may do; organization grants give where."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from modules.core import scope
from modules.core.models import Organization, Role, User
from modules.core.permissions import operator_name
from modules.core.roles import EXAMPLE_ROLES, ensure_example_roles
from modules.core.services import grant_scope, move_organization

pytestmark = pytest.mark.django_db


def test_permissions_have_operator_facing_names(db):
    perm = Permission.objects.get(codename="view_organization")
    assert operator_name(perm) == "organizations.view"
    assert operator_name(Permission.objects.get(codename="add_role")) == "roles.create"


def test_example_roles_are_created_for_a_tenant(world):
    roles = ensure_example_roles(world.tenant)
    assert set(roles) == set(EXAMPLE_ROLES)
    read_only = {operator_name(p) for p in roles["Read Only"].permissions.all()}
    assert read_only and all(name.endswith(".view") for name in read_only)
    ensure_example_roles(world.tenant)  # idempotent
    assert Role.objects.filter(tenant=world.tenant, name="Read Only").count() == 1


def test_role_permissions_become_user_permissions(world):
    role = Role.objects.create(tenant=world.tenant, name="Viewer")
    role.permissions.add(Permission.objects.get(codename="view_organization"))
    user = world.users["no_perm"]
    user.roles.set([role])
    user = User.objects.get(pk=user.pk)
    assert user.has_perm("core.view_organization")
    assert not user.has_perm("core.change_organization")


def test_subtree_is_one_indexed_prefix_query(world):
    user = User.objects.get(pk=world.users["dist"].pk)
    scope.scope_roots(user)  # warms the per-user cache (one query for grants)
    with CaptureQueriesContext(connection) as ctx:
        names = set(scope.allowed_organizations(user).values_list("code", flat=True))
    assert names == {"dist", "lco1", "lco2"}
    assert len(ctx.captured_queries) == 1
    assert "LIKE" in ctx.captured_queries[0]["sql"]


def test_sub_partner_is_inside_its_parents_scope_but_not_the_reverse(world):
    dist, lco1 = world.users["dist"], world.users["lco1"]
    assert scope.in_scope(dist, world.orgs["lco1"])
    assert not scope.in_scope(lco1, world.orgs["dist"])
    assert not scope.in_scope(dist, world.orgs["partner"])
    assert not scope.in_scope(world.users["isp_admin"], world.orgs["other_root"])


def test_a_grant_adds_another_subtree(world):
    user = world.users["lco1"]
    grant_scope(user, world.orgs["partner"])
    fresh = User.objects.get(pk=user.pk)
    assert scope.in_scope(fresh, world.orgs["partner"])
    assert not scope.in_scope(fresh, world.orgs["lco2"])


def test_grants_on_another_tenants_nodes_give_nothing(world):
    user = world.users["lco1"]
    grant_scope(user, world.orgs["other_root"])
    fresh = User.objects.get(pk=user.pk)
    assert not scope.in_scope(fresh, world.orgs["other_root"])


def test_moving_a_partner_moves_its_subtree(world):
    lco1 = move_organization(world.orgs["lco1"], world.orgs["partner"])
    assert lco1.path[:-Organization.steplen] == world.orgs["partner"].path
    partner_user = User.objects.get(pk=world.users["partner"].pk)
    assert scope.in_scope(partner_user, Organization.objects.get(code="lco1", tenant=world.tenant))


def test_an_organization_cannot_move_below_itself(world):
    with pytest.raises(ValueError):
        move_organization(world.orgs["dist"], world.orgs["lco1"])


def test_partner_cannot_assign_a_role_broader_than_its_own(world, login):
    narrow = Role.objects.create(tenant=world.tenant, name="Narrow")
    narrow.permissions.set(Permission.objects.filter(codename__in=["view_user", "add_user",
                                                                   "change_user"]))
    dist = world.users["dist"]
    dist.roles.set([narrow])
    client = login(dist)
    page = client.get("/admin/core/user/add/").content.decode()
    assert "Narrow" in page
    assert "Everything" not in page


def test_user_cannot_edit_its_own_roles(world, login):
    client = login(world.users["dist"])
    me = world.users["dist"]
    response = client.post(f"/admin/core/user/{me.pk}/change/", {"username": me.username})
    assert response.status_code == 403


def test_partner_creates_a_sub_partner_only_inside_its_subtree(world, login):
    client = login(world.users["dist"])
    outside = client.post("/admin/core/organization/add/", {
        "parent": world.orgs["partner"].pk, "name": "Sneaky", "code": "sneaky", "kind": "lco",
        "is_active": "on"})
    assert outside.status_code == 200  # form error: parent not a valid choice
    assert not Organization.objects.filter(code="sneaky").exists()
    inside = client.post("/admin/core/organization/add/", {
        "parent": world.orgs["lco1"].pk, "name": "Street Net", "code": "street", "kind": "lco",
        "is_active": "on"})
    assert inside.status_code == 302
    created = Organization.objects.get(code="street")
    assert created.path[:-Organization.steplen] == world.orgs["lco1"].path
