"""Settings -> Billing Engine renewal rules applied to validity: the expiry time of day and the
calendar cycle (first period prorated), worked out by hand in the tenant's zone (India,
UTC+05:30), across month ends and February 2026 (28 days)."""

from datetime import UTC, datetime, time
from decimal import Decimal as D
from zoneinfo import ZoneInfo

from modules.billing import orchestration
from modules.billing.models import InvoiceLine
from modules.plans.models import Plan
from modules.plans.services import compute_expiry, validity_period
from modules.subscribers import services as subscribers
from modules.subscribers.models import Subscriber
from tests.plans.samples import make_plan

IST = ZoneInfo("Asia/Kolkata")


def configure(billing, **values):
    for name, value in values.items():
        setattr(billing.settings, name, value)
    billing.settings.save()


def monthly(billing, price="500.00"):
    return make_plan(billing.world.orgs["root"], name="Fiber Monthly", price=D(price),
                     tax_class=billing.plan.tax_class, validity_unit=Plan.ValidityUnit.MONTHS,
                     validity_value=1)


def test_expiry_time_of_day_ends_validity_at_that_local_time(billing):
    configure(billing, expiry_time=time(10, 0))
    plan = billing.plan  # 30 days
    # Bought after 10:00 on 1 Jan: the renewal day of 1 Jan is over, so 2 Jan is day 1.
    assert compute_expiry(plan, datetime(2026, 1, 1, 15, 0, tzinfo=IST)) == datetime(
        2026, 1, 31, 10, 0, tzinfo=IST)
    # Bought before 10:00: 1 Jan counts as day 1.
    assert compute_expiry(plan, datetime(2026, 1, 1, 9, 0, tzinfo=IST)) == datetime(
        2026, 1, 30, 10, 0, tzinfo=IST)
    # A renewal starts a second after expiry and gets exactly 30 more days (through February).
    assert compute_expiry(plan, datetime(2026, 1, 31, 10, 0, 1, tzinfo=IST)) == datetime(
        2026, 3, 2, 10, 0, tzinfo=IST)
    # The tenant's zone decides the day: 03:00 UTC on 31 Jan is 08:30 in India, before 10:00.
    assert compute_expiry(plan, datetime(2026, 1, 31, 3, 0, tzinfo=UTC)) == datetime(
        2026, 3, 1, 10, 0, tzinfo=IST)


def test_empty_expiry_time_keeps_the_end_of_the_day(billing):
    assert compute_expiry(billing.plan, datetime(2026, 1, 1, 15, 0, tzinfo=IST)) == datetime(
        2026, 1, 30, 23, 59, 59, tzinfo=IST)


def test_calendar_cycle_ends_month_plans_on_the_eve_of_the_bill_cycle_day(billing):
    configure(billing, cycle="calendar", bill_cycle_day=1)
    plan = monthly(billing)
    first = validity_period(plan, datetime(2026, 1, 15, 10, 0, tzinfo=IST))
    assert first.expires_at == datetime(2026, 1, 31, 23, 59, 59, tzinfo=IST)
    assert first.fraction == (17, 31)  # 15..31 January of a 31-day cycle
    # Renewed a second after: whole cycles, February of 28 days, then March.
    feb = validity_period(plan, datetime(2026, 2, 1, 0, 0, tzinfo=IST))
    assert feb.expires_at == datetime(2026, 2, 28, 23, 59, 59, tzinfo=IST)
    assert feb.fraction == (28, 28)
    assert compute_expiry(plan, datetime(2026, 3, 1, tzinfo=IST)) == datetime(
        2026, 3, 31, 23, 59, 59, tzinfo=IST)
    # 20:00 UTC on 31 Jan is already 1 Feb in India: a whole February.
    assert compute_expiry(plan, datetime(2026, 1, 31, 20, 0, tzinfo=UTC)) == datetime(
        2026, 2, 28, 23, 59, 59, tzinfo=IST)
    # Day-based plans keep rolling.
    assert compute_expiry(billing.plan, datetime(2026, 1, 15, 10, tzinfo=IST)) == datetime(
        2026, 2, 13, 23, 59, 59, tzinfo=IST)


def test_calendar_cycle_with_an_expiry_time_and_a_mid_month_cycle_day(billing):
    configure(billing, cycle="calendar", bill_cycle_day=5, expiry_time=time(6, 0))
    plan = monthly(billing)
    # 12:00 on 10 Feb is past 06:00, so 11 Feb is day 1; the cycle runs 5 Feb .. 4 Mar.
    period = validity_period(plan, datetime(2026, 2, 10, 12, 0, tzinfo=IST))
    assert period.expires_at == datetime(2026, 3, 4, 6, 0, tzinfo=IST)
    assert period.fraction == (22, 28)  # 11..28 Feb (18) + 1..4 Mar (4) of 28 days
    # Renewed a second after 06:00 on 4 Mar: 5 Mar .. 4 Apr, ending at 06:00.
    assert compute_expiry(plan, datetime(2026, 3, 4, 6, 0, 1, tzinfo=IST)) == datetime(
        2026, 4, 4, 6, 0, tzinfo=IST)


def test_activation_under_a_calendar_cycle_charges_the_first_period_pro_rata(billing):
    configure(billing, cycle="calendar", bill_cycle_day=1)
    plan = monthly(billing)
    sub = billing.subscriber(status="new")
    subscribers.change_plan(sub, plan, actor=None)
    now = datetime(2026, 1, 15, 10, 0, tzinfo=IST)
    billed = orchestration.activate_and_bill(sub, actor=None, now=now)
    sub.refresh_from_db()
    assert sub.expires_at == datetime(2026, 1, 31, 23, 59, 59, tzinfo=IST)
    line = InvoiceLine.objects.get(invoice=billed.invoice)
    assert line.unit_price == D("274.19")  # 500 x 17 / 31 = 274.193...
    assert billed.invoice.total == D("323.55")  # + CGST and SGST of 9 % each: 2 x 24.68


def test_no_proration_charges_the_short_first_period_in_full(billing):
    configure(billing, cycle="calendar", bill_cycle_day=1, proration="none")
    plan = monthly(billing)
    sub = billing.subscriber(status="new")
    subscribers.change_plan(sub, plan, actor=None)
    billed = orchestration.activate_and_bill(sub, actor=None,
                                             now=datetime(2026, 1, 15, 10, 0, tzinfo=IST))
    assert InvoiceLine.objects.get(invoice=billed.invoice).unit_price == D("500.00")


def test_renewal_of_a_lapsed_subscriber_under_a_calendar_cycle_is_prorated(billing):
    configure(billing, cycle="calendar", bill_cycle_day=1, expiry_time=time(23, 0))
    plan = monthly(billing)
    sub = billing.subscriber()
    Subscriber.objects.filter(pk=sub.pk).update(expires_at=datetime(2026, 1, 10, 23, tzinfo=IST))
    sub.refresh_from_db()
    now = datetime(2026, 2, 21, 23, 30, tzinfo=IST)  # after 23:00: 22 Feb is day 1
    billed = orchestration.renew_and_bill(sub, actor=None, plan=plan, now=now)
    sub.refresh_from_db()
    assert sub.expires_at == datetime(2026, 2, 28, 23, 0, tzinfo=IST)
    line = InvoiceLine.objects.get(invoice=billed.invoice)
    assert line.unit_price == D("125.00")  # 500 x 7 / 28 (22..28 Feb)
