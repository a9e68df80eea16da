"""SLA clocks: due times from the matching policy, pausing while Waiting, breach flagging.

The resolution clock runs from `sla_started_at` (opening or last reopening) and is pushed back
by the business minutes spent paused in Waiting; the first-response clock never pauses.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from modules.core import scope
from modules.core.models import User
from modules.support import selectors
from modules.support.business_time import add_business_minutes, business_minutes_between
from modules.support.models import SupportNotification, Ticket, TicketEvent
from modules.support.services.common import notify, record

BATCH = 200


def _calendar(ticket: Ticket):
    policy = ticket.sla_policy
    if policy is None or not policy.use_business_hours:
        return None
    cache = ticket.__dict__.setdefault("_calendar", {})
    if "cal" not in cache:
        cache["cal"] = selectors.calendar_for(ticket.tenant_id)
    return cache["cal"]


def apply_sla(ticket: Ticket) -> None:
    """Set the policy and due times of `ticket` from its priority and category (no save)."""
    ticket.sla_policy = selectors.policy_for(ticket.tenant_id, ticket.priority, ticket.category_id)
    policy = ticket.sla_policy
    if policy is None:
        ticket.first_response_due_at = ticket.resolution_due_at = ticket.at_risk_from = None
        return
    start = ticket.sla_started_at or ticket.created_at
    cal = _calendar(ticket)
    ticket.first_response_due_at = add_business_minutes(
        ticket.created_at, policy.first_response_minutes, cal)
    resolution = policy.resolution_minutes + ticket.paused_minutes
    ticket.resolution_due_at = add_business_minutes(start, resolution, cal)
    risk = policy.resolution_minutes * policy.at_risk_percent // 100 + ticket.paused_minutes
    ticket.at_risk_from = add_business_minutes(start, risk, cal)
    if ticket.at_risk_flagged_at and ticket.at_risk_from > timezone.now():
        ticket.at_risk_flagged_at = None  # the clock moved back out of the risk zone


def pause(ticket: Ticket, now: datetime) -> None:
    if ticket.sla_policy and ticket.sla_policy.pause_while_waiting and not ticket.paused_since:
        ticket.paused_since = now


def resume(ticket: Ticket, now: datetime) -> None:
    if ticket.paused_since is None:
        return
    ticket.paused_minutes += business_minutes_between(ticket.paused_since, now, _calendar(ticket))
    ticket.paused_since = None
    apply_sla(ticket)


def _recipients(ticket: Ticket, *, escalate: bool) -> list[User]:
    people: dict[int, User] = {}
    if ticket.assignee_id and ticket.assignee.is_active:
        people[ticket.assignee_id] = ticket.assignee
    elif ticket.team_id:
        people.update({u.pk: u for u in ticket.team.members.filter(is_active=True)})
    role = ticket.sla_policy.escalation_role if ticket.sla_policy_id else None
    if escalate and role is not None:
        for user in role.users.filter(is_active=True).select_related("organization"):
            if scope.in_scope(user, ticket.organization):
                people.setdefault(user.pk, user)
    return list(people.values())


def _flag(filter_q: Q, flag: str, event: str, kind: str, label: str, now: datetime,
          *, escalate: bool) -> int:
    """Flag due tickets in locked batches; a flagged row no longer matches, so a rerun (or a
    second worker, which skips locked rows) changes nothing."""
    done = 0
    while True:
        with transaction.atomic():
            batch = list(
                Ticket.objects.filter(filter_q, **{f"{flag}__isnull": True})
                .select_related("assignee", "team", "organization", "sla_policy__escalation_role")
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("pk")[:BATCH]
            )
            for ticket in batch:
                setattr(ticket, flag, now)
                ticket.save(update_fields=[flag, "updated_at"])
                record(ticket, kind, note=label)
                for person in _recipients(ticket, escalate=escalate):
                    notify(recipient=person, event=event, ticket=ticket,
                           message=f"{ticket.reference} {label}: {ticket.summary}")
            done += len(batch)
        if len(batch) < BATCH:
            return done


def check_sla(now: datetime | None = None) -> dict[str, int]:
    """Flag tickets at risk, and first responses and resolutions overdue; notify once each."""
    now = now or timezone.now()
    unresolved = Q(resolved_at__isnull=True) & ~Q(status=Ticket.Status.CLOSED)
    running = unresolved & Q(paused_since__isnull=True)
    return {
        "response_breached": _flag(
            unresolved & Q(first_responded_at__isnull=True, first_response_due_at__lte=now),
            "response_breached_at", SupportNotification.Event.RESPONSE_BREACHED,
            TicketEvent.Kind.BREACHED, "first response overdue", now, escalate=True),
        "resolution_breached": _flag(
            running & Q(resolution_due_at__lte=now),
            "resolution_breached_at", SupportNotification.Event.RESOLUTION_BREACHED,
            TicketEvent.Kind.BREACHED, "resolution overdue", now, escalate=True),
        "at_risk": _flag(
            running & Q(at_risk_from__lte=now, resolution_breached_at__isnull=True),
            "at_risk_flagged_at", SupportNotification.Event.AT_RISK,
            TicketEvent.Kind.AT_RISK, "SLA at risk", now, escalate=False),
    }
