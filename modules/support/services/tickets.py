"""Tickets: opening (staff and self-care), details, assignment, comments and the lifecycle.

Every status change goes through `transition`, checked against TRANSITIONS, with the ticket
row locked and a history row written.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from modules.core import scope
from modules.support import selectors
from modules.support.models import (
    SupportNotification,
    Ticket,
    TicketCategory,
    TicketComment,
    TicketEvent,
)
from modules.support.services import sla
from modules.support.services.common import (
    SupportError,
    TransitionError,
    check_scope,
    notify,
    record,
)

S = Ticket.Status
TRANSITIONS: dict[str, frozenset[str]] = {
    S.OPEN: frozenset({S.IN_PROGRESS, S.WAITING, S.RESOLVED}),
    S.IN_PROGRESS: frozenset({S.WAITING, S.RESOLVED}),
    S.WAITING: frozenset({S.IN_PROGRESS, S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.OPEN}),  # to Open = reopen
    S.CLOSED: frozenset({S.OPEN}),  # reopen
}


def allowed_transitions(ticket: Ticket) -> list[str]:
    return [s for s in S.values if s in TRANSITIONS[ticket.status]]


def _locked(ticket: Ticket) -> Ticket:
    return (Ticket.objects.select_for_update(of=("self",))
            .select_related("organization", "sla_policy").get(pk=ticket.pk))


def _check_category(category, tenant_id) -> None:
    if category is not None and (category.tenant_id != tenant_id or not category.is_active):
        raise SupportError("Pick an active category of this ISP.")


@transaction.atomic
def open_ticket(*, actor, summary: str, subscriber=None, customer_name: str = "",
                customer_phone: str = "", customer_email: str = "", organization=None,
                category: TicketCategory | None = None, priority: str = "normal",
                description: str = "", channel: str = Ticket.Channel.PORTAL,
                now: datetime | None = None) -> Ticket:
    """Open a ticket for a subscriber (or a free-text customer) and start its SLA clock.

    The ticket belongs to the subscriber's organization, else to `organization`, else to the
    actor's home organization. Self-care calls this with `actor=None` and the subscriber.
    """
    if not summary.strip():
        raise SupportError("A ticket needs a summary.")
    if subscriber is None and not customer_name.strip():
        raise SupportError("Pick a subscriber or enter the customer's name.")
    if subscriber is not None:
        organization = subscriber.organization
    elif organization is None:
        organization = actor.organization if actor is not None else None
    if organization is None:
        raise SupportError("The ticket needs an organization.")
    check_scope(actor, organization)
    _check_category(category, organization.tenant_id)
    now = now or timezone.now()
    ticket = Ticket(
        tenant_id=organization.tenant_id, organization=organization, subscriber=subscriber,
        customer_name=customer_name.strip(), customer_phone=customer_phone,
        customer_email=customer_email, category=category, priority=priority,
        summary=summary.strip(), description=description, channel=channel, created_by=actor,
        created_at=now, sla_started_at=now,
    )
    sla.apply_sla(ticket)
    ticket.save()
    record(ticket, TicketEvent.Kind.CREATED, actor=actor, to_status=ticket.status,
           note=f"Opened via {ticket.get_channel_display()}")
    return ticket


@transaction.atomic
def update_details(ticket: Ticket, *, actor, summary=None, description=None, category=None,
                   priority=None) -> Ticket:
    """Edit what the ticket is about; a new priority or category re-times the SLA clock."""
    ticket = _locked(ticket)
    check_scope(actor, ticket.organization)
    changes = []
    if category is not None and category.pk != ticket.category_id:
        _check_category(category, ticket.tenant_id)
        ticket.category = category
        changes.append(f"category: {category}")
    if priority is not None and priority != ticket.priority:
        ticket.priority = priority
        changes.append(f"priority: {ticket.get_priority_display()}")
    if summary is not None and summary.strip() and summary.strip() != ticket.summary:
        ticket.summary = summary.strip()
        changes.append("summary")
    if description is not None and description != ticket.description:
        ticket.description = description
        changes.append("description")
    if not changes:
        return ticket
    if any(c.startswith(("category", "priority")) for c in changes):
        sla.apply_sla(ticket)
    ticket.save()
    record(ticket, TicketEvent.Kind.UPDATED, actor=actor, note=", ".join(changes))
    return ticket


@transaction.atomic
def assign(ticket: Ticket, *, actor, assignee=None, team=None, note: str = "") -> Ticket:
    """Give the ticket to an employee and/or a team; both must be able to reach the ticket."""
    ticket = _locked(ticket)
    check_scope(actor, ticket.organization)
    if assignee is None and team is None:
        raise SupportError("Pick an employee or a team.")
    if assignee is not None and not (assignee.is_active
                                     and scope.in_scope(assignee, ticket.organization)):
        raise SupportError(f"{assignee} cannot reach this ticket's organization.")
    if team is not None and not (team.is_active
                                 and team.organization.contains(ticket.organization)):
        raise SupportError(f"Team {team} does not serve this ticket's organization.")
    ticket.assignee, ticket.team = assignee, team
    ticket.save(update_fields=["assignee", "team", "updated_at"])
    who = " / ".join(str(x) for x in (assignee, team) if x is not None)
    record(ticket, TicketEvent.Kind.ASSIGNED, actor=actor, note=f"to {who}. {note}".strip())
    recipients = [assignee] if assignee is not None else list(team.members.filter(is_active=True))
    for person in recipients:
        if person != actor:
            notify(recipient=person, event=SupportNotification.Event.ASSIGNED, ticket=ticket,
                   message=f"{ticket.reference} assigned to you: {ticket.summary}")
    return ticket


@transaction.atomic
def add_comment(ticket: Ticket, *, actor, body: str,
                visibility: str = TicketComment.Visibility.INTERNAL,
                from_customer: bool = False, now: datetime | None = None) -> TicketComment:
    """An internal note or a reply; the first staff reply to the customer is the first response."""
    ticket = _locked(ticket)
    check_scope(actor, ticket.organization)
    if not body.strip():
        raise SupportError("A comment cannot be empty.")
    if from_customer:
        visibility = TicketComment.Visibility.REPLY
        if ticket.status == S.CLOSED:
            raise SupportError("This ticket is closed; open a new one.")
    comment = TicketComment.objects.create(ticket=ticket, body=body.strip(), author=actor,
                                           visibility=visibility, from_customer=from_customer)
    is_reply = visibility == TicketComment.Visibility.REPLY
    if is_reply and not from_customer and ticket.first_responded_at is None:
        ticket.first_responded_at = now or timezone.now()
        ticket.save(update_fields=["first_responded_at", "updated_at"])
    label = "customer reply" if from_customer else comment.get_visibility_display().lower()
    record(ticket, TicketEvent.Kind.COMMENT, actor=actor, note=label)
    return comment


@transaction.atomic
def transition(ticket: Ticket, to_status: str, *, actor, note: str = "", blocker: str = "",
               now: datetime | None = None) -> Ticket:
    """Move the ticket to `to_status` if TRANSITIONS allows it and its rules hold."""
    ticket = _locked(ticket)
    check_scope(actor, ticket.organization)
    from_status = ticket.status
    if to_status not in TRANSITIONS.get(from_status, ()):
        raise TransitionError(
            f"A ticket cannot go from {S(from_status).label} to {S(to_status).label}."
        )
    now = now or timezone.now()
    if to_status == S.WAITING:
        if not blocker.strip():
            raise TransitionError("Say what the ticket is waiting on (the blocker).")
        ticket.blocker = blocker.strip()[:255]
        sla.pause(ticket, now)
    elif from_status == S.WAITING:
        ticket.blocker = ""
        sla.resume(ticket, now)
    if to_status == S.CLOSED:
        visit = selectors.open_visits(ticket).first()
        if visit is not None:
            raise TransitionError(f"{visit} is still open; finish or fail it before closing.")
    if from_status == S.OPEN and actor is not None and ticket.first_responded_at is None:
        ticket.first_responded_at = now  # staff picked it up: that is the first response
    if to_status == S.RESOLVED:
        ticket.resolved_at = now
    elif to_status == S.CLOSED:
        ticket.closed_at = now
    elif to_status == S.OPEN:  # reopen: the resolution clock starts again
        ticket.resolved_at = ticket.closed_at = ticket.at_risk_flagged_at = None
        ticket.sla_started_at, ticket.paused_minutes = now, 0
        sla.apply_sla(ticket)
    ticket.status = to_status
    ticket.save()
    note_text = f"waiting on: {ticket.blocker}. {note}" if to_status == S.WAITING else note
    record(ticket, TicketEvent.Kind.STATUS, actor=actor, from_status=from_status,
           to_status=to_status, note=note_text.strip())
    return ticket
