"""The ticket lifecycle: every transition, its rules and its history; opening and comments."""

import itertools

import pytest
from django.core.exceptions import PermissionDenied

from modules.support import selectors, services
from modules.support.models import Ticket, TicketComment, TicketEvent

S = Ticket.Status
# Worked out from the product's lifecycle: Open -> In progress -> Waiting -> Resolved ->
# Closed, reopen from Resolved or Closed; nothing skips Resolved on the way to Closed.
ALLOWED = {
    (S.OPEN, S.IN_PROGRESS), (S.OPEN, S.WAITING), (S.OPEN, S.RESOLVED),
    (S.IN_PROGRESS, S.WAITING), (S.IN_PROGRESS, S.RESOLVED),
    (S.WAITING, S.IN_PROGRESS), (S.WAITING, S.RESOLVED),
    (S.RESOLVED, S.CLOSED), (S.RESOLVED, S.OPEN),
    (S.CLOSED, S.OPEN),
}
PAIRS = list(itertools.product(S.values, S.values))


def open_for(world, subscriber, **kw):
    return services.open_ticket(actor=world.users["isp_admin"], subscriber=subscriber,
                                summary="No internet since morning", **kw)


@pytest.mark.parametrize(("from_status", "to_status"), PAIRS)
def test_every_transition_is_allowed_or_refused_as_the_table_says(world, subscriber,
                                                                  from_status, to_status):
    ticket = open_for(world, subscriber)
    Ticket.objects.filter(pk=ticket.pk).update(status=from_status)
    before = TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.STATUS).count()
    if (from_status, to_status) in ALLOWED:
        done = services.transition(ticket, to_status, actor=world.users["isp_admin"],
                                   blocker="Awaiting fibre splicing kit")
        assert done.status == to_status
        event = TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.STATUS).last()
        assert (event.from_status, event.to_status) == (from_status, to_status)
        assert event.actor == world.users["isp_admin"]
    else:
        with pytest.raises(services.TransitionError):
            services.transition(ticket, to_status, actor=world.users["isp_admin"], blocker="x")
        ticket.refresh_from_db()
        assert ticket.status == from_status
        assert TicketEvent.objects.filter(ticket=ticket,
                                          kind=TicketEvent.Kind.STATUS).count() == before


def test_the_transition_table_is_the_one_the_service_enforces():
    table = {(a, b) for a, targets in services.TRANSITIONS.items() for b in targets}
    assert table == ALLOWED


def test_waiting_needs_a_blocker_and_records_it(world, subscriber):
    ticket = open_for(world, subscriber)
    with pytest.raises(services.TransitionError, match="waiting on"):
        services.transition(ticket, S.WAITING, actor=world.users["isp_admin"], blocker="  ")
    ticket = services.transition(ticket, S.WAITING, actor=world.users["isp_admin"],
                                 blocker="Customer to confirm a visit slot")
    assert ticket.blocker == "Customer to confirm a visit slot"
    assert "Customer to confirm" in ticket.events.last().note
    ticket = services.transition(ticket, S.IN_PROGRESS, actor=world.users["isp_admin"])
    assert ticket.blocker == ""


def test_resolve_close_and_reopen_set_and_clear_their_times(world, subscriber):
    admin = world.users["isp_admin"]
    ticket = open_for(world, subscriber)
    ticket = services.transition(ticket, S.RESOLVED, actor=admin)
    assert ticket.resolved_at is not None
    ticket = services.transition(ticket, S.CLOSED, actor=admin)
    assert ticket.closed_at is not None
    ticket = services.transition(ticket, S.OPEN, actor=admin, note="Down again")
    assert (ticket.status, ticket.resolved_at, ticket.closed_at) == (S.OPEN, None, None)


def test_a_ticket_with_an_open_visit_cannot_be_closed(world, subscriber):
    admin = world.users["isp_admin"]
    ticket = open_for(world, subscriber)
    visit = services.schedule_visit(actor=admin, technician=world.users["lco1"], ticket=ticket,
                                    scheduled_at=ticket.created_at, purpose="Check ONT")
    services.transition(ticket, S.RESOLVED, actor=admin)
    with pytest.raises(services.TransitionError, match="still open"):
        services.transition(ticket, S.CLOSED, actor=admin)
    services.fail_visit(visit, actor=admin, outcome_notes="Customer not at home")
    assert services.transition(ticket, S.CLOSED, actor=admin).status == S.CLOSED


def test_a_ticket_belongs_to_its_subscribers_organization(world, subscriber):
    ticket = services.open_ticket(actor=world.users["dist"], subscriber=subscriber,
                                  organization=world.orgs["lco2"], summary="Slow speed")
    assert ticket.organization == world.orgs["lco1"]
    assert ticket.tenant == world.tenant
    assert ticket.events.get().kind == TicketEvent.Kind.CREATED


def test_a_walk_in_customers_ticket_belongs_to_the_openers_organization(world):
    ticket = services.open_ticket(actor=world.users["lco1"], customer_name="Anil Kapoor",
                                  customer_phone="+919800000001", summary="New connection")
    assert ticket.organization == world.orgs["lco1"]
    with pytest.raises(services.SupportError, match="subscriber or enter"):
        services.open_ticket(actor=world.users["lco1"], summary="Who is this?")


def test_a_partner_cannot_open_or_move_tickets_outside_its_subtree(world, subscriber):
    with pytest.raises(PermissionDenied):
        services.open_ticket(actor=world.users["partner"], subscriber=subscriber, summary="x")
    ticket = open_for(world, subscriber)
    with pytest.raises(PermissionDenied):
        services.transition(ticket, S.IN_PROGRESS, actor=world.users["partner"])
    with pytest.raises(PermissionDenied):
        services.add_comment(ticket, actor=world.users["partner"], body="hello")


def test_self_care_opens_tickets_and_sees_only_replies(world, subscriber):
    ticket = services.open_ticket(actor=None, subscriber=subscriber, summary="Router blinking red",
                                  channel=Ticket.Channel.SELFCARE)
    services.add_comment(ticket, actor=world.users["isp_admin"], body="Line test shows a fault",
                         visibility=TicketComment.Visibility.INTERNAL)
    services.add_comment(ticket, actor=world.users["isp_admin"], body="A technician is coming",
                         visibility=TicketComment.Visibility.REPLY)
    services.add_comment(ticket, actor=None, body="Thanks", from_customer=True)
    assert list(selectors.tickets_for_subscriber(subscriber)) == [ticket]
    bodies = [c.body for c in selectors.customer_visible_comments(ticket)]
    assert bodies == ["A technician is coming", "Thanks"]


def test_the_first_staff_reply_is_the_first_response_internal_notes_are_not(world, subscriber):
    ticket = open_for(world, subscriber)
    services.add_comment(ticket, actor=world.users["isp_admin"], body="checking",
                         visibility=TicketComment.Visibility.INTERNAL)
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None
    services.add_comment(ticket, actor=world.users["isp_admin"], body="We are on it",
                         visibility=TicketComment.Visibility.REPLY)
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None


def test_assignment_needs_someone_who_can_reach_the_ticket(world, subscriber):
    ticket = open_for(world, subscriber)
    with pytest.raises(services.SupportError, match="cannot reach"):
        services.assign(ticket, actor=world.users["isp_admin"], assignee=world.users["partner"])
    ticket = services.assign(ticket, actor=world.users["isp_admin"], assignee=world.users["lco1"])
    assert ticket.assignee == world.users["lco1"]
    note = world.users["lco1"].support_notifications.get()
    assert note.event == "assigned" and ticket.reference in note.message
