"""Plan rules: when a plan's validity ends, and what the NAS is told to enforce for it."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from modules.core.tenancy import read_tenant_zone
from modules.plans.models import Plan, PlanAttribute

VENDORS = ("mikrotik", "cisco", "juniper", "huawei", "other")


def tenant_zone(tenant_id: int | None) -> ZoneInfo:
    """The tenant's time zone (Settings -> General), the deployment's when none is set."""
    return read_tenant_zone(tenant_id)


@dataclass(frozen=True)
class ExpiryPolicy:
    """A tenant's renewal rules that shape every validity period.

    `expiry_time`: the local time of day validity ends (None: the end of the day, 23:59:59).
    `cycle_day`: with a calendar cycle, month-based plans end on the eve of this day of the
    month, so every subscriber of the tenant shares one billing month (None: rolling).
    """

    zone: ZoneInfo
    expiry_time: time | None = None
    cycle_day: int | None = None


@dataclass(frozen=True)
class ValidityPeriod:
    """One validity period in local days: `first_day`..`last_day` are the days it covers and
    `full_first_day` the first day of the whole cycle it belongs to (earlier than `first_day`
    when a calendar cycle makes the first period a part of a cycle)."""

    first_day: date
    last_day: date
    full_first_day: date
    expires_at: datetime

    @property
    def fraction(self) -> tuple[int, int]:
        """(days covered, days of the whole cycle): the share of the price this period is worth."""
        return ((self.last_day - self.first_day).days + 1,
                (self.last_day - self.full_first_day).days + 1)


# Billing owns the renewal settings; it registers how to read them (plans cannot import it).
_policy_reader: Callable[[int | None], ExpiryPolicy] | None = None


def register_expiry_policy(reader: Callable[[int | None], ExpiryPolicy]) -> None:
    global _policy_reader
    _policy_reader = reader


def expiry_policy(tenant_id: int | None) -> ExpiryPolicy:
    """The tenant's expiry policy (end of day, rolling, when no reader is registered)."""
    if _policy_reader is not None:
        return _policy_reader(tenant_id)
    return ExpiryPolicy(zone=tenant_zone(tenant_id))


def _add_months(day, months: int):
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return day.replace(year=year, month=month, day=min(day.day, last))


def _next_day_of_month(first_day: date, day_of_month: int) -> date:
    """The first date after `first_day` that falls on `day_of_month` (1-28)."""
    boundary = first_day.replace(day=day_of_month)
    return boundary if boundary > first_day else _add_months(boundary, 1)


def validity_period(plan: Plan, start: datetime, policy: ExpiryPolicy | None = None
                    ) -> ValidityPeriod:
    """The validity bought at `start`, in the tenant's zone, under its expiry policy.

    Days are counted as the tenant's renewal days, each ending at the expiry time; the day the
    plan is bought counts as the first. Days: 30 days bought on the 1st end on the 30th.
    Months: on the eve of the same date N months later (clamped in short months). Fixed day:
    on the eve of the next occurrence of that day. A calendar cycle makes month plans end on
    the eve of the next bill cycle day (N-1 months later for N-month plans): the first period
    is then shorter than a cycle, and billing may prorate it.
    """
    if policy is None:
        policy = expiry_policy(plan.organization.tenant_id if plan.organization_id else None)
    local = timezone.localtime(start, policy.zone)
    first_day = local.date()
    end_time = policy.expiry_time or time(23, 59, 59)
    if policy.expiry_time is not None and local.time() >= policy.expiry_time:
        first_day += timedelta(days=1)  # that renewal day has already ended
    value = max(int(plan.validity_value or 1), 1)
    full_first_day = first_day
    if plan.validity_unit == Plan.ValidityUnit.MONTHS and policy.cycle_day:
        boundary = _add_months(_next_day_of_month(first_day, min(policy.cycle_day, 28)),
                               value - 1)
        last_day = boundary - timedelta(days=1)
        full_first_day = _add_months(boundary, -value)
    elif plan.validity_unit == Plan.ValidityUnit.MONTHS:
        last_day = _add_months(first_day, value) - timedelta(days=1)
    elif plan.validity_unit == Plan.ValidityUnit.FIXED_DAY:
        last_day = _next_day_of_month(first_day, min(value, 28)) - timedelta(days=1)
    else:
        last_day = first_day + timedelta(days=value - 1)
    expires_at = datetime.combine(last_day, end_time).replace(tzinfo=policy.zone)
    return ValidityPeriod(first_day, last_day, full_first_day, expires_at)


def compute_expiry(plan: Plan, start: datetime, policy: ExpiryPolicy | None = None) -> datetime:
    """When the plan bought at `start` expires (see `validity_period`); the one place expiry is
    computed. Pass `policy` to price many subscribers of one tenant without re-reading it."""
    return validity_period(plan, start, policy).expires_at


def rate_text(kbps: int) -> str:
    """MikroTik rate text: whole megabits as `M`, anything else in `k`."""
    return f"{kbps // 1000}M" if kbps and kbps % 1000 == 0 else f"{kbps}k"


def _pair(rx: int | None, tx: int | None) -> str:
    return f"{rate_text(rx or 0)}/{rate_text(tx or 0)}"


def _mikrotik(plan: Plan, down: int, up: int) -> list[tuple[str, str]]:
    # MikroTik's "rx" is the client's upload, so the upload rate comes first.
    parts = [_pair(up, down)]
    if plan.burst_download_kbps and plan.burst_upload_kbps:
        parts.append(_pair(plan.burst_upload_kbps, plan.burst_download_kbps))
        parts.append(_pair(plan.burst_threshold_upload_kbps or up,
                           plan.burst_threshold_download_kbps or down))
        seconds = plan.burst_time_seconds or 10
        parts.append(f"{seconds}/{seconds}")
        if plan.priority:
            parts.append(str(plan.priority))
    return [("Mikrotik-Rate-Limit", " ".join(parts))]


def _cisco(plan: Plan, down: int, up: int, throttled: bool) -> list[tuple[str, str]]:
    # IOS XE enforces named policy-maps that exist on the router; a throttle uses the
    # rate-named policies (e.g. "RATE-2M") operators keep for FUP.
    policy_in = plan.cisco_policy_in if plan.cisco_policy_in and not throttled else (
        f"RATE-{rate_text(up).upper()}")
    policy_out = plan.cisco_policy_out if plan.cisco_policy_out and not throttled else (
        f"RATE-{rate_text(down).upper()}")
    return [("Cisco-AVPair", f"ip:sub-qos-policy-in={policy_in}"),
            ("Cisco-AVPair", f"ip:sub-qos-policy-out={policy_out}")]


def _juniper(plan: Plan, down: int, up: int, throttled: bool) -> list[tuple[str, str]]:
    service = plan.juniper_service if plan.juniper_service and not throttled else (
        f"svc({down * 1000},{up * 1000})")
    return [("ERX-Service-Activate", service)]


def _huawei(plan: Plan, down: int, up: int, throttled: bool) -> list[tuple[str, str]]:
    # Huawei rates are integers in bit/s; "input" is traffic from the subscriber.
    attrs = [("Huawei-Input-Average-Rate", str(up * 1000)),
             ("Huawei-Output-Average-Rate", str(down * 1000))]
    if plan.burst_download_kbps and plan.burst_upload_kbps and not throttled:
        attrs += [("Huawei-Input-Peak-Rate", str(plan.burst_upload_kbps * 1000)),
                  ("Huawei-Output-Peak-Rate", str(plan.burst_download_kbps * 1000))]
    if plan.huawei_qos_profile and not throttled:
        attrs.append(("Huawei-Qos-Profile-Name", plan.huawei_qos_profile))
    return attrs


def reply_attributes(plan: Plan, vendor: str, *, download_kbps=None,
                     upload_kbps=None) -> list[tuple[str, str]]:
    """RADIUS reply attributes for a NAS of `vendor`, from the plan's rates or override rates.

    The plan's PlanAttribute rows for this vendor (or "any") are applied last: one that
    `replaces_generated` drops every generated attribute of its name; all of them are appended,
    so an attribute may repeat (several Cisco-AVPair values).
    """
    vendor = (vendor or "other").lower()
    throttled = download_kbps is not None or upload_kbps is not None
    down = download_kbps if download_kbps is not None else plan.download_kbps
    up = upload_kbps if upload_kbps is not None else plan.upload_kbps
    generated: list[tuple[str, str]] = []
    if down or up:
        if vendor == "mikrotik":
            generated = _mikrotik(plan, down, up) if not throttled else [
                ("Mikrotik-Rate-Limit", _pair(up, down))]
        elif vendor == "cisco":
            generated = _cisco(plan, down, up, throttled)
        elif vendor == "juniper":
            generated = _juniper(plan, down, up, throttled)
        elif vendor == "huawei":
            generated = _huawei(plan, down, up, throttled)
    if plan.ip_pool_name:
        generated.append(("Framed-Pool", plan.ip_pool_name))
    wanted = (vendor, PlanAttribute.Vendor.ANY)
    overrides = [a for a in _plan_attributes(plan) if a.vendor in wanted]
    replaced = {a.attribute for a in overrides if a.replaces_generated}
    return [pair for pair in generated if pair[0] not in replaced] + [
        (a.attribute, a.value) for a in overrides
    ]


def _plan_attributes(plan: Plan) -> list[PlanAttribute]:
    cache = getattr(plan, "_prefetched_objects_cache", {})
    if "attributes" in cache:
        return list(cache["attributes"])
    return list(plan.attributes.all()) if plan.pk else []
