"""Plan sharing: a parent shares a plan it has with a partner below it, at a partner price never
below its own cost. The share row holds the prices; a guardian object permission on the plan,
granted to the partner's group, marks the access."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from guardian.shortcuts import assign_perm, remove_perm

from modules.billing.money import parse_amount
from modules.billing.selectors import tenant_currency
from modules.core import scope
from modules.core.models import Organization
from modules.partners.models import CommissionType, Partner, PlanShare
from modules.partners.profiles import PartnerError, governing_partner, parent_of
from modules.plans.models import Plan
from modules.plans.selectors import SharingRule

VIEW_PLAN = "plans.view_plan"


def _money(value, label, currency):
    try:
        return parse_amount(value, currency, allow_zero=True)
    except ValueError as exc:
        raise PartnerError(f"{label}: {exc}") from exc


def _parent_cost(plan: Plan, parent: Organization):
    """What the parent pays for `plan` (0 when it owns the plan); None when it lacks it."""
    if plan.organization.tenant_id != parent.tenant_id:
        return None
    if plan.organization_id == parent.pk:
        return 0
    share = PlanShare.objects.filter(plan=plan, organization=parent).first()
    return share.partner_price if share else None


def check_share(plan: Plan, organization: Organization, *, actor, partner_price, selling_price,
                commission_type: str = "", commission_value=None) -> dict:
    """Every rule of a share, checked without writing; returns the cleaned values."""
    if organization.depth == 1:
        raise PartnerError("The ISP does not receive shared plans.")
    parent = parent_of(organization)
    if actor is not None and not (scope.in_scope(actor, parent)
                                  and actor.organization_id != organization.pk):
        raise PermissionDenied("Only the parent of a partner can share plans with it.")
    partner = Partner.objects.filter(organization=organization).first()
    if partner is None:
        raise PartnerError(f"{organization} has no partner profile.")
    cost = _parent_cost(plan, parent)
    if cost is None:
        raise PartnerError(f"{parent} can share only plans it has; {plan} is not shared with it.")
    currency = tenant_currency(organization.tenant_id)
    price = _money(partner_price, "Partner price", currency)
    selling = _money(selling_price, "Selling price", currency)
    if price < cost:
        raise PartnerError(f"The partner price {price} is below {parent}'s own cost of {cost}.")
    if selling < price:
        raise PartnerError("The selling price cannot be below the partner price.")
    if commission_type and commission_type not in CommissionType.values:
        raise PartnerError(f"Unknown commission type “{commission_type}”.")
    value = _money(commission_value, "Commission", currency) if commission_type else None
    if commission_type == CommissionType.PERCENT and value > 100:
        raise PartnerError("A percentage commission cannot exceed 100.")
    below = PlanShare.objects.filter(plan=plan, organization__tenant_id=organization.tenant_id,
                                     organization__path__startswith=organization.path,
                                     organization__depth=organization.depth + 1)
    if below.filter(partner_price__lt=price).exists():
        raise PartnerError("Partners below already buy this plan for less; re-price them first.")
    return {"partner": partner, "partner_price": price, "selling_price": selling,
            "commission_type": commission_type or "", "commission_value": value}


@transaction.atomic
def share_plan(plan: Plan, organization: Organization, *, actor, partner_price, selling_price,
               commission_type: str = "", commission_value=None) -> PlanShare:
    """Share (or re-price) `plan` with the partner `organization`, done by its parent or above."""
    values = check_share(plan, organization, actor=actor, partner_price=partner_price,
                         selling_price=selling_price, commission_type=commission_type,
                         commission_value=commission_value)
    partner = values.pop("partner")
    share, _ = PlanShare.objects.update_or_create(
        plan=plan, organization=organization, defaults={**values, "shared_by": actor})
    if partner.access_group_id:
        assign_perm(VIEW_PLAN, partner.access_group, plan)
    return share


@transaction.atomic
def unshare_plan(share: PlanShare, *, actor) -> None:
    org = share.organization
    if actor is not None and not (scope.in_scope(actor, parent_of(org))
                                  and actor.organization_id != org.pk):
        raise PermissionDenied("Only the parent of a partner can withdraw a shared plan.")
    if PlanShare.objects.filter(plan=share.plan, organization__tenant_id=org.tenant_id,
                                organization__path__startswith=org.path,
                                organization__depth__gt=org.depth).exists():
        raise PartnerError("Withdraw the plan from the partners below first.")
    partner = Partner.objects.filter(organization=org).first()
    share.delete()
    if partner and partner.access_group_id:
        remove_perm(VIEW_PLAN, partner.access_group, share.plan)


class PartnerSharing(SharingRule):
    """A partner (a node with a profile, or a node below one) sells only what was shared with
    it, plus plans owned between it and the node itself."""

    def inherited(self, org: Organization) -> Q | None:
        partner = governing_partner(org)
        if partner is None:
            return None
        top = partner.organization
        step = Organization.steplen
        own = [org.path[:i] for i in range(len(top.path), len(org.path) + 1, step)]
        shared = PlanShare.objects.filter(organization=top).values("plan_id")
        return (Q(organization__tenant_id=org.tenant_id, organization__path__in=own)
                | Q(pk__in=shared))

    def shared_with(self, orgs: list[Organization]) -> Q | None:
        return Q(pk__in=PlanShare.objects.filter(
            organization_id__in=[o.pk for o in orgs]).values("plan_id"))

    def selling_price(self, plan: Plan, org: Organization):
        """The selling price of the nearest share of `plan` at or above `org`."""
        step = Organization.steplen
        paths = [org.path[:i] for i in range(2 * step, len(org.path) + 1, step)]
        return (PlanShare.objects.filter(plan=plan, organization__tenant_id=org.tenant_id,
                                         organization__path__in=paths)
                .order_by("-organization__depth")
                .values_list("selling_price", flat=True).first())
