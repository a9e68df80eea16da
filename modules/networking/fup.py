"""Fair-usage cycles: where the current quota cycle of a subscriber starts.

A plan resetting "each calendar month" starts its cycle on the 1st at midnight in the
tenant's zone; "each billing cycle" starts on the activation anniversary (every N days for
day-based validity, else the same day of each month).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from django.utils import timezone

THRESHOLDS = (80, 90, 100)


@lru_cache(maxsize=256)
def _zone(tenant_id):
    from modules.plans.services import tenant_zone

    return tenant_zone(tenant_id)


def forget_zones() -> None:
    _zone.cache_clear()


def cycle_start(*, tenant_id, quota_reset: str, validity_unit: str, validity_value: int,
                activated_at: datetime | None, now: datetime | None = None) -> datetime:
    zone = _zone(tenant_id)
    local_now = timezone.localtime(now or timezone.now(), zone)
    month_start = local_now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if quota_reset == "month" or activated_at is None:
        return month_start
    anchor = timezone.localtime(activated_at, zone).replace(hour=0, minute=0, second=0,
                                                            microsecond=0)
    if anchor > local_now:
        return anchor
    if validity_unit == "days":
        period = timedelta(days=max(1, validity_value))
        return anchor + period * ((local_now - anchor) // period)
    day = min(anchor.day, 28)
    start = local_now.replace(day=day, hour=0, minute=0, second=0, microsecond=0)
    if start > local_now:
        start = (start.replace(day=1) - timedelta(days=1)).replace(day=day)
    return start


def current_cycle_start(subscriber, now: datetime | None = None) -> datetime | None:
    """None when the subscriber's plan has no data quota."""
    plan = subscriber.plan
    if plan is None or not plan.quota_mb:
        return None
    return cycle_start(tenant_id=subscriber.tenant_id, quota_reset=plan.quota_reset,
                       validity_unit=plan.validity_unit, validity_value=plan.validity_value,
                       activated_at=subscriber.activated_at, now=now)


def crossed(before: int, after: int, limit: int) -> list[int]:
    """Thresholds (percent) crossed going from `before` to `after` octets of `limit`."""
    return [t for t in THRESHOLDS if before * 100 < t * limit <= after * 100]
