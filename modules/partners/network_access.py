"""Object-scoped network access: NAS devices a partner may use and IP pools assigned to it.

A grant is a guardian object permission (`view`) on the device or pool for the partner's group;
the networking pages list granted objects read-only to that partner's users besides their own.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from guardian.shortcuts import assign_perm, get_groups_with_perms, remove_perm

from modules.core import scope
from modules.core.models import Organization
from modules.partners.models import Partner
from modules.partners.profiles import PartnerError

PERMS = {
    "nasdevice": "networking.view_nasdevice",
    "ipv4pool": "networking.view_ipv4pool",
    "ipv6pool": "networking.view_ipv6pool",
}


def _perm(obj) -> str:
    perm = PERMS.get(obj._meta.model_name)
    if perm is None:
        raise PartnerError(f"{obj._meta.verbose_name} cannot be granted to partners.")
    return perm


def _partner_for(obj, organization: Organization, actor) -> Partner:
    if actor is not None and not (scope.in_scope(actor, obj.organization)
                                  and scope.in_scope(actor, organization)
                                  and actor.organization_id != organization.pk):
        raise PermissionDenied("Only the owner's side may grant its devices and pools.")
    if not obj.organization.contains(organization) or obj.organization_id == organization.pk:
        raise PartnerError(f"{obj} can be granted only to partners below {obj.organization}.")
    partner = Partner.objects.filter(organization=organization).first()
    if partner is None or partner.access_group is None:
        raise PartnerError(f"{organization} has no partner profile.")
    return partner


@transaction.atomic
def grant(obj, organization: Organization, *, actor) -> None:
    """Let the partner `organization` use the NAS device or pool `obj`."""
    partner = _partner_for(obj, organization, actor)
    assign_perm(_perm(obj), partner.access_group, obj)


@transaction.atomic
def revoke(obj, organization: Organization, *, actor) -> None:
    partner = _partner_for(obj, organization, actor)
    remove_perm(_perm(obj), partner.access_group, obj)


def granted_organizations(obj) -> list[Organization]:
    groups = get_groups_with_perms(obj)
    return [p.organization for p in Partner.objects.select_related("organization")
            .filter(access_group__in=groups)]


def grantable(user, organization: Organization) -> dict[str, list[tuple[object, bool]]]:
    """NAS devices and pools `user` may grant to the partner `organization` (owned above it, in
    the user's scope), each with whether the partner holds it now."""
    from modules.networking.models import Ipv4Pool, Ipv6Pool, NasDevice
    from modules.partners.models import Ipv4PoolGroupGrant, Ipv6PoolGroupGrant, NasGroupGrant

    step = Organization.steplen
    above = [organization.path[:i] for i in range(step, len(organization.path), step)]
    partner = Partner.objects.filter(organization=organization).first()
    group = partner.access_group_id if partner else None
    found = {}
    for kind, model, grants in (("nasdevice", NasDevice, NasGroupGrant),
                                ("ipv4pool", Ipv4Pool, Ipv4PoolGroupGrant),
                                ("ipv6pool", Ipv6Pool, Ipv6PoolGroupGrant)):
        qs = scope.restrict_to_scope(model.objects.filter(
            organization__tenant_id=organization.tenant_id, organization__path__in=above),
            user, "organization").select_related("organization").order_by("name")
        held = set(grants.objects.filter(group_id=group, permission__codename=f"view_{kind}")
                   .values_list("content_object_id", flat=True)) if group else set()
        found[kind] = [(obj, obj.pk in held) for obj in qs]
    return found
