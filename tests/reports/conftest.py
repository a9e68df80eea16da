"""A small fixed data set whose figures are computed by hand in the tests.

The clock is 15 Oct 2026 12:00 UTC (the tenants keep the default UTC zone).

    org      subscriber  plan   status     created   notes
    root     r1          Basic  active     15 Oct    expires in 3 days, paid 500 cash today
    dist     d1          Gold   active     1 Sep     paid 300 UPI on 14 Oct
    lco1     l1          Basic  expired    1 Aug     expired 5 Oct (churned), paid 200 cash today
    lco1     l2          Gold   suspended  2 Oct     a cancelled 999 receipt today
    lco2     l3          Basic  active     15 Aug
    partner  p1          Basic  active     10 Oct    expires in 5 days, paid 1000 UPI on 3 Oct
    partner  p2          —      new        12 Oct
    other    o1          Basic  active     1 Oct     other tenant: 700 cash today
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from modules.billing import payments
from modules.billing.models import Invoice, InvoiceLine, LineTax
from modules.networking.models import AuthLog, DailyUsage, RadiusSession
from modules.reports.selectors import Params
from modules.reports.services import refresh_rollups
from modules.subscribers.models import StatusChange, Subscriber
from tests.networking.samples import make_nas
from tests.plans.samples import make_plan
from tests.subscribers.samples import make_subscriber
from tests.world import build_world

UTC = timezone.get_default_timezone()
NOW = datetime(2026, 10, 15, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


def at(day: int, hour: int = 10, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


@dataclass
class Data:
    world: object
    subs: dict = field(default_factory=dict)
    plans: dict = field(default_factory=dict)
    invoices: dict = field(default_factory=dict)
    nas: dict = field(default_factory=dict)

    def user(self, who):
        return self.world.users[who]

    def params(self, start, end, org=None):
        return Params(start=start, end=end,
                      organization=self.world.orgs[org] if org else None, zone=UTC)


def _subscriber(key, org, plan, status, created, **fields):
    sub = make_subscriber(org, username=f"u-{key}", plan=plan, status=status, **fields)
    Subscriber.objects.filter(pk=sub.pk).update(created_at=created)
    sub.refresh_from_db()
    return sub


def _invoice(sub, number, issued: date, due: date, lines, *, status="issued", paid="0",
             interstate=False):
    taxable = sum(Decimal(t) for _, _, t, _ in lines)
    tax = sum(Decimal(a) for *_, comps in lines for a in comps.values())
    invoice = Invoice.objects.create(
        tenant_id=sub.tenant_id, organization_id=sub.organization_id, subscriber=sub,
        currency="INR", number=number, status=status, issue_date=issued, due_date=due,
        is_interstate=interstate, taxable_total=taxable, tax_total=tax, total=taxable + tax,
        amount_paid=Decimal(paid))
    for position, (plan, hsn, value, comps) in enumerate(lines, start=1):
        line = InvoiceLine.objects.create(
            invoice=invoice, position=position, description=hsn, plan=plan, hsn_sac=hsn,
            unit_price=Decimal(value), tax_rate=Decimal("18"), taxable_value=Decimal(value),
            tax_amount=sum(Decimal(a) for a in comps.values()),
            line_total=Decimal(value) + sum(Decimal(a) for a in comps.values()))
        for name, amount in comps.items():
            LineTax.objects.create(line=line, name=name, amount=Decimal(amount),
                                   rate=Decimal("9") if name in ("CGST", "SGST") else Decimal("18"))
    return invoice


def build_data() -> Data:
    world = build_world()
    o = world.orgs
    u = world.users
    data = Data(world=world)
    basic = make_plan(o["root"], name="Basic", price=Decimal("400.00"))
    gold = make_plan(o["root"], name="Gold", price=Decimal("800.00"))
    other_plan = make_plan(o["other_root"], name="Basic", price=Decimal("400.00"))
    data.plans = {"basic": basic, "gold": gold}
    S = Subscriber.Status
    subs = data.subs
    subs["r1"] = _subscriber("r1", o["root"], basic, S.ACTIVE, at(15, 10),
                             expires_at=NOW + timedelta(days=3))
    subs["d1"] = _subscriber("d1", o["dist"], gold, S.ACTIVE, at(1, month=9),
                             expires_at=NOW + timedelta(days=20), area="Kothrud")
    subs["l1"] = _subscriber("l1", o["lco1"], basic, S.EXPIRED, at(1, month=8),
                             expires_at=at(5), area="Kothrud")
    subs["l2"] = _subscriber("l2", o["lco1"], gold, S.SUSPENDED, at(2), area="Baner")
    subs["l3"] = _subscriber("l3", o["lco2"], basic, S.ACTIVE, at(15, month=8),
                             expires_at=NOW + timedelta(days=40))
    subs["p1"] = _subscriber("p1", o["partner"], basic, S.ACTIVE, at(10),
                             expires_at=NOW + timedelta(days=5))
    subs["p2"] = _subscriber("p2", o["partner"], None, S.NEW, at(12))
    subs["o1"] = _subscriber("o1", o["other_root"], other_plan, S.ACTIVE, at(1),
                             expires_at=NOW + timedelta(days=2))
    change = StatusChange.objects.create(subscriber=subs["l1"], from_status=S.ACTIVE,
                                         to_status=S.EXPIRED, action="expire")
    StatusChange.objects.filter(pk=change.pk).update(created_at=at(5))

    # Payments (receipts), one cancelled.
    def pay(sub, amount, method, when, who):
        return payments.record_payment(sub, amount, actor=u[who], method=method,
                                       received_at=when, auto_allocate=False)

    pay(subs["r1"], "500.00", "cash", at(15, 9), "isp_admin")
    pay(subs["d1"], "300.00", "upi", at(14, 18), "dist")
    pay(subs["l1"], "200.00", "cash", at(15, 8), "lco1")
    pay(subs["p1"], "1000.00", "upi", at(3), "partner")
    pay(subs["o1"], "700.00", "cash", at(15, 9), "other_admin")
    cancelled = pay(subs["l2"], "999.00", "cash", at(15, 7), "lco1")
    type(cancelled).objects.filter(pk=cancelled.pk).update(status="cancelled")

    # Invoices.
    gst = {"CGST": "36.00", "SGST": "36.00"}
    data.invoices = {
        "I1": _invoice(subs["r1"], "INV-1", date(2026, 10, 1), date(2026, 10, 10),
                       [(basic, "998422", "400.00", gst)]),
        "I2": _invoice(subs["d1"], "INV-2", date(2026, 10, 5), date(2026, 10, 20),
                       [(gold, "998422", "800.00", {"IGST": "144.00"})], status="partial",
                       paid="400.00", interstate=True),
        "I3": _invoice(subs["l1"], "INV-3", date(2026, 7, 1), date(2026, 7, 10),
                       [(basic, "998422", "400.00", gst)]),
        "I4": _invoice(subs["p1"], "INV-4", date(2026, 10, 3), date(2026, 10, 3),
                       [(basic, "998422", "400.00", gst)], status="paid", paid="472.00"),
        "I5": _invoice(subs["l3"], "INV-5", date(2026, 8, 20), date(2026, 9, 1),
                       [(None, "995461", "100.00", {"CGST": "9.00", "SGST": "9.00"})]),
        "I6": _invoice(subs["r1"], "INV-6", date(2026, 10, 2), date(2026, 10, 2),
                       [(basic, "998422", "999.00", gst)], status="cancelled"),
        "O1": _invoice(subs["o1"], "B-1", date(2026, 10, 5), date(2026, 10, 6),
                       [(other_plan, "998422", "1000.00", {"CGST": "90.00", "SGST": "90.00"})]),
    }

    # Network.
    data.nas = {"nas1": make_nas(o["root"], name="BRAS Kothrud", address="10.9.0.1"),
                "nas2": make_nas(o["lco1"], name="LCO1 router", address="10.9.0.2"),
                "other": make_nas(o["other_root"], name="Beta BRAS", address="10.9.0.3")}

    def session(key, sub, nas, started, stopped=None, **extra):
        return RadiusSession.objects.create(
            unique_id=f"{key:0>32}", session_id=key, username=sub.username, subscriber=sub,
            organization_id=sub.organization_id, nas=nas, nas_ip=nas.address, started_at=started,
            updated_at=stopped or NOW, stopped_at=stopped, **extra)

    session("s1", subs["r1"], data.nas["nas1"], NOW - timedelta(hours=2))
    session("s2", subs["p1"], data.nas["nas1"], NOW - timedelta(hours=1))
    session("s3", subs["l1"], data.nas["nas2"], at(14, 10), at(14, 12), session_time=7200,
            input_octets=1000, output_octets=5000)
    session("s4", subs["o1"], data.nas["other"], NOW - timedelta(hours=1))

    def auth(sub, outcome, reason, when, nas):
        AuthLog.objects.create(created_at=when, username=sub.username, subscriber=sub,
                               organization_id=sub.organization_id, nas=nas, nas_ip=nas.address,
                               outcome=outcome, reason=reason)

    auth(subs["r1"], "accept", "", NOW - timedelta(minutes=30), data.nas["nas1"])
    auth(subs["l1"], "reject", "expired", NOW - timedelta(minutes=60), data.nas["nas2"])
    auth(subs["l1"], "reject", "expired", NOW - timedelta(minutes=50), data.nas["nas2"])
    auth(subs["p1"], "reject", "wrong_password", NOW - timedelta(hours=3), data.nas["nas1"])
    auth(subs["o1"], "reject", "wrong_password", NOW - timedelta(hours=1), data.nas["other"])

    def usage(sub, day, up, down):
        DailyUsage.objects.create(subscriber=sub, organization_id=sub.organization_id, day=day,
                                  input_octets=up, output_octets=down)

    usage(subs["r1"], TODAY, 100, 900)
    usage(subs["p1"], TODAY, 50, 2950)
    usage(subs["l1"], TODAY - timedelta(days=1), 1000, 5000)
    usage(subs["o1"], TODAY, 10, 90000)

    refresh_rollups(world.tenant, date(2026, 7, 1), TODAY, now=NOW)
    refresh_rollups(world.other_tenant, date(2026, 7, 1), TODAY, now=NOW)
    return data


@pytest.fixture
def data(shared, db):
    """The module's data set; what a test writes is rolled back after it."""
    return shared


@pytest.fixture(scope="module")
def shared(django_db_setup, django_db_blocker):
    """The same data set built once per test module, for tests that only read it.

    It lives in a transaction rolled back after the module; each test runs in a savepoint.
    """
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_data()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


# Names a user must never see: subscribers and organizations outside its subtree. The ISP's
# own name is left out (the portal shows it to every user of the tenant).
_OWNERS = {"u-r1": "root", "u-d1": "dist", "u-l1": "lco1", "u-l2": "lco1", "u-l3": "lco2",
           "u-p1": "partner", "u-p2": "partner", "u-o1": "other",
           "Distributor": "dist", "LCO One": "lco1", "LCO Two": "lco2", "Partner P": "partner",
           "Beta Net": "other", "LCO1 router": "lco1", "Beta BRAS": "other"}
# (The ISP's "BRAS Kothrud" carries the partner's own sessions, so its name is the partner's
# to see beside them.)
SUBTREE = {
    "isp_admin": {"root", "dist", "lco1", "lco2", "partner"},
    "dist": {"dist", "lco1", "lco2"},
    "lco1": {"lco1"},
    "partner": {"partner"},
    "no_perm": set(),
    "other_admin": {"other"},
}
NOT_OURS = {who: sorted(n for n, owner in _OWNERS.items() if owner not in mine)
            for who, mine in SUBTREE.items()}


def page_leaks(text: str, names) -> list[str]:
    """The names of `names` that occur in `text` as whole words."""
    return [n for n in names if re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", text)]
