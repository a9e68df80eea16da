"""Resolve the tenant (ISP) of a request from its host name."""

from __future__ import annotations

import os
import time
import zoneinfo

from django.utils import timezone

from modules.core.models import Tenant, TenantDomain

_CACHE_SECONDS = 30
_cache: dict[str, tuple[float, Tenant | None]] = {}
_zones: dict[int, tuple[float, zoneinfo.ZoneInfo]] = {}


def tenant_for_host(host: str) -> Tenant | None:
    """The tenant whose domain is `host`; with no domain matching, the default tenant.

    A single-ISP deployment needs no domain set up: every host resolves to its only tenant.
    The default tenant is the one named by ISP_DEFAULT_TENANT (its slug), else the oldest.
    """
    host = host.split(":")[0].strip().lower()
    now = time.monotonic()
    hit = _cache.get(host)
    if hit and hit[0] > now:
        return hit[1]
    domain = TenantDomain.objects.select_related("tenant").filter(domain=host).first()
    tenant = domain.tenant if domain and domain.tenant.is_active else default_tenant()
    _cache[host] = (now + _CACHE_SECONDS, tenant)
    return tenant


def read_tenant_zone(tenant_id: int | None) -> zoneinfo.ZoneInfo:
    """The tenant's time zone from Settings -> General, else the deployment's (also when the
    stored name is unknown: one bad row must not break every page)."""
    from modules.settings_hub.models import GeneralSettings

    name = None
    if tenant_id is not None:
        name = (GeneralSettings.objects.filter(tenant_id=tenant_id)
                .values_list("timezone", flat=True).first())
    try:
        return zoneinfo.ZoneInfo(name) if name else timezone.get_default_timezone()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.get_default_timezone()


def tenant_timezone(tenant: Tenant | None) -> zoneinfo.ZoneInfo:
    """`read_tenant_zone`, cached briefly per tenant for the request middleware."""
    if tenant is None:
        return timezone.get_default_timezone()
    now = time.monotonic()
    hit = _zones.get(tenant.pk)
    if hit and hit[0] > now:
        return hit[1]
    zone = read_tenant_zone(tenant.pk)
    _zones[tenant.pk] = (now + _CACHE_SECONDS, zone)
    return zone


def forget_cached_hosts() -> None:
    _cache.clear()
    _zones.clear()


def default_tenant() -> Tenant | None:
    active = Tenant.objects.filter(is_active=True)
    slug = os.environ.get("ISP_DEFAULT_TENANT")
    if slug:
        return active.filter(slug=slug).first()
    return active.order_by("pk").first()
