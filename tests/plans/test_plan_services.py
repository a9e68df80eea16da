"""Plan rules: validity end and the RADIUS reply attributes per NAS vendor."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from modules.plans.models import Plan, PlanAttribute
from modules.plans.selectors import available_to_organization, sellable_plans
from modules.plans.services import compute_expiry, reply_attributes
from modules.settings_hub.models import GeneralSettings
from tests.plans.samples import make_plan

IST = ZoneInfo("Asia/Kolkata")


@pytest.fixture
def ist_world(world):
    GeneralSettings.objects.create(tenant=world.tenant, company_name="Alpha",
                                   timezone="Asia/Kolkata")
    return world


def test_thirty_day_plan_bought_late_at_night_ends_at_the_end_of_the_thirtieth_local_day(ist_world):
    plan = make_plan(ist_world.orgs["root"], validity_value=30)
    start = datetime(2026, 3, 1, 22, 0, tzinfo=ZoneInfo("UTC"))  # 2 March 03:30 in India
    assert compute_expiry(plan, start) == datetime(2026, 3, 31, 23, 59, 59, tzinfo=IST)


def test_monthly_plan_runs_to_the_day_before_the_same_date_and_clamps_short_months(ist_world):
    plan = make_plan(ist_world.orgs["root"], validity_unit=Plan.ValidityUnit.MONTHS,
                     validity_value=1)
    assert compute_expiry(plan, datetime(2026, 1, 15, 10, tzinfo=IST)) == datetime(
        2026, 2, 14, 23, 59, 59, tzinfo=IST)
    assert compute_expiry(plan, datetime(2026, 1, 31, 10, tzinfo=IST)) == datetime(
        2026, 2, 27, 23, 59, 59, tzinfo=IST)
    three = make_plan(ist_world.orgs["root"], validity_unit="months", validity_value=3)
    later = compute_expiry(three, datetime(2026, 11, 10, tzinfo=IST))
    assert later.date().isoformat() == "2027-02-09"


def test_fixed_day_plan_runs_to_the_eve_of_the_next_cycle_day(ist_world):
    plan = make_plan(ist_world.orgs["root"], validity_unit=Plan.ValidityUnit.FIXED_DAY,
                     validity_value=5)
    assert compute_expiry(plan, datetime(2026, 4, 2, tzinfo=IST)) == datetime(
        2026, 4, 4, 23, 59, 59, tzinfo=IST)
    assert compute_expiry(plan, datetime(2026, 4, 5, 9, tzinfo=IST)) == datetime(
        2026, 5, 4, 23, 59, 59, tzinfo=IST)
    new_year = compute_expiry(plan, datetime(2026, 12, 20, tzinfo=IST))
    assert new_year.date().isoformat() == "2027-01-04"


def test_mikrotik_rate_limit_puts_upload_first_with_burst_and_priority(world):
    plan = make_plan(world.orgs["root"], download_kbps=100_000, upload_kbps=50_000,
                     burst_download_kbps=150_000, burst_upload_kbps=75_000,
                     burst_threshold_download_kbps=80_000, burst_threshold_upload_kbps=40_000,
                     burst_time_seconds=16, priority=5, ip_pool_name="pool-ftth")
    assert reply_attributes(plan, "mikrotik") == [
        ("Mikrotik-Rate-Limit", "50M/100M 75M/150M 40M/80M 16/16 5"),
        ("Framed-Pool", "pool-ftth"),
    ]


def test_override_rates_throttle_the_plan_for_fair_usage(world):
    plan = make_plan(world.orgs["root"], download_kbps=100_000, upload_kbps=50_000,
                     burst_download_kbps=150_000, burst_upload_kbps=75_000)
    assert reply_attributes(plan, "mikrotik", download_kbps=2000, upload_kbps=512) == [
        ("Mikrotik-Rate-Limit", "512k/2M")]
    assert reply_attributes(plan, "huawei", download_kbps=2000, upload_kbps=1000) == [
        ("Huawei-Input-Average-Rate", "1000000"), ("Huawei-Output-Average-Rate", "2000000")]


def test_cisco_gets_two_avpairs_naming_the_policies(world):
    named = make_plan(world.orgs["root"], cisco_policy_in="UP-50M", cisco_policy_out="DOWN-100M")
    assert reply_attributes(named, "cisco") == [
        ("Cisco-AVPair", "ip:sub-qos-policy-in=UP-50M"),
        ("Cisco-AVPair", "ip:sub-qos-policy-out=DOWN-100M")]
    plain = make_plan(world.orgs["root"], download_kbps=100_000, upload_kbps=50_000)
    assert reply_attributes(plain, "cisco") == [
        ("Cisco-AVPair", "ip:sub-qos-policy-in=RATE-50M"),
        ("Cisco-AVPair", "ip:sub-qos-policy-out=RATE-100M")]


def test_juniper_activates_a_service_in_bits_per_second_and_huawei_speaks_bits(world):
    plan = make_plan(world.orgs["root"], download_kbps=10_000, upload_kbps=5_000)
    assert reply_attributes(plan, "juniper") == [("ERX-Service-Activate", "svc(10000000,5000000)")]
    assert reply_attributes(plan, "huawei") == [
        ("Huawei-Input-Average-Rate", "5000000"), ("Huawei-Output-Average-Rate", "10000000")]
    assert reply_attributes(plan, "other") == []


def test_plan_attributes_replace_generated_ones_and_may_repeat(world):
    plan = make_plan(world.orgs["root"], ip_pool_name="pool-a")
    PlanAttribute.objects.create(plan=plan, vendor="cisco", attribute="Cisco-AVPair",
                                 value="ip:sub-qos-policy-in=GOLD-IN")
    PlanAttribute.objects.create(plan=plan, vendor="cisco", attribute="Cisco-AVPair",
                                 value="ip:sub-qos-policy-out=GOLD-OUT")
    PlanAttribute.objects.create(plan=plan, vendor="any", attribute="Session-Timeout",
                                 value="86400", replaces_generated=False)
    PlanAttribute.objects.create(plan=plan, vendor="mikrotik", attribute="Mikrotik-Address-List",
                                 value="paid", replaces_generated=False)
    assert reply_attributes(plan, "cisco") == [
        ("Framed-Pool", "pool-a"),
        ("Session-Timeout", "86400"),
        ("Cisco-AVPair", "ip:sub-qos-policy-in=GOLD-IN"),
        ("Cisco-AVPair", "ip:sub-qos-policy-out=GOLD-OUT"),
    ]
    assert ("Mikrotik-Address-List", "paid") in reply_attributes(plan, "mikrotik")
    assert ("Mikrotik-Address-List", "paid") not in reply_attributes(plan, "cisco")


def test_a_partner_sells_its_own_and_its_ancestors_plans_but_not_a_siblings(world):
    isp = make_plan(world.orgs["root"])
    dist = make_plan(world.orgs["dist"])
    lco1 = make_plan(world.orgs["lco1"])
    lco2 = make_plan(world.orgs["lco2"])
    other = make_plan(world.orgs["other_root"])
    retired = make_plan(world.orgs["root"], is_active=False)
    assert set(sellable_plans(world.users["lco1"])) == {isp, dist, lco1}
    assert set(sellable_plans(world.users["dist"])) == {isp, dist, lco1, lco2}
    assert set(sellable_plans(world.users["partner"])) == {isp}
    assert other not in sellable_plans(world.users["isp_admin"])
    assert retired not in sellable_plans(world.users["isp_admin"])
    # a retired plan still counts: subscribers already on it may stay
    assert set(available_to_organization(world.orgs["lco2"])) == {isp, dist, lco2, retired}


def test_plan_validation_names_the_wrong_fields(world):
    plan = Plan(organization=world.orgs["root"], code="x", name="X", price=1,
                validity_unit="fixed_day", validity_value=31, quota_mb=1000)
    with pytest.raises(Exception) as err:
        plan.full_clean()
    assert {"validity_value", "fup_download_kbps", "download_kbps"} <= set(err.value.message_dict)
