"""Service actions with money: the subscriber change, invoice and wallet move all or nothing."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from modules.billing import ledger, orchestration
from modules.billing.models import CreditNote, Invoice, LedgerEntry
from modules.billing.money import BillingError
from modules.billing.selectors import balance_from_entries
from modules.subscribers.models import StatusChange, Subscriber, SubscriberAddon


def fund(sub, amount):
    ledger.credit(ledger.subscriber_wallet(sub), amount, memo="Advance")


def test_activation_bills_the_plan_and_applies_the_advance(billing):
    sub = billing.subscriber(status="new")
    fund(sub, "1000.00")
    billed = orchestration.activate_and_bill(sub, actor=billing.admin)
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.ACTIVE
    assert billed.invoice.status == Invoice.Status.PAID and billed.settled == D("590.00")
    assert billed.invoice.period_end == sub.expires_at
    assert ledger.subscriber_wallet(sub).balance == D("410.00")


def test_activation_without_advance_leaves_the_invoice_due(billing):
    sub = billing.subscriber(status="new")
    billed = orchestration.activate_and_bill(sub, actor=billing.admin)
    assert billed.invoice.status == Invoice.Status.ISSUED
    assert billed.invoice.amount_due == D("590.00")


def test_required_payment_failure_leaves_nothing_behind(billing):
    sub = billing.subscriber(status="new")
    fund(sub, "100.00")
    with pytest.raises(BillingError, match="Insufficient wallet balance"):
        orchestration.activate_and_bill(sub, actor=billing.admin, require_paid=True)
    sub.refresh_from_db()
    assert sub.status == Subscriber.Status.NEW and sub.expires_at is None
    assert not Invoice.objects.exists()
    assert not StatusChange.objects.filter(subscriber=sub, action="activate").exists()
    assert ledger.subscriber_wallet(sub).balance == D("100.00")


def test_refused_transition_charges_nothing(billing):
    sub = billing.subscriber(status=Subscriber.Status.SUSPENDED)
    fund(sub, "1000.00")
    with pytest.raises(ValueError, match="suspended"):
        orchestration.renew_and_bill(sub, actor=billing.admin)
    assert not Invoice.objects.exists()
    assert ledger.subscriber_wallet(sub).balance == D("1000.00")


def test_renewal_extends_from_expiry_and_charges_once(billing):
    sub = billing.subscriber(days_left=3)
    old_expiry = sub.expires_at
    fund(sub, "590.00")
    billed = orchestration.renew_and_bill(sub, actor=billing.admin, require_paid=True)
    assert sub.expires_at > old_expiry + timedelta(days=29)
    assert billed.invoice.reason == Invoice.Reason.RENEWAL
    assert billed.invoice.idempotency_key == f"renew:{sub.pk}:{old_expiry.isoformat()}"
    wallet = ledger.subscriber_wallet(sub)
    assert wallet.balance == 0 == balance_from_entries(wallet)


def test_plan_change_credits_the_unused_part(billing):
    sub = billing.subscriber(status="new")
    fund(sub, "2000.00")
    now = timezone.now()
    orchestration.activate_and_bill(sub, actor=billing.admin, now=now)
    halfway = now + (sub.expires_at - now) / 2
    billed = orchestration.change_plan_and_bill(sub, billing.gold, actor=billing.admin, now=halfway)
    assert billed.credit_note.amount == D("295.00")  # half of the 590.00 paid
    assert billed.invoice.total == D("1180.00") and billed.invoice.status == Invoice.Status.PAID
    wallet = ledger.subscriber_wallet(sub)
    assert wallet.balance == D("2000.00") - D("590.00") + D("295.00") - D("1180.00")
    assert wallet.balance == balance_from_entries(wallet)


def test_plan_change_charging_the_difference(billing):
    billing.settings.proration = "difference"
    billing.settings.save()
    sub = billing.subscriber(status="new")
    fund(sub, "2000.00")
    now = timezone.now()
    orchestration.activate_and_bill(sub, actor=billing.admin, now=now)
    halfway = now + (sub.expires_at - now) / 2
    billed = orchestration.change_plan_and_bill(sub, billing.gold, actor=billing.admin, now=halfway)
    assert billed.credit_note is None
    line = billed.invoice.lines.get()
    assert line.unit_price == D("705.00")  # 1000.00 less the 295.00 unused
    assert billed.invoice.total == D("831.90")


def test_plan_change_without_proration_charges_full_price(billing):
    billing.settings.proration = "none"
    billing.settings.save()
    sub = billing.subscriber(status="new")
    orchestration.activate_and_bill(sub, actor=billing.admin)
    billed = orchestration.change_plan_and_bill(sub, billing.gold, actor=billing.admin)
    assert billed.invoice.total == D("1180.00") and not CreditNote.objects.exists()


def test_booster_is_billed_with_the_addon(billing):
    sub = billing.subscriber()
    fund(sub, "118.00")
    billed = orchestration.add_plan_item_and_bill(sub, billing.booster, actor=billing.admin,
                                                  require_paid=True)
    assert isinstance(billed.addon, SubscriberAddon)
    assert billed.invoice.total == D("118.00") and billed.invoice.status == Invoice.Status.PAID


def test_booster_without_balance_is_not_added(billing):
    sub = billing.subscriber()
    with pytest.raises(BillingError):
        orchestration.add_plan_item_and_bill(sub, billing.booster, actor=billing.admin,
                                             require_paid=True)
    assert not SubscriberAddon.objects.filter(subscriber=sub).exists()
    assert not LedgerEntry.objects.exists()


def test_postpaid_activation_is_billed_later(billing):
    billing.settings.invoice_mode = "postpaid"
    billing.settings.save()
    sub = billing.subscriber(status="new")
    billed = orchestration.activate_and_bill(sub, actor=billing.admin)
    assert billed.invoice is None and sub.status == Subscriber.Status.ACTIVE
