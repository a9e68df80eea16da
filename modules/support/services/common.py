"""Errors, scope checks, history rows and the one notification function support uses."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied

from modules.core import scope
from modules.support.models import SupportNotification, Ticket, TicketEvent

logger = logging.getLogger("modules.support")


class SupportError(ValueError):
    """A support rule refused the request; the message says why, for the operator."""


class TransitionError(SupportError):
    pass


class AttachmentRefused(SupportError):
    pass


class VisitError(SupportError):
    pass


def check_scope(actor, organization) -> None:
    """Refuse an actor acting outside its organization subtree (None: system or self-care)."""
    if actor is not None and not scope.in_scope(actor, organization):
        raise PermissionDenied("Not in your scope.")


def record(ticket: Ticket, kind: str, *, actor=None, note: str = "", from_status: str = "",
           to_status: str = "") -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket, kind=kind, actor=actor, note=note[:500], from_status=from_status,
        to_status=to_status,
    )


def notify(*, recipient, event: str, message: str, ticket: Ticket | None = None,
           organization=None) -> SupportNotification:
    """Queue a notice for a portal user: one outbox row and one log line.

    Email/SMS delivery reads the outbox (`sent_at` empty), so a notice is never lost with a
    failing provider and never sent twice by a repeated job.
    """
    row = SupportNotification.objects.create(
        recipient=recipient, event=event, message=message[:500], ticket=ticket,
        organization=organization if organization is not None else ticket.organization,
    )
    logger.info("support notice %s to %s: %s", event, recipient.username, message)
    return row


def register_outbox() -> None:
    """Let the notifications module email support notices to the staff they are for."""
    from modules.notifications.outbox import MAX_ATTEMPTS, Envelope, Outbox, register

    def envelope(notice: SupportNotification) -> Envelope:
        subject = notice.get_event_display()
        if notice.ticket_id:
            subject = f"{subject}: ticket #{notice.ticket_id} {notice.ticket.summary}"[:200]
        return Envelope(notice.organization.tenant_id, "email", notice.recipient.email,
                        subject, notice.message)

    register(Outbox(
        name="staff notices",
        pending=lambda: SupportNotification.objects.filter(
            sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS,
        ).select_related("recipient", "organization", "ticket").order_by("pk"),
        envelope=envelope, sent_status=None, failed_status=None, skipped_status=None,
    ))
