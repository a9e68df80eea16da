"""Invoices, payments, credit notes and the cancellation queue, one rule per test."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from modules.billing import cancellations, invoicing, ledger, payments
from modules.billing.models import Invoice, LedgerEntry, Payment
from modules.billing.money import BillingError
from modules.billing.selectors import balance_from_entries
from modules.billing.tax import LineInput
from tests.world import PASSWORD  # noqa: F401 - the world's users sign in with it


def plan_invoice(billing, sub, actor=None):
    ctx = invoicing.BillingContext.for_tenant(sub.tenant_id)
    return invoicing.create_invoice(
        sub, [invoicing.plan_line(billing.plan, ctx)], actor=actor or billing.admin
    )


def test_issued_invoice_is_numbered_taxed_and_due(billing):
    sub = billing.subscriber()
    invoice = plan_invoice(billing, sub)
    assert invoice.number.startswith("INV/") and invoice.sequence == 1
    assert invoice.status == Invoice.Status.ISSUED
    assert (invoice.taxable_total, invoice.tax_total, invoice.total) == (
        D("500.00"),
        D("90.00"),
        D("590.00"),
    )
    assert [t["name"] for t in invoice.tax_breakdown] == ["CGST", "SGST"]
    assert invoice.due_date == invoice.issue_date + __import__("datetime").timedelta(days=7)


def test_customer_in_another_state_pays_igst(billing):
    sub = billing.subscriber(state="Karnataka")
    invoice = plan_invoice(billing, sub)
    assert invoice.is_interstate
    assert [(t["name"], t["amount"]) for t in invoice.tax_breakdown] == [("IGST", "90.00")]


def test_numbers_are_consecutive_per_fiscal_year(billing):
    sub = billing.subscriber()
    numbers = [plan_invoice(billing, sub).sequence for _ in range(3)]
    assert numbers == [1, 2, 3]


def test_payment_credits_wallet_and_settles_oldest_invoice(billing):
    sub = billing.subscriber()
    invoice = plan_invoice(billing, sub)
    payment = payments.record_payment(sub, "700.00", actor=billing.admin, method="cash")
    invoice.refresh_from_db()
    wallet = ledger.subscriber_wallet(sub)
    assert invoice.status == Invoice.Status.PAID and invoice.amount_paid == D("590.00")
    assert wallet.balance == D("110.00") == balance_from_entries(wallet)
    assert payment.number.startswith("RCT/")
    kinds = list(
        LedgerEntry.objects.filter(wallet=wallet).order_by("id").values_list("kind", "amount")
    )
    assert kinds == [("payment", D("700.00")), ("invoice", D("-590.00"))]


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "greater than zero"),
        ("-5", "greater than zero"),
        ("10.001", "at most 2 decimal"),
        ("abc", "not an amount"),
        (10.5, "not floating point"),
        ("NaN", "not an amount"),
    ],
)
def test_bad_amounts_are_refused_and_nothing_is_written(billing, amount, message):
    sub = billing.subscriber()
    with pytest.raises(BillingError, match=message):
        payments.record_payment(sub, amount, actor=billing.admin, method="cash")
    assert not Payment.objects.exists() and not LedgerEntry.objects.exists()


def test_currency_mismatch_is_refused(billing):
    sub = billing.subscriber()
    with pytest.raises(BillingError, match="Currency mismatch"):
        payments.record_payment(sub, "10.00", actor=billing.admin, method="cash", currency="USD")
    assert not Payment.objects.exists()


def test_cheque_needs_its_number(billing):
    with pytest.raises(BillingError, match="reference"):
        payments.record_payment(billing.subscriber(), "10.00", actor=billing.admin, method="cheque")


def test_partner_cannot_bill_another_partners_subscriber(billing):
    sub = billing.subscriber("lco2")
    with pytest.raises(PermissionDenied):
        payments.record_payment(sub, "10.00", actor=billing.world.users["lco1"], method="cash")
    with pytest.raises(PermissionDenied):
        plan_invoice(billing, sub, actor=billing.world.users["partner"])


def test_paying_a_cancelled_invoice_is_refused(billing):
    sub = billing.subscriber()
    invoice = plan_invoice(billing, sub)
    cancellations.cancel_invoice(invoice, actor=billing.admin, memo="test")
    with pytest.raises(BillingError, match="cancelled and cannot be paid"):
        payments.record_payment(
            sub, "590.00", actor=billing.admin, method="cash", invoices=[invoice]
        )
    assert not Payment.objects.exists()


def test_issued_invoice_cannot_be_issued_again(billing):
    invoice = plan_invoice(billing, billing.subscriber())
    with pytest.raises(BillingError, match="already issued"):
        invoicing.issue_invoice(invoice, actor=billing.admin)


def test_draft_gets_its_number_only_when_issued(billing):
    sub = billing.subscriber()
    draft = invoicing.create_invoice(
        sub, [LineInput("Router", D("1500.00"), D("18"))], actor=billing.admin, issue=False
    )
    assert draft.number == "" and draft.status == Invoice.Status.DRAFT
    issued = invoicing.issue_invoice(draft, actor=billing.admin)
    assert issued.sequence == 1 and issued.status == Invoice.Status.ISSUED


def test_credit_note_reduces_what_an_invoice_owes(billing):
    sub = billing.subscriber()
    invoice = plan_invoice(billing, sub)
    note = invoicing.issue_credit_note(
        sub, "90.00", actor=billing.admin, reason="Outage credit", invoice=invoice
    )
    invoice.refresh_from_db()
    assert note.number.startswith("CN/")
    assert invoice.amount_due == D("500.00") and invoice.status == Invoice.Status.PARTIALLY_PAID
    assert ledger.subscriber_wallet(sub).balance == D("0.00")


def test_credit_notes_cannot_exceed_the_invoice(billing):
    sub = billing.subscriber()
    invoice = plan_invoice(billing, sub)
    with pytest.raises(BillingError, match="may not exceed"):
        invoicing.issue_credit_note(sub, "600.00", actor=billing.admin, reason="x", invoice=invoice)


def test_cancelling_needs_a_different_approver_with_permission(billing):
    sub = billing.subscriber()
    invoice = plan_invoice(billing, sub)
    maker, checker = billing.admin, billing.world.users["dist"]
    request = cancellations.request_cancellation(invoice, actor=maker, reason="Wrong plan")
    with pytest.raises(BillingError, match="someone other than its requester"):
        cancellations.approve_cancellation(request, actor=maker)
    with pytest.raises(PermissionDenied):
        cancellations.approve_cancellation(request, actor=billing.world.users["no_perm"])
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED
    cancellations.approve_cancellation(request, actor=checker, note="ok")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.CANCELLED


def test_only_one_pending_cancellation_per_document(billing):
    invoice = plan_invoice(billing, billing.subscriber())
    cancellations.request_cancellation(invoice, actor=billing.admin, reason="Wrong plan")
    with pytest.raises(BillingError, match="already has a pending"):
        cancellations.request_cancellation(invoice, actor=billing.admin, reason="Again")


def test_cancelling_a_paid_invoice_returns_the_money_to_the_wallet(billing):
    sub = billing.subscriber()
    invoice = plan_invoice(billing, sub)
    payments.record_payment(sub, "590.00", actor=billing.admin, method="cash")
    request = cancellations.request_cancellation(invoice, actor=billing.admin, reason="Duplicate")
    cancellations.approve_cancellation(request, actor=billing.world.users["dist"])
    wallet = ledger.subscriber_wallet(sub)
    assert wallet.balance == D("590.00") == balance_from_entries(wallet)


def test_cancelling_a_payment_reopens_its_invoices(billing):
    sub = billing.subscriber()
    invoice = plan_invoice(billing, sub)
    payment = payments.record_payment(sub, "590.00", actor=billing.admin, method="cash")
    request = cancellations.request_cancellation(payment, actor=billing.admin, reason="Bounced")
    cancellations.approve_cancellation(request, actor=billing.world.users["dist"])
    invoice.refresh_from_db()
    payment.refresh_from_db()
    wallet = ledger.subscriber_wallet(sub)
    assert payment.status == Payment.Status.CANCELLED
    assert invoice.status == Invoice.Status.ISSUED and invoice.amount_paid == 0
    assert wallet.balance == 0 == balance_from_entries(wallet)


def test_cancelling_a_payment_already_spent_is_refused(billing):
    sub = billing.subscriber()
    payment = payments.record_payment(sub, "100.00", actor=billing.admin, method="cash")
    ledger.debit(ledger.subscriber_wallet(sub), "80.00", memo="spent")
    request = cancellations.request_cancellation(payment, actor=billing.admin, reason="Bounced")
    with pytest.raises(BillingError, match="Insufficient balance"):
        cancellations.approve_cancellation(request, actor=billing.world.users["dist"])
    payment.refresh_from_db()
    assert payment.status == Payment.Status.RECEIVED


def test_wallet_floor_and_credit_limit(billing):
    wallet = ledger.subscriber_wallet(billing.subscriber())
    with pytest.raises(BillingError, match="Insufficient balance"):
        ledger.debit(wallet, "1.00")
    billing.settings.allow_negative_balance = True
    billing.settings.subscriber_credit_limit = D("200.00")
    billing.settings.save()
    ledger.debit(wallet, "150.00")
    with pytest.raises(BillingError, match="Insufficient balance"):
        ledger.debit(wallet, "60.00")
    assert wallet.balance == D("-150.00") == balance_from_entries(wallet)


def test_transfer_between_partner_wallets(billing):
    parent = ledger.organization_wallet(billing.world.orgs["dist"])
    child = ledger.organization_wallet(billing.world.orgs["lco1"])
    ledger.credit(parent, "1000.00", memo="Recharge")
    out, into = ledger.transfer(parent, child, "400.00", memo="Partner recharge")
    assert out.transfer_group == into.transfer_group
    assert (parent.balance, child.balance) == (D("600.00"), D("400.00"))
    with pytest.raises(BillingError, match="Insufficient"):
        ledger.transfer(child, parent, "400.01")


def test_ledger_entries_cannot_be_edited_even_in_sql(billing):
    entry = ledger.credit(ledger.subscriber_wallet(billing.subscriber()), "5.00")
    with pytest.raises(ValueError, match="immutable"):
        entry.save()
    with pytest.raises(Exception, match="immutable"), connection.cursor() as cursor:
        cursor.execute("UPDATE billing_ledgerentry SET amount = 1 WHERE id = %s", [entry.pk])


def test_partner_collection_records_the_collecting_partner(billing):
    sub = billing.subscriber("lco1")
    payment = payments.record_payment(sub, "590.00", actor=billing.world.users["lco1"],
                                      method="partner")
    assert payment.collected_by == billing.world.orgs["lco1"]
    with pytest.raises(BillingError, match="partner that collected"):
        payments.record_payment(sub, "10.00", actor=None, method="partner")


@pytest.mark.parametrize(("reset", "expected"), [
    ("fiscal_year", ["INV/2026-27/000001", "INV/2026-27/000002", "INV/2027-28/000001"]),
    ("never", ["INV/000001", "INV/000002", "INV/000003"]),
])
def test_numbering_restarts_each_fiscal_year_when_set(billing, reset, expected):
    from datetime import UTC, datetime

    billing.settings.number_reset = reset
    billing.settings.save()
    sub = billing.subscriber()
    days = [datetime(2027, 1, 10, 6, tzinfo=UTC), datetime(2027, 3, 31, 6, tzinfo=UTC),
            datetime(2027, 4, 1, 6, tzinfo=UTC)]  # India: the fiscal year starts on 1 April
    numbers = []
    for day in days:
        draft = invoicing.create_invoice(sub, [LineInput("Router", D("100.00"), D("18"))],
                                         actor=billing.admin, issue=False)
        numbers.append(invoicing.issue_invoice(draft, actor=billing.admin, now=day).number)
    assert numbers == expected
