"""Each report's rows against hand-computed values, for the ISP admin and for a partner."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from modules.reports import registry, services
from modules.reports import selectors as s

JUL_OCT = (date(2026, 7, 1), date(2026, 10, 31))
OCT = (date(2026, 10, 1), date(2026, 10, 15))


def _rows(qs, *keys):
    return [tuple(row[k] for k in keys) for row in qs]


def test_collections_by_day_and_mode(data):
    rows = s.collections_by_day(data.user("isp_admin"), data.params(*OCT))
    assert _rows(rows, "day", "method", "payments", "amount") == [
        (date(2026, 10, 15), "cash", 2, D("700.00")),
        (date(2026, 10, 14), "upi", 1, D("300.00")),
        (date(2026, 10, 3), "upi", 1, D("1000.00"))]
    partner = s.collections_by_day(data.user("partner"), data.params(*OCT))
    assert _rows(partner, "day", "amount") == [(date(2026, 10, 3), D("1000.00"))]


def test_collections_by_operator(data):
    rows = s.collections_by_operator(data.user("dist"), data.params(*OCT))
    assert _rows(rows, "operator__username", "method", "amount") == [
        ("dist_user", "upi", D("300.00")), ("lco1_user", "cash", D("200.00"))]


def test_organization_filter_narrows_to_one_subtree(data):
    rows = s.collections_by_day(data.user("isp_admin"), data.params(*OCT, org="lco1"))
    assert _rows(rows, "day", "amount") == [(date(2026, 10, 15), D("200.00"))]


def test_invoices_and_outstanding_aging(data):
    numbers = _rows(s.invoices(data.user("dist"), data.params(*JUL_OCT)), "number")
    assert numbers == [("INV-2",), ("INV-5",), ("INV-3",)]
    aging = s.outstanding_aging(data.user("isp_admin"), data.params(*OCT))
    assert _rows(aging, "organization__name", "outstanding", "d90_plus") == [
        ("Distributor", D("544.00"), D("0")), ("Alpha Broadband", D("472.00"), D("0")),
        ("LCO One", D("472.00"), D("472.00")), ("LCO Two", D("118.00"), D("0"))]
    assert list(s.outstanding_aging(data.user("partner"), data.params(*OCT))) == []


def test_tax_by_rate_and_component_per_month(data):
    rows = s.tax_by_rate(data.user("isp_admin"), data.params(*JUL_OCT))
    assert _rows(rows, "month", "taxable_value", "cgst", "sgst", "igst", "total_tax") == [
        (date(2026, 10, 1), D("1600.00"), D("72"), D("72"), D("144"), D("288")),
        (date(2026, 8, 1), D("100.00"), D("9"), D("9"), D("0"), D("18")),
        (date(2026, 7, 1), D("400.00"), D("36"), D("36"), D("0"), D("72"))]
    partner = s.tax_by_rate(data.user("partner"), data.params(*JUL_OCT))
    assert _rows(partner, "taxable_value", "cgst", "sgst", "total_tax") == [
        (D("400.00"), D("36"), D("36"), D("72"))]


def test_tax_by_hsn_sac(data):
    rows = s.tax_by_hsn(data.user("isp_admin"), data.params(*JUL_OCT))
    assert _rows(rows, "hsn_sac", "invoices", "taxable_value", "igst", "total_tax") == [
        ("995461", 1, D("100.00"), D("0"), D("18")),
        ("998422", 4, D("2000.00"), D("144"), D("360"))]
    other = s.tax_by_hsn(data.user("other_admin"), data.params(*JUL_OCT))
    assert _rows(other, "hsn_sac", "taxable_value") == [("998422", D("1000.00"))]


def test_revenue_by_plan_report(data):
    rows = s.revenue_by_plan_report(data.user("isp_admin"), data.params(*OCT))
    assert _rows(rows, "plan__name", "invoices", "taxable_value") == [
        ("Basic", 2, D("800.00")), ("Gold", 1, D("800.00"))]


def test_subscribers_by_plan_counts_new_and_churned_in_range(data):
    rows = s.subscribers_summary(data.user("isp_admin"), data.params(*OCT), "plan")
    assert _rows(rows, "group_name", "active", "expired", "suspended", "new", "churned",
                 "total") == [("Basic", 3, 1, 0, 2, 1, 4), ("Gold", 1, 0, 1, 1, 0, 2),
                              (None, 0, 0, 0, 1, 0, 1)]
    partner = s.subscribers_summary(data.user("partner"), data.params(*OCT), "plan")
    assert _rows(partner, "group_name", "active", "new", "total") == [
        ("Basic", 1, 1, 1), (None, 0, 1, 1)]


def test_subscribers_by_partner_and_area(data):
    by_partner = s.subscribers_summary(data.user("dist"), data.params(*OCT), "partner")
    assert _rows(by_partner, "group_name", "total") == [
        ("LCO One", 2), ("Distributor", 1), ("LCO Two", 1)]
    by_area = s.subscribers_summary(data.user("dist"), data.params(*OCT), "area")
    assert _rows(by_area, "group_name", "total", "churned") == [
        ("Kothrud", 2, 1), ("", 1, 0), ("Baner", 1, 0)]


def test_renewals_due(data):
    week = data.params(date(2026, 10, 15), date(2026, 10, 22))
    rows = s.renewals_due(data.user("isp_admin"), week)
    assert _rows(rows, "username") == [(data.subs["r1"].username,), (data.subs["p1"].username,)]
    assert len(s.renewals_due(data.user("dist"), data.params(date(2026, 10, 15),
                                                             date(2026, 10, 22)))) == 0


def test_plan_change_is_recorded_as_upgrade_or_downgrade(data, django_capture_on_commit_callbacks):
    from modules.subscribers.services import change_plan

    # The subscriber events go out after commit; run them here, without the jobs other
    # modules queue in reaction (those need a broker).
    for who in ("r1", "p1"):
        with django_capture_on_commit_callbacks() as callbacks:
            change_plan(data.subs[who], data.plans["gold"], actor=data.user("isp_admin"))
        for callback in callbacks:
            callback()
    from django.utils import timezone

    today = timezone.localdate()
    admin = s.plan_changes(data.user("isp_admin"), data.params(today, today))
    assert _rows(admin, "subscriber__username", "old_plan__name", "new_plan__name",
                 "direction") == [(data.subs["p1"].username, "Basic", "Gold", "upgrade"),
                                  (data.subs["r1"].username, "Basic", "Gold", "upgrade")]
    assert len(s.plan_changes(data.user("partner"), data.params(today, today))) == 1


def test_usage_reports(data):
    from tests.reports.conftest import TODAY

    rows = s.usage_by_subscriber(data.user("isp_admin"), data.params(date(2026, 10, 14), TODAY))
    assert _rows(rows, "subscriber__username", "download", "upload", "total") == [
        (data.subs["l1"].username, 5000, 1000, 6000), (data.subs["p1"].username, 2950, 50, 3000),
        (data.subs["r1"].username, 900, 100, 1000)]
    days = s.usage_by_day(data.user("partner"), data.params(date(2026, 10, 14), TODAY))
    assert _rows(days, "day", "subscribers", "download") == [(TODAY, 1, 2950)]


def test_sessions_by_nas_and_auth_failures(data):
    rows = s.sessions_by_nas_day(data.user("isp_admin"), data.params(date(2026, 10, 14),
                                                                     date(2026, 10, 15)))
    assert _rows(rows, "day", "nas__name", "sessions", "seconds", "download") == [
        (date(2026, 10, 15), "BRAS Kothrud", 2, 0, 0),
        (date(2026, 10, 14), "LCO1 router", 1, 7200, 5000)]
    failures = s.auth_failures(data.user("isp_admin"), data.params(date(2026, 10, 15),
                                                                   date(2026, 10, 15)))
    assert _rows(failures, "reason", "nas_ip", "failures", "users") == [
        ("expired", "10.9.0.2", 2, 1), ("wrong_password", "10.9.0.1", 1, 1)]


def test_pool_history_snapshots_leased_addresses(data):
    from django.utils import timezone

    from modules.networking.models import Ipv4Pool
    from modules.networking.services import sync_pool_addresses
    from modules.reports.services import refresh_rollups

    pool = Ipv4Pool.objects.create(organization=data.world.orgs["partner"], name="pp-pool",
                                   ranges="100.70.0.0/29")
    sync_pool_addresses(pool)
    pool.leases.filter(address="100.70.0.1").update(subscriber=data.subs["p1"])
    today = timezone.localdate()
    refresh_rollups(data.world.tenant, today, today)
    refresh_rollups(data.world.tenant, today, today)  # a second run changes nothing
    rows = s.pool_history(data.user("partner"), data.params(today, today))
    assert _rows(rows, "pool__name", "size", "leased") == [("pp-pool", pool.leases.count(), 1)]
    assert len(s.pool_history(data.user("dist"), data.params(today, today))) == 0


def test_rollup_is_idempotent(data):
    from modules.reports.models import DailyCollection, DailyRevenue

    before = (list(DailyCollection.objects.order_by("pk").values_list("day", "amount")),
              DailyRevenue.objects.count())
    services.refresh_rollups(data.world.tenant, date(2026, 7, 1), date(2026, 10, 15))
    after = (list(DailyCollection.objects.order_by("pk").values_list("day", "amount")),
             DailyRevenue.objects.count())
    assert sorted(before[0]) == sorted(after[0]) and before[1] == after[1]


def test_subscriber_tally_equals_a_count_by_hand_and_follows_the_next_rollup(data):
    """The general dashboard's counts come from the tally: the hand count of the fixed data
    set, unchanged by a later change until the roll-up runs again."""
    from modules.subscribers.models import Subscriber

    from .conftest import NOW

    admin, partner = data.user("isp_admin"), data.user("partner")
    assert s.subscribers_by_status(admin) == {"active": 4, "expired": 1, "suspended": 1,
                                              "new": 1}
    # p1 (partner, active, expiring in 5 days) expires; p2 (new) is activated.
    Subscriber.objects.filter(pk=data.subs["p1"].pk).update(status="expired")
    Subscriber.objects.filter(pk=data.subs["p2"].pk).update(status="active")
    assert s.subscribers_by_status(partner) == {"active": 1, "new": 1}
    services.refresh_rollups(data.world.tenant, date(2026, 10, 15), date(2026, 10, 15),
                             now=NOW)
    assert s.subscribers_by_status(partner) == {"active": 1, "expired": 1}
    assert s.subscriber_counts(partner, NOW) == {
        "new_today": 0, "new_month": 2, "expiring_7": 0, "expired": 1}
    assert s.subscriber_counts(admin, NOW) == {
        "new_today": 1, "new_month": 4, "expiring_7": 1, "expired": 2}
    assert s.subscribers_by_status(data.user("other_admin")) == {"active": 1}


def test_report_whose_models_are_missing_does_not_appear(data, monkeypatch):
    keys = set(registry.for_user(data.user("isp_admin")))
    assert {"collections-by-day", "tax-by-hsn", "subscribers-by-plan", "auth-failures",
            "commission-statement"} <= keys
    monkeypatch.setattr(registry, "REPORTS", (*registry.REPORTS, registry.ReportDef(
        "future", registry.FINANCIAL, "Future", "", s.invoices, (), "billing.view_invoice",
        ("nomodule.Thing",))))
    assert "future" not in registry.for_user(data.user("isp_admin"))


def test_commission_statement_per_partner_and_month(data):
    from django.utils import timezone

    from modules.billing.models import Payment
    from modules.partners.commissions import credit_commissions
    from modules.partners.models import Partner

    Partner.objects.create(organization=data.world.orgs["dist"], default_commission_rate=D("10"))
    Partner.objects.create(organization=data.world.orgs["lco1"], default_commission_rate=D("5"))
    credit_commissions(Payment.objects.get(subscriber=data.subs["l1"]))  # 200 at LCO One
    credit_commissions(Payment.objects.get(subscriber=data.subs["d1"]))  # 300 at Distributor
    today = timezone.localdate()
    month = today.replace(day=1)
    rows = s.commission_statement(data.user("isp_admin"), data.params(today, today))
    assert [(r[0].date(), *r[1:]) for r in _rows(
        rows, "month", "wallet__owner_organization__name", "entries", "amount")] == [
        (month, "Distributor", 2, D("50.00")), (month, "LCO One", 1, D("10.00"))]
    lco1 = s.commission_statement(data.user("lco1"), data.params(today, today))
    assert _rows(lco1, "wallet__owner_organization__name", "amount") == [("LCO One", D("10.00"))]
    assert list(s.commission_statement(data.user("partner"), data.params(today, today))) == []


def test_params_refuse_an_organization_outside_the_scope(data):
    with pytest.raises(ValidationError):
        services.params_from(data.user("partner"), {
            "start": "2026-10-01", "end": "2026-10-15",
            "organization": data.world.orgs["lco1"].pk})
