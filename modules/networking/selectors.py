"""Reads of the networking module: policy settings, pool utilization, online sessions."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from modules.networking.models import Ipv4Lease, Ipv4Pool, Ipv6Lease, Ipv6Pool, RadiusSession

UNPAID_MODES = ("reject", "walled_garden")


def unpaid_access_mode(tenant_id: int | None) -> str:
    """What expired and unpaid-in-grace subscribers get: "reject" or "walled_garden".

    Settings -> Billing Engine decides per tenant; a tenant without billing settings gets the
    deployment's `RADIUS_UNPAID_MODE`.
    """
    from modules.billing.models import BillingSettings

    if tenant_id is not None:
        mode = (BillingSettings.objects.filter(tenant_id=tenant_id)
                .values_list("unpaid_access_mode", flat=True).first())
        if mode in UNPAID_MODES:
            return mode
    mode = getattr(settings, "RADIUS_UNPAID_MODE", "reject")
    return mode if mode in UNPAID_MODES else "reject"


def walled_garden() -> tuple[str, int]:
    """(pool name, rate in kbit/s) for the walled-garden reply."""
    return settings.RADIUS_WALLED_GARDEN_POOL, settings.RADIUS_WALLED_GARDEN_KBPS


def interim_interval() -> int:
    return max(60, int(getattr(settings, "RADIUS_INTERIM_INTERVAL", 300)))


def ipv4_utilization(pools: QuerySet[Ipv4Pool]) -> QuerySet[Ipv4Pool]:
    """Pools annotated with `size` and `used` (one grouped query for the whole page)."""
    return pools.annotate(size=Count("leases"),
                          used=Count("leases", filter=Q(leases__subscriber__isnull=False)))


def ipv6_utilization(pools: QuerySet[Ipv6Pool]) -> QuerySet[Ipv6Pool]:
    return pools.annotate(used=Count("leases", filter=Q(leases__subscriber__isnull=False)))


def pool_allocations(pool: Ipv4Pool, limit: int = 200):
    return (Ipv4Lease.objects.filter(pool=pool, subscriber__isnull=False)
            .select_related("subscriber", "nas").order_by("address")[:limit])


def prefix_allocations(pool: Ipv6Pool, limit: int = 200):
    return (Ipv6Lease.objects.filter(pool=pool, subscriber__isnull=False)
            .select_related("subscriber").order_by("index")[:limit])


def online_sessions(subscriber_id: int) -> QuerySet[RadiusSession]:
    return RadiusSession.objects.filter(subscriber_id=subscriber_id, stopped_at__isnull=True)
