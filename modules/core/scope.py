"""The one answer to "which organizations may this user act on?".

Roles give *what* a user may do (model permissions); scope gives *where*: the user's home
organization plus any organization node granted through a guardian object permission
(`core.access_organization`), each with its whole subtree. Every admin queryset, form choice,
filter, autocomplete, export, import and action goes through these functions.
"""

from __future__ import annotations

from django.db.models import Model, Q, QuerySet

from modules.core.models import Organization

GRANT_CODENAME = "access_organization"


def scope_roots(user) -> list[Organization]:
    """Top-most organizations of the user's scope (nested grants collapsed), cached on the user."""
    cached = getattr(user, "_scope_roots", None)
    if cached is not None:
        return cached
    roots: list[Organization] = []
    if user is not None and user.is_authenticated and user.is_active:
        if user.is_superuser:
            candidates = list(Organization.objects.filter(depth=1))
        else:
            candidates = [user.organization] if user.organization_id else []
            tenant_id = user.organization.tenant_id if user.organization_id else None
            granted = Organization.objects.filter(
                organizationusergrant__user=user,
                organizationusergrant__permission__codename=GRANT_CODENAME,
                tenant_id=tenant_id,
            )
            candidates += list(granted)
        for org in sorted(candidates, key=lambda o: len(o.path)):
            if org.is_active and not any(r.contains(org) for r in roots):
                roots.append(org)
    user._scope_roots = roots
    return roots


def scope_tenant_ids(user) -> set[int]:
    return {org.tenant_id for org in scope_roots(user)}


def has_root_scope(user, tenant_id: int | None = None) -> bool:
    """True when the user's scope covers a whole tenant (an ISP-level user)."""
    return any(r.depth == 1 and (tenant_id is None or r.tenant_id == tenant_id)
               for r in scope_roots(user))


def subtree_q(roots: list[Organization], prefix: str = "") -> Q:
    """A Q matching organizations in the subtrees of `roots` (one path-prefix term per root)."""
    q = Q(pk__in=[])
    for root in roots:
        if root.depth == 1:
            q |= Q(**{f"{prefix}tenant_id": root.tenant_id})
        else:
            q |= Q(**{f"{prefix}path__startswith": root.path, f"{prefix}tenant_id": root.tenant_id})
    return q


def allowed_organizations(user, perm: str | None = None) -> QuerySet[Organization]:
    """Organizations this user may act on, optionally only if it holds `perm` ("app.codename")."""
    if perm and not user.has_perm(perm):
        return Organization.objects.none()
    roots = scope_roots(user)
    if not roots:
        return Organization.objects.none()
    return Organization.objects.filter(subtree_q(roots))


def restrict_to_scope(qs: QuerySet, user, field: str) -> QuerySet:
    """Narrow `qs` to rows whose organization (reached through `field`) is in the user's scope.

    `field` is the lookup path from the model to its Organization FK ("organization",
    "subscriber__organization"); an empty string means the model is Organization itself.
    """
    roots = scope_roots(user)
    if not roots:
        return qs.none()
    if field == "":
        return qs.filter(subtree_q(roots))
    return qs.filter(**{f"{field}__in": Organization.objects.filter(subtree_q(roots)).values("pk")})


def restrict_to_tenant(qs: QuerySet, user, field: str) -> QuerySet:
    """Tenant-level rows (settings, roles, catalogs): only ISP-level users of that tenant."""
    tenant_ids = [r.tenant_id for r in scope_roots(user) if r.depth == 1]
    if not tenant_ids:
        return qs.none()
    if field == "":
        return qs.filter(pk__in=tenant_ids)
    return qs.filter(**{f"{field}__in": tenant_ids})


def organization_of(obj: Model, field: str) -> Organization | None:
    """Follow `field` ("subscriber__organization") from obj to its Organization."""
    if field == "":
        return obj if isinstance(obj, Organization) else None
    target = obj
    for part in field.split("__"):
        target = getattr(target, part, None)
        if target is None:
            return None
    return target


def in_scope(user, org: Organization | None) -> bool:
    return org is not None and any(root.contains(org) for root in scope_roots(user))
