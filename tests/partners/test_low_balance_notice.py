"""Crossing below the low-balance threshold queues one alert to the partner's contact email and
phone; more sales while low queue nothing more; a recharge and a new crossing alert again."""

from decimal import Decimal as D

from modules.billing import ledger, orchestration
from modules.partners import services
from modules.partners.models import Partner, PartnerNotice
from modules.settings_hub.models import NotificationTemplate


def setup_low_balance(pw, **contact):
    services.share_plan(pw.plan, pw.orgs["dist"], actor=pw.users["isp_admin"],
                        partner_price="350.00", selling_price="500.00")
    services.share_plan(pw.plan, pw.orgs["lco1"], actor=pw.users["dist"],
                        partner_price="400.00", selling_price="500.00")
    services.update_partner(pw.profile("lco1"), actor=pw.users["dist"],
                            low_balance_threshold=D("500"), credit_limit=D("2000"), **contact)
    ledger.credit(ledger.organization_wallet(pw.orgs["lco1"]), "800.00", memo="Opening balance")


def sell(pw):
    orchestration.renew_and_bill(pw.subscriber("lco1"), actor=pw.users["lco1"])


def test_one_alert_per_crossing_to_email_and_phone(pw):
    setup_low_balance(pw, contact_email="ops@lco1.example", contact_phone="+919800000001")
    sell(pw)  # 800 -> 400: crosses below 500
    notices = list(PartnerNotice.objects.filter(partner=pw.profile("lco1")).order_by("channel"))
    assert [(n.channel, n.recipient) for n in notices] == [
        ("email", "ops@lco1.example"), ("sms", "+919800000001")]
    assert all(n.event == "low_wallet" and "400" in n.body and "500" in n.body for n in notices)
    sell(pw)  # still low: no second alert
    assert PartnerNotice.objects.filter(partner=pw.profile("lco1")).count() == 2
    ledger.credit(ledger.organization_wallet(pw.orgs["dist"]), "1000.00", memo="Opening")
    services.recharge(pw.orgs["lco1"], "700.00", actor=pw.users["dist"])  # 0 -> 700: cleared
    assert PartnerNotice.objects.filter(partner=pw.profile("lco1")).count() == 2
    sell(pw)  # 300: a new crossing
    assert PartnerNotice.objects.filter(partner=pw.profile("lco1")).count() == 4


def test_the_tenants_template_is_used_and_a_switched_off_channel_is_skipped(pw):
    tenant = pw.orgs["lco1"].tenant
    NotificationTemplate.objects.create(tenant=tenant, event="low_wallet", channel="email",
                                        subject="Low: {{ name }}",
                                        body="Balance {{ balance }}, top up now.")
    NotificationTemplate.objects.create(tenant=tenant, event="low_wallet", channel="sms",
                                        body="x", is_active=False)
    setup_low_balance(pw, contact_email="ops@lco1.example", contact_phone="+919800000001")
    sell(pw)
    notice = PartnerNotice.objects.get(partner=pw.profile("lco1"))
    assert notice.channel == "email"
    assert notice.subject == f"Low: {pw.orgs['lco1'].name}"
    assert notice.body == "Balance 400.00, top up now."


def test_a_partner_without_contact_details_only_gets_the_flag(pw):
    setup_low_balance(pw)
    sell(pw)
    assert Partner.objects.get(organization=pw.orgs["lco1"]).low_balance_since is not None
    assert not PartnerNotice.objects.exists()
