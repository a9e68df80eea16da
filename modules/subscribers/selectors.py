"""Reads of subscribers: the daily lists and the search, shaped for a million rows.

Each daily list is one indexed predicate; the search picks one indexed lookup from the shape
of the term (a MAC, an IP, a phone number, an email, else a trigram match on username/name)
instead of OR-ing `icontains` over every column.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone

from modules.core import scope
from modules.core.models import Organization
from modules.subscribers.models import Subscriber
from modules.subscribers.validation import MAC_LIKE, normalize_mac, normalize_mobile

S = Subscriber.Status
RECENT_DAYS = 7
_PHONE = re.compile(r"^\+?[\d\s\-()]{6,20}$")


# Lists other modules add (billing: "unpaid"): name -> (label, narrowing function).
_extra_lists: dict[str, tuple[str, Callable[[QuerySet], QuerySet]]] = {}


def register_daily_list(name: str, label: str, narrow: Callable[[QuerySet], QuerySet]) -> None:
    """Add a quick filter owned by another module (it must be one indexed predicate)."""
    _extra_lists[name] = (label, narrow)


def extra_lists() -> list[tuple[str, str]]:
    return [(name, label) for name, (label, _) in _extra_lists.items()]


def visible_to(qs: QuerySet, user) -> QuerySet:
    """The user's scope as predicates the list indexes serve.

    A subscriber carries its tenant, so a whole-ISP scope is `tenant_id = X` (no join on
    organizations, and every list index leads with tenant_id); a partner's subtree adds its
    organization ids as a literal list (one small query), which the planner estimates well
    whatever the statistics of the organization table.
    """
    roots = scope.scope_roots(user)
    whole = sorted({r.tenant_id for r in roots if r.depth == 1})
    parts = [r for r in roots if r.depth != 1 and r.tenant_id not in whole]
    if not (whole or parts):
        return qs.none()
    allowed = Q(tenant_id__in=whole) if whole else None
    if parts:
        cached = getattr(user, "_subscriber_scope_orgs", None)
        if cached is None:
            cached = list(Organization.objects.filter(scope.subtree_q(parts))
                          .values_list("tenant_id", "pk"))
            user._subscriber_scope_orgs = cached
        for tenant_id in sorted({t for t, _ in cached}):
            branch = Q(tenant_id=tenant_id,
                       organization_id__in=[pk for t, pk in cached if t == tenant_id])
            allowed = branch if allowed is None else allowed | branch
        if allowed is None:
            return qs.none()
    return qs.filter(allowed)


def expiring_within(qs: QuerySet, days: int, now=None) -> QuerySet:
    """Running subscribers whose validity ends in the next `days` days."""
    now = now or timezone.now()
    return qs.filter(status__in=[S.ACTIVE, S.LIMITED], expires_at__gte=now,
                     expires_at__lt=now + timedelta(days=days))


def daily_list(qs: QuerySet, name: str, now=None) -> QuerySet:
    """A daily list by name: expiring_<N>, expired, overdue, suspended, limited, new, recent."""
    now = now or timezone.now()
    if name in _extra_lists:
        return _extra_lists[name][1](qs)
    if name.startswith("expiring_"):
        return expiring_within(qs, int(name.removeprefix("expiring_")), now)
    if name == "expired":
        return qs.filter(status=S.EXPIRED)
    if name == "overdue":  # still marked running although the validity has ended
        return qs.filter(status__in=[S.ACTIVE, S.LIMITED], expires_at__lt=now)
    if name in (S.SUSPENDED, S.LIMITED, S.NEW, S.TERMINATED):
        return qs.filter(status=name)
    if name == "recent":
        return qs.filter(created_at__gte=now - timedelta(days=RECENT_DAYS))
    raise ValueError(f"Unknown list {name!r}")


def search_q(term: str, region: str = "IN") -> Q:
    """One indexed lookup chosen by the shape of `term`."""
    term = term.strip()
    if not term:
        return Q()
    if MAC_LIKE.match(term):
        return Q(mac_address=normalize_mac(term))
    try:
        address = ipaddress.ip_address(term)
    except ValueError:
        address = None
    if address is not None:
        if address.version == 4:
            return Q(static_ipv4=str(address))
        return Q(ipv6_prefix__istartswith=term)
    if "@" in term:
        return Q(email__iexact=term) if "." in term.split("@")[-1] else Q(email__istartswith=term)
    if _PHONE.match(term) and sum(c.isdigit() for c in term) >= 6:
        try:
            return Q(mobile=normalize_mobile(term, region)) | Q(username__iexact=term)
        except ValidationError:
            pass
    return Q(username__icontains=term) | Q(name__icontains=term)


def search(qs: QuerySet, term: str, region: str = "IN") -> QuerySet:
    return qs.filter(search_q(term, region))


def status_history(subscriber: Subscriber, limit: int = 50):
    return subscriber.status_changes.select_related("actor")[:limit]
