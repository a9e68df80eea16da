"""Partner profiles and partner users: a partner is an organization node plus its profile."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from modules.billing import ledger
from modules.billing.money import BillingError
from modules.core import scope
from modules.core import services as core
from modules.core.models import Organization, User
from modules.partners.models import Partner


class PartnerError(BillingError):
    """A partner rule refused the request; the message is meant for the operator."""


KIND_OF_TYPE = {Partner.Type.LCO: Organization.Kind.LCO,
                Partner.Type.RESELLER: Organization.Kind.RESELLER,
                Partner.Type.DISTRIBUTOR: Organization.Kind.DISTRIBUTOR}
PROFILE_FIELDS = ("contact_name", "contact_phone", "contact_email", "tax_number",
                  "billing_state", "address", "default_commission_rate", "commission_template",
                  "credit_limit", "low_balance_threshold", "status", "partner_type")


def require_scope(actor, organization) -> None:
    """Services refuse an actor outside its scope (None is the system itself)."""
    if actor is not None and not scope.in_scope(actor, organization):
        raise PermissionDenied("This partner is outside your scope.")


GROUP_PREFIX = "partner-org-"


def _access_group(org: Organization) -> Group:
    group, _ = Group.objects.get_or_create(name=f"{GROUP_PREFIX}{org.pk}")
    return group


def sync_wallet(partner: Partner) -> None:
    """The wallet's floor and alert level follow the profile (the ledger reads the wallet)."""
    wallet = ledger.organization_wallet(partner.organization)
    type(wallet).objects.filter(pk=wallet.pk).update(
        credit_limit=partner.credit_limit, low_balance_alert=partner.low_balance_threshold)


def _validate(partner: Partner, tenant_id: int) -> None:
    try:
        partner.full_clean(exclude=["organization", "access_group"])
    except ValidationError as exc:
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        raise PartnerError(problems) from exc
    template = partner.commission_template
    if template is not None and template.tenant_id != tenant_id:
        raise PartnerError("The commission template belongs to another ISP.")


def check_new_partner(*, actor, parent: Organization, code: str, partner_type: str,
                      **profile) -> Partner:
    """Every rule of a new partner, checked without writing; returns the unsaved profile."""
    require_scope(actor, parent)
    if partner_type not in Partner.Type.values:
        raise PartnerError(f"Unknown partner type “{partner_type}”.")
    unknown = set(profile) - set(PROFILE_FIELDS)
    if unknown:
        raise PartnerError(f"Unknown partner fields: {', '.join(sorted(unknown))}.")
    if not parent.is_active:
        raise PartnerError("Cannot add a partner below an inactive organization.")
    if Organization.objects.filter(tenant_id=parent.tenant_id, code=code).exists():
        raise PartnerError(f"The code “{code}” is already used in this ISP.")
    candidate = Partner(partner_type=partner_type, **profile)
    _validate(candidate, parent.tenant_id)
    return candidate


@transaction.atomic
def create_partner(*, actor, parent: Organization, name: str, code: str,
                   partner_type: str = Partner.Type.LCO, **profile) -> Partner:
    """A new partner: its organization node below `parent`, its profile, group and wallet."""
    candidate = check_new_partner(actor=actor, parent=parent, code=code,
                                  partner_type=partner_type, **profile)
    try:
        org = core.add_organization(parent, name=name, code=code, kind=KIND_OF_TYPE[partner_type])
    except ValueError as exc:
        raise PartnerError(str(exc)) from exc
    candidate.organization = org
    candidate.access_group = _access_group(org)
    candidate.save()
    sync_wallet(candidate)
    return candidate


@transaction.atomic
def ensure_profile(organization: Organization, *, actor=None, **profile) -> Partner:
    """Give an existing node a partner profile (idempotent; used for nodes made before)."""
    require_scope(actor, organization)
    if organization.depth == 1:
        raise PartnerError("The ISP itself is not a partner.")
    partner = Partner.objects.filter(organization=organization).first()
    if partner is None:
        kind = organization.kind if organization.kind in Partner.Type.values else Partner.Type.LCO
        profile.setdefault("partner_type", kind)
        partner = Partner(organization=organization, **profile)
        _validate(partner, organization.tenant_id)
        partner.access_group = _access_group(organization)
        partner.save()
        for user in User.objects.filter(organization=organization):
            user.groups.add(partner.access_group)
    sync_wallet(partner)
    return partner


@transaction.atomic
def update_partner(partner: Partner, *, actor, **changes) -> Partner:
    require_scope(actor, partner.organization)
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise PartnerError(f"Unknown partner fields: {', '.join(sorted(unknown))}.")
    if actor is not None and actor.organization_id == partner.organization_id and (
            "credit_limit" in changes or "default_commission_rate" in changes
            or "commission_template" in changes or "status" in changes):
        raise PermissionDenied("A partner cannot change its own credit limit, commission "
                               "or status.")
    for name, value in changes.items():
        setattr(partner, name, value)
    _validate(partner, partner.organization.tenant_id)
    partner.save()
    sync_wallet(partner)
    return partner


def create_partner_user(*, actor, partner: Partner, username: str, password: str,
                        roles=(), **fields) -> User:
    """A portal user of the partner: signs in at /login and sees the partner's subtree."""
    require_scope(actor, partner.organization)
    user = core.create_portal_user(username=username, password=password,
                                   organization=partner.organization, kind=User.Kind.PARTNER,
                                   roles=list(roles), **fields)
    if partner.access_group_id:
        user.groups.add(partner.access_group)
    return user


def parent_of(organization: Organization) -> Organization | None:
    return Organization.objects.get_parent(organization)


def profile_of(organization: Organization | None) -> Partner | None:
    if organization is None:
        return None
    return Partner.objects.filter(organization=organization).first()


def governing_partner(organization: Organization) -> Partner | None:
    """The nearest partner at or above `organization` (below the ISP), if any."""
    step = Organization.steplen
    paths = [organization.path[:i] for i in range(2 * step, len(organization.path) + 1, step)]
    return (Partner.objects.select_related("organization")
            .filter(organization__tenant_id=organization.tenant_id, organization__path__in=paths)
            .order_by("-organization__depth").first())
