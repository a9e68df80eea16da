"""Each figure against a hand-computed value on the data set of conftest.py.

`isp_admin` sees the whole tenant; `dist` sees dist, lco1 and lco2; `partner` only itself.
"""

from datetime import date
from decimal import Decimal as D

from modules.reports import selectors as s
from tests.reports.conftest import NOW, TODAY

OCT = (date(2026, 10, 1), date(2026, 10, 15))


def _rows(qs, *keys):
    return [tuple(row[k] for k in keys) for row in qs]


# General --------------------------------------------------------------------------------------
def test_subscribers_by_status_for_isp_admin_and_partner(data):
    assert s.subscribers_by_status(data.user("isp_admin")) == {
        "active": 4, "expired": 1, "suspended": 1, "new": 1}
    assert s.subscribers_by_status(data.user("partner")) == {"active": 1, "new": 1}


def test_new_expiring_and_expired_counts(data):
    assert s.subscriber_counts(data.user("isp_admin"), NOW) == {
        "new_today": 1, "new_month": 4, "expiring_7": 2, "expired": 1}
    assert s.subscriber_counts(data.user("dist"), NOW) == {
        "new_today": 0, "new_month": 1, "expiring_7": 0, "expired": 1}
    assert s.subscriber_counts(data.user("partner"), NOW) == {
        "new_today": 0, "new_month": 2, "expiring_7": 1, "expired": 0}


# Network --------------------------------------------------------------------------------------
def test_online_sessions_count_only_the_subtree(data):
    assert s.online_sessions(data.user("isp_admin")) == 2
    assert s.online_sessions(data.user("partner")) == 1
    assert s.online_sessions(data.user("dist")) == 0
    assert s.online_sessions(data.user("other_admin")) == 1


def test_auth_per_hour_and_top_reject_reasons(data):
    hours = s.auth_per_hour(data.user("isp_admin"), NOW)
    assert sum(h["accepts"] for h in hours) == 1
    assert sum(h["rejects"] for h in hours) == 3
    assert _rows(s.top_reject_reasons(data.user("isp_admin"), NOW), "reason", "n") == [
        ("expired", 2), ("wrong_password", 1)]
    assert _rows(s.top_reject_reasons(data.user("partner"), NOW), "reason", "n") == [
        ("wrong_password", 1)]


def test_nas_overview_counts_online_sessions_of_the_scope(data):
    rows = _rows(s.nas_overview(data.user("isp_admin")), "name", "online")
    assert rows == [("BRAS Kothrud", 2), ("LCO1 router", 0)]
    assert _rows(s.nas_overview(data.user("dist")), "name", "online") == [("LCO1 router", 0)]


def test_top_data_users_today(data):
    users = s.top_data_users(data.user("isp_admin"), NOW)
    assert _rows(users, "subscriber__username", "octets") == [
        (data.subs["p1"].username, 3000), (data.subs["r1"].username, 1000)]
    assert len(s.top_data_users(data.user("dist"), NOW)) == 0


# Finance --------------------------------------------------------------------------------------
def test_collections_by_mode_today_and_this_month(data):
    admin = data.user("isp_admin")
    assert _rows(s.collections_by_mode(admin, TODAY, TODAY), "method", "payments", "amount") == [
        ("cash", 2, D("700.00"))]
    assert _rows(s.collections_by_mode(admin, OCT[0], TODAY), "method", "amount") == [
        ("upi", D("1300.00")), ("cash", D("700.00"))]
    dist = data.user("dist")
    assert _rows(s.collections_by_mode(dist, OCT[0], TODAY), "method", "amount") == [
        ("upi", D("300.00")), ("cash", D("200.00"))]
    assert _rows(s.collections_by_mode(data.user("partner"), TODAY, TODAY), "method") == []


def test_invoice_aging_buckets(data):
    aging = s.invoice_aging(data.user("isp_admin"), TODAY)
    assert {k: aging[k] for k in ("not_due", "d1_30", "d31_60", "d61_90", "d90_plus",
                                  "outstanding")} == {
        "not_due": D("544.00"), "d1_30": D("472.00"), "d31_60": D("118.00"),
        "d61_90": D("0"), "d90_plus": D("472.00"), "outstanding": D("1606.00")}
    assert aging["d1_30_count"] == 1 and aging["not_due_count"] == 1
    assert s.invoice_aging(data.user("dist"), TODAY)["outstanding"] == D("1134.00")
    assert s.invoice_aging(data.user("partner"), TODAY)["outstanding"] == D("0")


def test_revenue_by_plan_excludes_cancelled_invoices(data):
    rows = s.revenue_by_plan(data.user("isp_admin"), *OCT)
    assert _rows(rows, "plan__name", "amount") == [("Basic", D("800.00")), ("Gold", D("800.00"))]
    assert _rows(s.revenue_by_plan(data.user("partner"), *OCT), "plan__name", "amount") == [
        ("Basic", D("400.00"))]


def test_partner_wallets_lowest_first_with_low_balance_flag(data):
    from modules.billing import ledger

    low = ledger.organization_wallet(data.world.orgs["lco1"])
    type(low).objects.filter(pk=low.pk).update(balance=D("50.00"), low_balance_alert=D("100.00"))
    ok = ledger.organization_wallet(data.world.orgs["partner"])
    type(ok).objects.filter(pk=ok.pk).update(balance=D("900.00"))
    admin = s.partner_wallets(data.user("isp_admin"))
    assert (admin["total"], admin["wallets"], admin["low"]) == (D("950.00"), 2, 1)
    assert [w["owner_organization__name"] for w in admin["lowest"]] == ["LCO One", "Partner P"]
    partner = s.partner_wallets(data.user("partner"))
    assert (partner["total"], partner["low"]) == (D("900.00"), 0)


def test_open_tickets_by_priority_and_sla(data):
    from datetime import timedelta

    from modules.support.models import Ticket

    def ticket(org, priority, **extra):
        return Ticket.objects.create(tenant=data.world.tenant, organization=data.world.orgs[org],
                                     summary="No internet", priority=priority, created_at=NOW,
                                     **extra)

    ticket("root", "high", at_risk_from=NOW - timedelta(hours=1))
    ticket("lco1", "high", resolution_breached_at=NOW)
    ticket("partner", "low")
    ticket("partner", "urgent", status="resolved")
    admin = s.open_tickets(data.user("isp_admin"), NOW)
    assert admin["by_priority"] == {"high": 2, "low": 1}
    assert (admin["at_risk"], admin["breached"]) == (1, 1)
    partner = s.open_tickets(data.user("partner"), NOW)
    assert partner == {"by_priority": {"low": 1}, "at_risk": 0, "breached": 0}
