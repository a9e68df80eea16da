"""Reads for support: a subscriber's tickets, SLA policy and calendar lookup, SLA state, and
who may see which field visits.

Technician rule: a user who may work field visits but not dispatch them (holds
`field-visits.view` or `.edit`, lacks `field-visits.dispatch` and `field-visits.create`: the
Technician role) sees only the visits assigned to them, within its scope. Dispatchers see
every visit of their scope.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from modules.core import scope
from modules.support.business_time import Calendar
from modules.support.models import (
    BusinessHours,
    FieldVisit,
    Holiday,
    SlaPolicy,
    Ticket,
    TicketComment,
)

DISPATCH_PERMS = ("support.dispatch_fieldvisit", "support.add_fieldvisit")


def tickets_for_subscriber(subscriber) -> QuerySet[Ticket]:
    """The subscriber's tickets, newest first (its page and self-care list them)."""
    return (Ticket.objects.filter(subscriber=subscriber)
            .select_related("category", "assignee", "team").order_by("-created_at", "-id"))


def customer_visible_comments(ticket) -> QuerySet[TicketComment]:
    """The conversation as the customer sees it: replies only, never internal notes."""
    replies = ticket.comments.filter(visibility=TicketComment.Visibility.REPLY)
    return replies.select_related("author")


def policy_for(tenant_id: int, priority: str, category_id: int | None) -> SlaPolicy | None:
    """The most specific active policy: (priority, category), else (priority, any category)."""
    candidates = SlaPolicy.objects.filter(
        Q(category_id=category_id) | Q(category=None),
        tenant_id=tenant_id, priority=priority, is_active=True,
    )
    return candidates.order_by(F("category_id").asc(nulls_last=True)).first()


def tenant_timezone(tenant_id: int) -> ZoneInfo:
    from modules.settings_hub.models import GeneralSettings

    name = (GeneralSettings.objects.filter(tenant_id=tenant_id)
            .values_list("timezone", flat=True).first())
    return ZoneInfo(name or "Asia/Kolkata")


def calendar_for(tenant_id: int) -> Calendar:
    """The tenant's business calendar: time zone, weekly hours, holidays."""
    hours: dict[int, list] = {}
    for row in BusinessHours.objects.filter(tenant_id=tenant_id).order_by("weekday", "opens_at"):
        hours.setdefault(row.weekday, []).append((row.opens_at, row.closes_at))
    holidays = frozenset(Holiday.objects.filter(tenant_id=tenant_id).values_list("date", flat=True))
    return Calendar(tz=tenant_timezone(tenant_id), hours=hours, holidays=holidays)


def sla_state(ticket: Ticket, now: datetime | None = None) -> str:
    """"breached", "at_risk", "paused", "met", "on_track" or "" (no policy) for display."""
    if ticket.sla_policy_id is None and ticket.resolution_due_at is None:
        return ""
    now = now or timezone.now()
    if ticket.response_breached_at or ticket.resolution_breached_at:
        return "breached"
    if ticket.resolved_at:
        return "met"
    if ticket.paused_since:
        return "paused"
    if ticket.first_responded_at is None and ticket.first_response_due_at and (
            ticket.first_response_due_at <= now):
        return "breached"
    if ticket.resolution_due_at and ticket.resolution_due_at <= now:
        return "breached"
    if ticket.at_risk_flagged_at or (ticket.at_risk_from and ticket.at_risk_from <= now):
        return "at_risk"
    return "on_track"


def is_confined_to_own_visits(user) -> bool:
    if user.is_superuser or any(user.has_perm(perm) for perm in DISPATCH_PERMS):
        return False
    return user.has_perm("support.view_fieldvisit") or user.has_perm("support.change_fieldvisit")


def visible_visits(user, qs: QuerySet[FieldVisit] | None = None) -> QuerySet[FieldVisit]:
    """Field visits `user` may see: its scope, narrowed to its own visits for a technician."""
    qs = scope.restrict_to_scope(qs if qs is not None else FieldVisit.objects.all(), user,
                                 "organization")
    return qs.filter(technician=user) if is_confined_to_own_visits(user) else qs


def open_visits(ticket: Ticket) -> QuerySet[FieldVisit]:
    return ticket.visits.filter(status__in=FieldVisit.OPEN_STATUSES)
