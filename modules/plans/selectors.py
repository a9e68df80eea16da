"""Reads of the plan catalog."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q, QuerySet

from modules.core import scope
from modules.core.models import Organization
from modules.plans.models import Plan


def _ancestor_paths(org: Organization) -> list[str]:
    step = Organization.steplen
    return [org.path[:i] for i in range(step, len(org.path) + 1, step)]


class SharingRule:
    """How plan sharing narrows the catalog; the partners module registers the real one.

    `inherited(org)` answers which plans a subscriber of `org` may be on (None: the catalog
    rule, i.e. plans of `org` and its ancestors); `shared_with(orgs)` is the Q of plans shared
    with any of `orgs` (shown read-only in the plans admin); `selling_price(plan, org)` is the
    price a partner set for its subscribers (None: the plan's own price).
    """

    def inherited(self, org: Organization) -> Q | None:
        return None

    def shared_with(self, orgs: list[Organization]) -> Q | None:
        return None

    def selling_price(self, plan: Plan, org: Organization) -> Decimal | None:
        """What a subscriber of `org` is charged for `plan` (None: the plan's own price)."""
        return None


_sharing = SharingRule()


def register_sharing_rule(rule: SharingRule) -> None:
    global _sharing
    _sharing = rule


def _inherited_q(org: Organization) -> Q:
    rule = _sharing.inherited(org)
    if rule is not None:
        return rule
    return Q(organization__tenant_id=org.tenant_id, organization__path__in=_ancestor_paths(org))


def shared_plans_q(user) -> Q | None:
    """Plans shared with the user's scope roots (None when plan sharing is not installed)."""
    roots = scope.scope_roots(user)
    return _sharing.shared_with(roots) if roots else None


def sellable_plans(user, *, include_inactive: bool = False) -> QuerySet[Plan]:
    """The plans `user` may put a subscriber on (the one rule used by forms, import and services).

    Plans owned anywhere in the user's scope, plus what each scope root inherits: the plans of
    its ancestors, or, for a partner under plan sharing, only the plans shared with it (the
    registered `SharingRule`). Every caller goes through this function.
    """
    roots = scope.scope_roots(user)
    if not roots:
        return Plan.objects.none()
    q = scope.subtree_q(roots, prefix="organization__")
    for root in roots:
        q |= _inherited_q(root)
    qs = Plan.objects.filter(q)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.select_related("organization")


def can_sell(user, plan: Plan | None) -> bool:
    if plan is None:
        return True
    if user is None:
        return True  # system jobs act for the ISP itself
    return sellable_plans(user, include_inactive=True).filter(pk=plan.pk).exists()


def plans_of_tenant(tenant_id: int) -> QuerySet[Plan]:
    return Plan.objects.filter(organization__tenant_id=tenant_id)


def available_to_organization(org: Organization) -> QuerySet[Plan]:
    """Plans a subscriber owned by `org` may be on: its own, its subtree's owners above it."""
    return Plan.objects.filter(_inherited_q(org))


def price_for(plan: Plan, org: Organization) -> Decimal:
    """The price a subscriber of `org` is invoiced for `plan`: its seller's selling price under
    plan sharing, otherwise the plan's own price."""
    price = _sharing.selling_price(plan, org)
    return plan.price if price is None else price
