"""Writes for tenants, the organization tree, portal users and their scope."""

from __future__ import annotations

from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

from modules.core.models import Organization, Role, Tenant, TenantDomain, User
from modules.core.scope import GRANT_CODENAME

GRANT_PERM = f"core.{GRANT_CODENAME}"


@transaction.atomic
def create_tenant(*, name: str, slug: str, domains: tuple[str, ...] = ()) -> Tenant:
    """A new ISP: the tenant, its root organization and its domains."""
    tenant = Tenant.objects.create(name=name, slug=slug)
    Organization.objects.add_root(
        create_kwargs={"tenant": tenant, "name": name, "code": slug, "kind": Organization.Kind.ISP}
    )
    for i, domain in enumerate(domains):
        TenantDomain.objects.create(tenant=tenant, domain=domain, is_primary=i == 0)
    return tenant


def add_organization(
    parent: Organization, *, name: str, code: str, kind: str = Organization.Kind.LCO
) -> Organization:
    """A partner or branch below `parent` (any depth)."""
    if not parent.is_active:
        raise ValueError("Cannot add an organization below an inactive one.")
    return Organization.objects.add_child(
        parent,
        create_kwargs={"tenant_id": parent.tenant_id, "name": name, "code": code, "kind": kind},
    )


def move_organization(org: Organization, new_parent: Organization) -> Organization:
    """Move a node (with its subtree) below another node of the same tenant."""
    if org.depth == 1:
        raise ValueError("The ISP itself cannot be moved.")
    if new_parent.tenant_id != org.tenant_id or org.contains(new_parent):
        raise ValueError("An organization can only move below a node outside its own subtree.")
    Organization.objects.move(org, new_parent, pos="sorted-child")
    return Organization.objects.get(pk=org.pk)


def grant_scope(user: User, organization: Organization) -> None:
    """Let `user` act in `organization`'s subtree (on top of its home organization)."""
    assign_perm(GRANT_PERM, user, organization)
    user.__dict__.pop("_scope_roots", None)


def revoke_scope(user: User, organization: Organization) -> None:
    remove_perm(GRANT_PERM, user, organization)
    user.__dict__.pop("_scope_roots", None)


def set_scope_grants(user: User, organizations) -> None:
    wanted = {org.pk: org for org in organizations}
    current = {
        org.pk: org
        for org in Organization.objects.filter(
            organizationusergrant__user=user,
            organizationusergrant__permission__codename=GRANT_CODENAME,
        )
    }
    for pk, org in wanted.items():
        if pk not in current:
            grant_scope(user, org)
    for pk, org in current.items():
        if pk not in wanted:
            revoke_scope(user, org)


def create_portal_user(
    *,
    username: str,
    password: str,
    organization: Organization,
    kind: str,
    roles: list[Role] = (),
    email: str = "",
    first_name: str = "",
    last_name: str = "",
) -> User:
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        organization=organization,
        kind=kind,
    )
    user.set_password(password)
    user.save()
    if roles:
        user.roles.set(roles)
    return user
