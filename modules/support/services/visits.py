"""Field visits: scheduling, start, completion with materials, failure.

Statuses: assigned -> started -> completed | failed (assigned may also end directly).
Completed and failed are terminal. Completion locks the visit row, so a completion submitted
twice (double click, two tabs) takes stock out of the technician's location exactly once.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from modules.core import scope
from modules.inventory.services import InventoryError, install_at_subscriber, technician_location
from modules.support.models import FieldVisit, SupportNotification, Ticket, TicketEvent
from modules.support.models import VisitMaterial as Material
from modules.support.services.common import VisitError, check_scope, notify, record

V = FieldVisit.Status
NEXT = {V.ASSIGNED: {V.STARTED, V.COMPLETED, V.FAILED}, V.STARTED: {V.COMPLETED, V.FAILED}}


def _locked(visit: FieldVisit) -> FieldVisit:
    return (FieldVisit.objects.select_for_update(of=("self",))
            .select_related("organization", "subscriber", "technician", "ticket").get(pk=visit.pk))


def _move(visit: FieldVisit, to_status: str) -> None:
    if to_status in NEXT.get(visit.status, ()):
        return
    current = visit.get_status_display().lower()
    if not visit.is_open:
        raise VisitError(f"{visit} is already {current}; a finished visit does not change.")
    raise VisitError(f"{visit} is {current}; it cannot be {V(to_status).label.lower()} now.")


@transaction.atomic
def schedule_visit(*, actor, technician, scheduled_at: datetime, purpose: str, address: str = "",
                   ticket: Ticket | None = None, subscriber=None, organization=None) -> FieldVisit:
    """Send a technician to a customer, for a ticket or on its own (an installation, a survey).

    The visit belongs to the ticket's organization, else the subscriber's, else `organization`
    or the actor's. The technician must be able to reach it.
    """
    if ticket is not None:
        ticket = Ticket.objects.select_for_update(of=("self",)).select_related(
            "organization", "subscriber").get(pk=ticket.pk)
        if ticket.status == Ticket.Status.CLOSED:
            raise VisitError(f"{ticket.reference} is closed; reopen it first.")
        organization, subscriber = ticket.organization, subscriber or ticket.subscriber
    elif subscriber is not None:
        organization = subscriber.organization
    organization = organization or (actor.organization if actor is not None else None)
    if organization is None:
        raise VisitError("The visit needs an organization.")
    check_scope(actor, organization)
    if subscriber is not None and subscriber.organization_id != organization.pk and not (
            organization.contains(subscriber.organization)):
        raise VisitError("The subscriber does not belong to the ticket's organization.")
    if not (technician.is_active and scope.in_scope(technician, organization)):
        raise VisitError(f"{technician} cannot reach this customer's organization.")
    address = address.strip() or (subscriber.address if subscriber is not None else "")
    if not address:
        raise VisitError("Enter the address to visit.")
    if not purpose.strip():
        raise VisitError("Say what the visit is for.")
    visit = FieldVisit.objects.create(
        tenant_id=organization.tenant_id, organization=organization, ticket=ticket,
        subscriber=subscriber, technician=technician, scheduled_at=scheduled_at,
        address=address, purpose=purpose.strip(), created_by=actor,
    )
    when = timezone.localtime(scheduled_at).strftime("%d %b %Y %H:%M")
    if ticket is not None:
        record(ticket, TicketEvent.Kind.VISIT, actor=actor,
               note=f"{visit} scheduled for {when} with {technician}")
    notify(recipient=technician, event=SupportNotification.Event.VISIT_ASSIGNED, ticket=ticket,
           organization=organization, message=f"{visit} on {when} at {address[:200]}")
    return visit


@transaction.atomic
def add_material(visit: FieldVisit, *, actor, product, quantity: int = 1,
                 serial_unit=None) -> Material:
    """Note material for the visit; it leaves stock only when the visit completes."""
    visit = _locked(visit)
    check_scope(actor, visit.organization)
    if not visit.is_open:
        raise VisitError(f"{visit} is {visit.get_status_display().lower()}; materials are final.")
    if product.tenant_id != visit.tenant_id:
        raise VisitError(f"{product} is not in this ISP's catalogue.")
    if serial_unit is not None and (serial_unit.product_id != product.pk or quantity != 1):
        raise VisitError(f"Unit {serial_unit} is one {serial_unit.product.name}.")
    return Material.objects.create(visit=visit, product=product, quantity=quantity,
                                   serial_unit=serial_unit)


@transaction.atomic
def remove_material(line: Material, *, actor) -> None:
    """Drop a material line that has not left stock yet (the visit is still open)."""
    visit = _locked(line.visit)
    check_scope(actor, visit.organization)
    line = Material.objects.select_for_update().get(pk=line.pk)
    if line.movement_id is not None or not visit.is_open:
        raise VisitError(f"{line} has already left stock.")
    line.delete()


@transaction.atomic
def update_visit(visit: FieldVisit, *, actor, technician=None, scheduled_at=None, purpose=None,
                 address=None) -> FieldVisit:
    """Reschedule or hand over an open visit; the (new) technician is told."""
    visit = _locked(visit)
    check_scope(actor, visit.organization)
    if not visit.is_open:
        raise VisitError(f"{visit} is {visit.get_status_display().lower()}; it cannot change.")
    if technician is not None and not (technician.is_active
                                       and scope.in_scope(technician, visit.organization)):
        raise VisitError(f"{technician} cannot reach this customer's organization.")
    changed = {}
    for name, value in (("technician", technician), ("scheduled_at", scheduled_at),
                        ("purpose", purpose), ("address", address)):
        if value not in (None, "") and value != getattr(visit, name):
            changed[name] = value
    if not changed:
        return visit
    for name, value in changed.items():
        setattr(visit, name, value)
    visit.save(update_fields=list(changed))
    when = timezone.localtime(visit.scheduled_at).strftime("%d %b %Y %H:%M")
    if visit.ticket_id:
        record(visit.ticket, TicketEvent.Kind.VISIT, actor=actor,
               note=f"{visit} changed: {', '.join(changed)}; {when} with {visit.technician}")
    notify(recipient=visit.technician, event=SupportNotification.Event.VISIT_ASSIGNED,
           ticket=visit.ticket, organization=visit.organization,
           message=f"{visit} on {when} at {visit.address[:200]}")
    return visit


@transaction.atomic
def start_visit(visit: FieldVisit, *, actor, now: datetime | None = None) -> FieldVisit:
    visit = _locked(visit)
    check_scope(actor, visit.organization)
    _move(visit, V.STARTED)
    visit.status, visit.started_at = V.STARTED, now or timezone.now()
    visit.save(update_fields=["status", "started_at"])
    if visit.ticket_id:
        record(visit.ticket, TicketEvent.Kind.VISIT, actor=actor, note=f"{visit} started")
    return visit


@transaction.atomic
def complete_visit(visit: FieldVisit, *, actor, outcome_notes: str = "",
                   now: datetime | None = None) -> FieldVisit:
    """Finish the visit and take its materials out of the technician's stock, once.

    Serialized units land on the subscriber. Any stock refusal (not enough on hand, unit not
    in the technician's stock) rolls the whole completion back with the inventory's message.
    """
    visit = _locked(visit)
    check_scope(actor, visit.organization)
    _move(visit, V.COMPLETED)
    lines = list(visit.materials.filter(movement__isnull=True).select_related(
        "product", "serial_unit"))
    if lines and visit.subscriber is None:
        raise VisitError("Materials are installed at a subscriber: link the visit to one.")
    try:
        source = technician_location(visit.technician) if lines else None
        for line in lines:
            line.movement = install_at_subscriber(
                actor=actor, source=source, subscriber=visit.subscriber, product=line.product,
                quantity=line.quantity, serial_unit=line.serial_unit,
                reference=f"V-{visit.pk:06d}",
            )
            line.save(update_fields=["movement"])
    except InventoryError as refused:
        raise VisitError(str(refused)) from refused
    now = now or timezone.now()
    visit.status, visit.finished_at = V.COMPLETED, now
    visit.started_at = visit.started_at or now
    visit.outcome_notes = outcome_notes.strip()
    visit.save(update_fields=["status", "started_at", "finished_at", "outcome_notes"])
    if visit.ticket_id:
        used = ", ".join(str(line) for line in lines) or "no materials"
        record(visit.ticket, TicketEvent.Kind.VISIT, actor=actor,
               note=f"{visit} completed ({used}). {visit.outcome_notes}")
    return visit


@transaction.atomic
def fail_visit(visit: FieldVisit, *, actor, outcome_notes: str,
               now: datetime | None = None) -> FieldVisit:
    """The visit could not fix it (customer away, no access, fault upstream): say why."""
    visit = _locked(visit)
    check_scope(actor, visit.organization)
    _move(visit, V.FAILED)
    if not outcome_notes.strip():
        raise VisitError("Say why the visit failed.")
    visit.status, visit.finished_at = V.FAILED, now or timezone.now()
    visit.outcome_notes = outcome_notes.strip()
    visit.save(update_fields=["status", "finished_at", "outcome_notes"])
    if visit.ticket_id:
        record(visit.ticket, TicketEvent.Kind.VISIT, actor=actor,
               note=f"{visit} failed: {visit.outcome_notes}")
    return visit
