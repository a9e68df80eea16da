"""Scheduled work: each job does its work once, however often it runs."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from django.utils import timezone

from modules.billing import jobs, ledger, renewals
from modules.billing.models import Invoice, OutboundMessage
from modules.core.schedules import ensure_periodic_tasks
from modules.settings_hub.models import NotificationTemplate
from modules.subscribers import events
from modules.subscribers.models import Subscriber


def due(billing, org="lco1", balance="590.00", **fields):
    sub = billing.subscriber(org, days_left=-1, **fields)
    if balance:
        ledger.credit(ledger.subscriber_wallet(sub), balance, memo="Advance")
    return sub


def test_renewal_run_renews_due_subscribers_once(billing):
    subs = [due(billing, org) for org in ("lco1", "lco2", "partner")]
    poor = due(billing, balance="100.00")
    assert renewals.renew_due(batch_size=2) == 3
    assert renewals.renew_due() == 0
    for sub in subs:
        sub.refresh_from_db()
        assert sub.expires_at > timezone.now() + timedelta(days=28)
        wallet = ledger.subscriber_wallet(sub)
        assert wallet.balance == 0
        invoice = Invoice.objects.get(subscriber=sub)
        assert invoice.status == Invoice.Status.PAID and invoice.total == D("590.00")
    poor.refresh_from_db()
    assert poor.expires_at < timezone.now() and not Invoice.objects.filter(subscriber=poor).exists()
    numbers = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert numbers == [1, 2, 3]
    assert renewals.balance_check() == []


def test_renewal_respects_auto_renew_switches(billing):
    due(billing, auto_renew=False)
    assert renewals.renew_due() == 0
    due(billing)
    billing.settings.auto_renew = False
    billing.settings.save()
    assert renewals.renew_due() == 0


def test_unrenewed_subscribers_expire_after_grace_with_the_network_event(
    billing, django_capture_on_commit_callbacks, tasks_inline
):
    billing.settings.grace_days = 2
    billing.settings.save()
    in_grace = billing.subscriber(days_left=-1)
    lapsed = billing.subscriber(days_left=-3)
    seen = []

    def listener(sender, subscriber, new_status, **kwargs):
        seen.append((subscriber.pk, new_status))

    events.status_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert jobs.expire_unrenewed() == 1
        assert jobs.expire_unrenewed() == 0
    finally:
        events.status_changed.disconnect(listener)
    in_grace.refresh_from_db()
    lapsed.refresh_from_db()
    assert in_grace.status == Subscriber.Status.ACTIVE
    assert lapsed.status == Subscriber.Status.EXPIRED
    assert seen == [(lapsed.pk, Subscriber.Status.EXPIRED)]


def test_expiry_reminder_is_rendered_and_recorded_once(billing):
    NotificationTemplate.objects.create(
        tenant=billing.world.tenant,
        event="expiry_reminder",
        channel="sms",
        body="Dear {{ name }}, {{ plan }} ends {{ expires }}",
    )
    sub = billing.subscriber(days_left=2, name="Asha")
    billing.subscriber(days_left=20)
    assert jobs.send_expiry_reminders() == 1
    assert jobs.send_expiry_reminders() == 0
    message = OutboundMessage.objects.get()
    assert message.subscriber == sub and message.body.startswith("Dear Asha, Fiber 50 ends ")


def test_postpaid_bill_run_bills_once_per_cycle(billing):
    billing.settings.invoice_mode, billing.settings.bill_cycle_day = "postpaid", 5
    billing.settings.save()
    billing.subscriber()
    billing.subscriber(status=Subscriber.Status.SUSPENDED)
    cycle_day = datetime(2026, 11, 5, 6, 0, tzinfo=UTC)
    assert jobs.postpaid_bill_run(now=cycle_day - timedelta(days=1)) == 0
    assert jobs.postpaid_bill_run(now=cycle_day) == 1
    assert jobs.postpaid_bill_run(now=cycle_day + timedelta(hours=3)) == 0
    invoice = Invoice.objects.get(reason=Invoice.Reason.POSTPAID)
    assert invoice.total == D("590.00") and invoice.notes == "Postpaid bill for 2026-11"


def test_late_fee_is_charged_once_per_overdue_invoice(billing):
    from tests.billing.test_services import plan_invoice

    billing.settings.late_fee, billing.settings.late_fee_value = "percent", D("2.00")
    billing.settings.save()
    invoice = plan_invoice(billing, billing.subscriber())
    Invoice.objects.filter(pk=invoice.pk).update(due_date=invoice.due_date - timedelta(days=30))
    assert jobs.apply_late_fees() == 1
    assert jobs.apply_late_fees() == 0
    fee = Invoice.objects.get(late_fee_for=invoice)
    assert fee.total == D("11.80")  # 2 % of 590.00, no tax on the fee


def test_overdue_subscribers_are_suspended_after_grace(billing):
    from tests.billing.test_services import plan_invoice

    billing.settings.suspend_overdue_after_days = 5
    billing.settings.save()
    late, fine = billing.subscriber(), billing.subscriber()
    for sub, age in ((late, 10), (fine, 2)):
        invoice = plan_invoice(billing, sub)
        Invoice.objects.filter(pk=invoice.pk).update(
            due_date=invoice.due_date - timedelta(days=7 + age)
        )
    assert jobs.suspend_overdue() == 1
    late.refresh_from_db()
    fine.refresh_from_db()
    assert late.status == Subscriber.Status.SUSPENDED and fine.status == Subscriber.Status.ACTIVE


def test_periodic_tasks_exist_after_migrate(billing):
    from django_celery_beat.models import PeriodicTask

    ensure_periodic_tasks()
    tasks = set(
        PeriodicTask.objects.filter(task__startswith="billing.").values_list("task", flat=True)
    )
    assert tasks == {
        "billing.renew_due",
        "billing.expire_unrenewed",
        "billing.send_expiry_reminders",
        "billing.postpaid_bill_run",
        "billing.apply_late_fees",
        "billing.suspend_overdue",
    }


def test_auto_renewal_announces_each_sale_and_a_refused_sale_renews_nothing(billing):
    from modules.billing import events as billing_events
    from modules.billing.money import BillingError

    paid, refused = due(billing, "lco1"), due(billing, "partner")
    sold = []

    def partner_wallet(sender, subscriber, plan, action, actor, **kwargs):
        if subscriber.organization_id == billing.world.orgs["partner"].pk:
            raise BillingError("Partner wallet too low")
        sold.append((subscriber.pk, plan.pk, action))

    billing_events.plan_sold.connect(partner_wallet, dispatch_uid="test-partner-wallet")
    try:
        assert renewals.renew_due() == 1
    finally:
        billing_events.plan_sold.disconnect(dispatch_uid="test-partner-wallet")
    assert sold == [(paid.pk, billing.plan.pk, "renew")]
    refused.refresh_from_db()
    assert refused.expires_at < timezone.now()
    assert not Invoice.objects.filter(subscriber=refused).exists()
    assert ledger.subscriber_wallet(refused).balance == D("590.00")
    assert renewals.balance_check() == []
