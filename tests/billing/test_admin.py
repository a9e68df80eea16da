"""Billing pages: documents read-only and printable, every change a POST through the services,
scope answered as "not found", and the subscriber page's paid actions charged."""

from decimal import Decimal as D

from django.contrib.messages import get_messages
from django.urls import reverse

from modules.billing import cancellations, ledger, payments
from modules.billing.models import CancellationRequest, Invoice, LedgerEntry, Payment
from modules.subscribers.models import Subscriber
from tests.billing.test_services import plan_invoice

SUBMITTED = {"_form_submitted": "on"}


def url(obj, name):
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{name}", args=[obj.pk])


def said(response):
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_renew_on_the_subscriber_page_invoices_and_settles_from_the_wallet(client, billing):
    sub = billing.subscriber(days_left=2)
    ledger.credit(ledger.subscriber_wallet(sub), "600.00", memo="Advance")
    client.force_login(billing.world.users["lco1"])
    response = client.post(url(sub, "renew"), {**SUBMITTED, "plan": "", "reason": "Counter"})
    assert response.status_code == 302
    invoice = Invoice.objects.get(subscriber=sub)
    assert invoice.reason == Invoice.Reason.RENEWAL and invoice.status == Invoice.Status.PAID
    assert "paid from the wallet" in said(response)
    assert ledger.subscriber_wallet(sub).balance == D("10.00")


def test_renew_without_advance_leaves_the_invoice_due_and_says_so(client, billing):
    sub = billing.subscriber(days_left=2)
    client.force_login(billing.world.users["lco1"])
    response = client.post(url(sub, "renew"), {**SUBMITTED, "plan": "", "reason": ""})
    assert f"{Invoice.objects.get(subscriber=sub)}: 590.00 INR due" in said(response)


def test_booster_on_the_subscriber_page_is_charged(client, billing):
    sub = billing.subscriber()
    client.force_login(billing.admin)
    client.post(url(sub, "add_plan_item"), {**SUBMITTED, "plan": billing.booster.pk})
    assert Invoice.objects.get(subscriber=sub).reason == Invoice.Reason.PLAN_ITEM


def test_invoice_prints_as_html_and_pdf_only_within_scope(client, billing):
    invoice = plan_invoice(billing, billing.subscriber("lco1"))
    client.force_login(billing.world.users["lco1"])
    page = client.get(reverse("admin:billing_invoice_print", args=[invoice.pk]))
    assert page.status_code == 200 and invoice.number in page.content.decode()
    assert b"CGST" in page.content and b"590.00" in page.content
    pdf = client.get(reverse("admin:billing_invoice_pdf", args=[invoice.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    client.force_login(billing.world.users["partner"])
    assert client.get(reverse("admin:billing_invoice_print", args=[invoice.pk])).status_code == 404
    assert client.get(reverse("admin:billing_invoice_pdf", args=[invoice.pk])).status_code == 404
    assert client.post(url(invoice, "record_payment"), {
        **SUBMITTED, "amount": "590.00", "method": "cash", "reference": ""}).status_code == 404
    assert not Payment.objects.exists()


def test_recording_a_payment_on_the_invoice_page(client, billing):
    invoice = plan_invoice(billing, billing.subscriber("lco1"))
    client.force_login(billing.world.users["lco1"])
    bad = client.post(url(invoice, "record_payment"),
                      {**SUBMITTED, "amount": "10.001", "method": "cash", "reference": ""})
    assert "at most 2 decimal places" in said(bad)
    assert not Payment.objects.exists() and not LedgerEntry.objects.exists()
    client.post(url(invoice, "record_payment"),
                {**SUBMITTED, "amount": "590.00", "method": "upi", "reference": "UPI-1"})
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    receipt = Payment.objects.get()
    page = client.get(reverse("admin:billing_payment_receipt", args=[receipt.pk]))
    assert receipt.number in page.content.decode() and invoice.number in page.content.decode()


def test_maker_checker_through_the_pages(client, billing):
    sub = billing.subscriber("lco1")
    payment = payments.record_payment(sub, "100.00", actor=billing.admin, method="cash")
    client.force_login(billing.world.users["lco1"])
    client.post(url(payment, "request_cancellation"), {**SUBMITTED, "reason": "Bounced"})
    request = CancellationRequest.objects.get()
    assert request.requested_by == billing.world.users["lco1"]
    own = client.post(url(request, "approve"), {**SUBMITTED, "note": ""})
    assert "someone other than its requester" in said(own)
    assert Payment.objects.get().status == Payment.Status.RECEIVED
    client.force_login(billing.world.users["dist"])
    client.post(url(request, "approve"), {**SUBMITTED, "note": "Checked with the bank"})
    assert Payment.objects.get().status == Payment.Status.CANCELLED
    assert ledger.subscriber_wallet(sub).balance == 0


def test_a_partner_lists_only_its_subtrees_documents(client, billing,
                                                     django_assert_max_num_queries):
    mine = [plan_invoice(billing, billing.subscriber("lco1")) for _ in range(3)]
    theirs = plan_invoice(billing, billing.subscriber("lco2"))
    client.force_login(billing.world.users["lco1"])
    with django_assert_max_num_queries(25):
        page = client.get("/admin/billing/invoice/").content.decode()
    assert all(inv.number in page for inv in mine) and theirs.number not in page
    cancellations.request_cancellation(theirs, actor=billing.admin, reason="Wrong plan")
    assert "Wrong plan" not in client.get("/admin/billing/cancellationrequest/").content.decode()
    client.force_login(billing.world.users["dist"])
    assert theirs.number in client.get("/admin/billing/invoice/").content.decode()


def test_invoice_list_queries_do_not_grow_with_rows(client, billing,
                                                    django_assert_max_num_queries):
    sub = billing.subscriber("lco1")
    for _ in range(30):
        plan_invoice(billing, sub)
    client.force_login(billing.admin)
    with django_assert_max_num_queries(25):
        assert client.get("/admin/billing/invoice/").status_code == 200
    assert Subscriber.objects.count() == 1


def test_settling_an_invoice_from_the_wallet_on_its_page(client, billing):
    sub = billing.subscriber("lco1")
    invoice = plan_invoice(billing, sub)
    ledger.credit(ledger.subscriber_wallet(sub), "400.00", memo="Advance")
    client.force_login(billing.world.users["lco1"])
    response = client.post(url(invoice, "settle_from_wallet"), SUBMITTED)
    assert "400.00 applied from the wallet" in said(response)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PARTIALLY_PAID and invoice.amount_due == D("190.00")
    assert ledger.subscriber_wallet(sub).balance == 0
    client.post(url(invoice, "settle_from_wallet"), SUBMITTED)
    assert LedgerEntry.objects.filter(kind="invoice").count() == 1  # nothing more to apply
