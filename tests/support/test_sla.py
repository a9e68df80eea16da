"""SLA due times in business time, pausing while Waiting, and idempotent breach flagging.

Calendar as in test_business_time: Asia/Kolkata, Mon-Fri 09-18, Sat 09-13, Sunday closed,
Monday 26 Jan 2026 a holiday; 23 Jan 2026 is a Friday.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from modules.core.models import Role
from modules.support import selectors, services
from modules.support.models import (
    BusinessHours,
    Holiday,
    SlaPolicy,
    SupportNotification,
    Ticket,
    TicketCategory,
    TicketEvent,
)
from modules.support.tasks import check_sla as check_sla_task

IST = ZoneInfo("Asia/Kolkata")


def ist(day, hour, minute=0):
    return datetime(2026, 1, day, hour, minute, tzinfo=IST)


@pytest.fixture
def calendar(kolkata):
    tenant = kolkata.tenant
    for weekday in range(5):
        BusinessHours.objects.create(tenant=tenant, weekday=weekday, opens_at=time(9),
                                     closes_at=time(18))
    BusinessHours.objects.create(tenant=tenant, weekday=5, opens_at=time(9), closes_at=time(13))
    Holiday.objects.create(tenant=tenant, date=date(2026, 1, 26), name="Republic Day")
    return kolkata


@pytest.fixture
def escalation(world):
    return Role.objects.create(tenant=world.tenant, name="Support lead")


@pytest.fixture
def policy(calendar, escalation):
    return SlaPolicy.objects.create(
        tenant=calendar.tenant, name="High", priority="high", first_response_minutes=60,
        resolution_minutes=480, escalation_role=escalation)


def open_high(world, subscriber, when, **kw):
    return services.open_ticket(actor=world.users["isp_admin"], subscriber=subscriber,
                                summary="Link down", priority="high", now=when, **kw)


def test_due_times_skip_the_weekend_and_the_holiday(world, policy, subscriber):
    ticket = open_high(world, subscriber, ist(23, 16))
    assert ticket.sla_policy == policy
    assert ticket.first_response_due_at == ist(23, 17)
    # 480 min: Fri 16-18 (120) + Sat 09-13 (240) + Tue 09:00 + 120 -> Tue 11:00.
    assert ticket.resolution_due_at == ist(27, 11)
    # At risk at 80 % = 384 min: 360 by Saturday's close, then Tue 09:00 + 24 -> 09:24.
    assert ticket.at_risk_from == ist(27, 9, 24)


def test_a_category_policy_wins_over_the_priority_policy(world, policy, subscriber):
    outage = TicketCategory.objects.create(tenant=world.tenant, name="Area outage")
    SlaPolicy.objects.create(tenant=world.tenant, name="High outage", priority="high",
                             category=outage, first_response_minutes=15, resolution_minutes=120,
                             use_business_hours=False)
    ticket = open_high(world, subscriber, ist(24, 20), category=outage)
    assert ticket.first_response_due_at == ist(24, 20, 15)  # wall clock: no business hours
    assert ticket.resolution_due_at == ist(24, 22)


def test_a_new_priority_re_times_the_clock(world, policy, subscriber):
    ticket = services.open_ticket(actor=world.users["isp_admin"], subscriber=subscriber,
                                  summary="Slow", priority="low", now=ist(23, 16))
    assert ticket.sla_policy is None and ticket.resolution_due_at is None
    ticket = services.update_details(ticket, actor=world.users["isp_admin"], priority="high")
    assert ticket.resolution_due_at == ist(27, 11)


def test_waiting_pauses_the_resolution_clock(world, policy, subscriber):
    admin = world.users["isp_admin"]
    ticket = open_high(world, subscriber, ist(27, 10))
    assert ticket.resolution_due_at == ist(27, 18)
    services.transition(ticket, Ticket.Status.WAITING, actor=admin, blocker="Permit from society",
                        now=ist(27, 12))
    ticket = services.transition(ticket, Ticket.Status.IN_PROGRESS, actor=admin, now=ist(28, 10))
    # Paused Tue 12-18 (360) + Wed 09-10 (60) = 420 business minutes; worked Tue 10-12 (2 h),
    # so the remaining 6 h run from Wed 10:00 -> Wed 16:00.
    assert ticket.paused_minutes == 420
    assert ticket.resolution_due_at == ist(28, 16)


def test_waiting_does_not_pause_when_the_policy_says_so(world, policy, subscriber):
    policy.pause_while_waiting = False
    policy.save()
    ticket = open_high(world, subscriber, ist(27, 10))
    services.transition(ticket, Ticket.Status.WAITING, actor=world.users["isp_admin"],
                        blocker="Parts", now=ist(27, 12))
    ticket = services.transition(ticket, Ticket.Status.IN_PROGRESS,
                                 actor=world.users["isp_admin"], now=ist(28, 10))
    assert ticket.resolution_due_at == ist(27, 18)


def test_breach_check_flags_and_notifies_once(world, policy, escalation, subscriber, make_staff):
    lead = make_staff("lead_asha", world.orgs["root"], [])
    lead.roles.add(escalation)
    far_lead = make_staff("lead_far", world.orgs["partner"], [])
    far_lead.roles.add(escalation)  # same role, but the ticket is outside its subtree
    ticket = open_high(world, subscriber, ist(23, 16))
    services.assign(ticket, actor=world.users["isp_admin"], assignee=world.users["lco1"])
    SupportNotification.objects.all().delete()

    counts = services.check_sla(now=ist(27, 12))
    assert counts == {"response_breached": 1, "resolution_breached": 1, "at_risk": 0}
    ticket.refresh_from_db()
    assert ticket.response_breached_at == ist(27, 12)
    assert ticket.resolution_breached_at == ist(27, 12)
    assert selectors.sla_state(ticket) == "breached"
    notices = sorted(SupportNotification.objects.values_list("recipient__username", "event"))
    assert notices == [("lco1_user", "resolution_breached"), ("lco1_user", "response_breached"),
                       ("lead_asha", "resolution_breached"), ("lead_asha", "response_breached")]

    again = services.check_sla(now=ist(27, 13))
    assert again == {"response_breached": 0, "resolution_breached": 0, "at_risk": 0}
    assert SupportNotification.objects.count() == 4
    assert ticket.events.filter(kind=TicketEvent.Kind.BREACHED).count() == 2


def test_at_risk_is_flagged_before_the_breach_and_only_to_the_assignee(world, policy,
                                                                        subscriber):
    ticket = open_high(world, subscriber, ist(23, 16))
    services.assign(ticket, actor=world.users["isp_admin"], assignee=world.users["lco1"])
    services.add_comment(ticket, actor=world.users["lco1"], body="Looking", visibility="reply",
                         now=ist(23, 16, 30))
    SupportNotification.objects.all().delete()
    assert services.check_sla(now=ist(27, 9, 30)) == {
        "response_breached": 0, "resolution_breached": 0, "at_risk": 1}
    ticket.refresh_from_db()
    assert selectors.sla_state(ticket, ist(27, 9, 30)) == "at_risk"
    assert list(SupportNotification.objects.values_list("recipient__username", "event")) == [
        ("lco1_user", "at_risk")]


def test_a_paused_or_resolved_ticket_is_not_flagged(world, policy, subscriber):
    admin = world.users["isp_admin"]
    waiting = open_high(world, subscriber, ist(23, 16))
    services.transition(waiting, Ticket.Status.WAITING, actor=admin, blocker="Customer away",
                        now=ist(23, 16, 10))
    done = open_high(world, subscriber, ist(23, 16))
    services.transition(done, Ticket.Status.RESOLVED, actor=admin, now=ist(23, 16, 20))
    counts = services.check_sla(now=ist(30, 12))
    assert counts["resolution_breached"] == 0 and counts["at_risk"] == 0


def test_the_scheduled_task_runs_the_check(world, policy, subscriber):
    open_high(world, subscriber, ist(23, 16))
    assert check_sla_task()["resolution_breached"] == 1
    assert check_sla_task()["resolution_breached"] == 0


def test_the_breach_job_is_scheduled_after_migrate(db):
    from django_celery_beat.models import PeriodicTask

    from modules.core.schedules import ensure_periodic_tasks

    ensure_periodic_tasks()
    job = PeriodicTask.objects.get(task="support.check_sla")
    assert job.interval.every == 300 and job.enabled


def test_sla_state_turns_breached_once_the_first_response_is_overdue(world, policy, subscriber):
    ticket = open_high(world, subscriber, ist(23, 16))
    assert selectors.sla_state(ticket, ist(23, 16, 1)) == "on_track"
    assert selectors.sla_state(ticket, ist(23, 17) + timedelta(minutes=1)) == "breached"
