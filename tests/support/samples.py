"""Sample factories for the support admins (see tests/samples.py)."""

from datetime import date, time, timedelta

from django.utils import timezone

from modules.core.models import User
from modules.inventory.models import Product
from modules.subscribers.models import Subscriber
from modules.support.models import (
    BusinessHours,
    FieldVisit,
    Holiday,
    SlaPolicy,
    SupportNotification,
    SupportTeam,
    Ticket,
    TicketAttachment,
    TicketCategory,
    TicketComment,
    TicketEvent,
    VisitMaterial,
)
from tests.samples import sample

_counter = iter(range(1, 10**9))


def _n():
    return next(_counter)


def make_subscriber(org, **fields):
    n = _n()
    return Subscriber.objects.create(
        tenant_id=org.tenant_id, organization=org, username=f"sub{n}", name=f"Customer {n}",
        address=f"{n} MG Road, Pune", **fields)


def make_user(org, **fields):
    return User.objects.create(username=f"staff{_n()}", organization=org, **fields)


@sample("support.ticketcategory")
def category(org):
    return TicketCategory.objects.create(tenant_id=org.tenant_id, name=f"No connectivity {_n()}")


@sample("support.slapolicy")
def sla_policy(org):
    return SlaPolicy.objects.create(
        tenant_id=org.tenant_id, name=f"Urgent outage {_n()}", priority="urgent",
        category=category(org), first_response_minutes=30, resolution_minutes=240)


@sample("support.businesshours")
def business_hours(org):
    return BusinessHours.objects.create(tenant_id=org.tenant_id, weekday=_n() % 7,
                                        opens_at=time(9), closes_at=time(18))


@sample("support.holiday")
def holiday(org):
    return Holiday.objects.create(tenant_id=org.tenant_id, name="Festival",
                                  date=date(2030, 1, 1) + timedelta(days=_n()))


@sample("support.supportteam")
def team(org):
    return SupportTeam.objects.create(organization=org, name=f"Field team {_n()}")


@sample("support.ticket")
def ticket(org):
    now = timezone.now()
    return Ticket.objects.create(tenant_id=org.tenant_id, organization=org,
                                 customer_name=f"Walk-in {_n()}", summary="Fibre cut near pole",
                                 created_at=now, sla_started_at=now)


@sample("support.ticketcomment")
def comment(org):
    return TicketComment.objects.create(ticket=ticket(org), body="Checked the ONT lights.")


@sample("support.ticketattachment")
def attachment(org):
    return TicketAttachment.objects.create(ticket=ticket(org), file="tickets/0/speedtest.png",
                                           original_name="speedtest.png",
                                           content_type="image/png", size=1234)


@sample("support.ticketevent")
def event(org):
    return TicketEvent.objects.create(ticket=ticket(org), kind=TicketEvent.Kind.CREATED)


@sample("support.supportnotification")
def notification(org):
    return SupportNotification.objects.create(
        organization=org, recipient=make_user(org), event=SupportNotification.Event.ASSIGNED,
        message="T-000001 assigned to you")


@sample("support.fieldvisit")
def visit(org):
    return FieldVisit.objects.create(
        tenant_id=org.tenant_id, organization=org, technician=make_user(org),
        scheduled_at=timezone.now(), address="12 Baner Road", purpose="Install ONT")


@sample("support.visitmaterial")
def material(org):
    product = Product.objects.create(organization=org, sku=f"DROP{_n()}", name="Drop cable",
                                     unit="metre")
    return VisitMaterial.objects.create(visit=visit(org), product=product, quantity=30)
