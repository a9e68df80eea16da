"""The auto-renewal run renews a batch with set-based writes: the number of queries per batch
does not grow with its size, every effect of a one-by-one renewal is still there (audit row,
network event, invoice, ledger), partners are charged once per sale, and the expiry reminder
carries the self-care payment link."""

from datetime import timedelta
from decimal import Decimal as D

from django.db.models import Sum
from django.utils import timezone

from modules.billing import events as billing_events
from modules.billing import jobs, ledger, renewals
from modules.billing.models import Invoice, LedgerEntry, OutboundMessage
from modules.core.models import TenantDomain
from modules.settings_hub.models import NotificationTemplate
from modules.subscribers import events
from modules.subscribers import services as subscribers
from modules.subscribers.models import StatusChange, Subscriber
from tests.billing.test_concurrency import assert_gap_free, assert_ledger_consistent
from tests.billing.test_jobs import due

# Per batch: select, wallets (2), savepoint (2), renew UPDATE, audit insert, counter, invoice
# ids + rows, line ids + rows, tax ids + rows, allocation ids + rows, ledger lock, entry ids +
# rows, balances; plus the per-run reads of settings, plans and organizations.
MAX_QUERIES = 40


def test_a_batch_renewal_makes_a_bounded_number_of_queries(billing, django_assert_max_num_queries):
    subs = [due(billing, ("lco1", "lco2", "partner")[i % 3]) for i in range(60)]
    with django_assert_max_num_queries(MAX_QUERIES):
        assert renewals.renew_due(batch_size=100) == 60
    more = [due(billing, "lco1") for _ in range(120)]
    with django_assert_max_num_queries(MAX_QUERIES):
        assert renewals.renew_due(batch_size=200) == 120  # twice the batch, same bound
    assert renewals.renew_due() == 0
    for sub in subs + more:
        sub.refresh_from_db()
        assert sub.expires_at > timezone.now() + timedelta(days=28)
    assert StatusChange.objects.filter(action="renew").count() == 180
    assert Invoice.objects.filter(reason="renewal", status="paid").count() == 180
    assert_gap_free(Invoice)
    assert_ledger_consistent()


def test_a_batch_renewal_keeps_every_effect_of_a_single_renewal(
        billing, django_capture_on_commit_callbacks):
    limited = due(billing, status=Subscriber.Status.LIMITED)
    active = due(billing)
    old_expiry = active.expires_at
    seen = []

    def record(sender, subscribers, change, details, old_statuses, **kwargs):
        seen.append((sorted(s.pk for s in subscribers), change, old_statuses, details))

    events.services_changed.connect(record, dispatch_uid="test-batch-event")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert renewals.renew_due() == 2
    finally:
        events.services_changed.disconnect(dispatch_uid="test-batch-event")
    assert len(seen) == 1  # one event for the batch
    ids, change, old_statuses, details = seen[0]
    assert ids == sorted([limited.pk, active.pk]) and change == "renew"
    assert old_statuses == {limited.pk: "limited", active.pk: "active"}
    active.refresh_from_db()
    assert details[active.pk]["old_expires_at"] == old_expiry
    assert details[active.pk]["expires_at"] == active.expires_at
    limited.refresh_from_db()
    assert limited.status == Subscriber.Status.ACTIVE
    audit = StatusChange.objects.get(subscriber=limited, action="renew")
    assert (audit.from_status, audit.to_status) == ("limited", "active")
    invoice = Invoice.objects.get(subscriber=active)
    assert invoice.period_end == active.expires_at
    assert invoice.idempotency_key == f"renew:{active.pk}:{old_expiry.isoformat()}"


def test_renew_many_renews_a_row_only_at_the_expiry_it_was_read_with(billing):
    sub = due(billing)
    stale = Subscriber.objects.get(pk=sub.pk)
    assert len(subscribers.renew_many([sub], actor=None)) == 1
    assert subscribers.renew_many([stale], actor=None) == []  # already moved on: no second term
    assert StatusChange.objects.filter(subscriber=sub, action="renew").count() == 1


def _share_with_lco1(billing):
    from modules.partners import services

    for name in ("dist", "lco1"):
        services.ensure_profile(billing.world.orgs[name])
    services.share_plan(billing.plan, billing.world.orgs["dist"], actor=billing.admin,
                        partner_price="350.00", selling_price="500.00")
    services.share_plan(billing.plan, billing.world.orgs["lco1"],
                        actor=billing.world.users["dist"], partner_price="400.00",
                        selling_price="500.00")
    wallet = ledger.organization_wallet(billing.world.orgs["lco1"])
    ledger.credit(wallet, "5000.00", memo="Opening balance")
    return wallet


def test_a_batch_of_sales_by_a_partner_debits_its_wallet_once_per_sale(billing):
    wallet = _share_with_lco1(billing)
    subs = [billing.subscriber("lco1") for _ in range(3)]
    billing_events.plans_sold.send(sender=Invoice, sales=[(s, s.plan) for s in subs],
                                   action="renew", actor=billing.world.users["lco1"])
    entries = LedgerEntry.objects.filter(wallet=wallet, amount__lt=0)
    assert sorted(e.source_id for e in entries) == sorted(s.pk for s in subs)
    assert all(e.amount == D("-400.00") for e in entries)
    wallet.refresh_from_db()
    assert wallet.balance == D("3800.00")
    total = LedgerEntry.objects.filter(wallet=wallet).aggregate(s=Sum("amount"))["s"]
    assert total == wallet.balance
    # The per-sale announcement of a batch leaves the charging to the batch event.
    billing_events.plan_sold.send(sender=Invoice, subscriber=subs[0], plan=billing.plan,
                                  action="renew", actor=billing.world.users["lco1"], batch=True)
    wallet.refresh_from_db()
    assert wallet.balance == D("3800.00")


def test_the_renewal_run_charges_partners_as_a_sale_by_the_isp_does(billing):
    """The run renews as the system (no acting user), which sells for the ISP: partner wallets
    are charged exactly as by `charge_sale` for such a sale, i.e. not at all, once or twice."""
    wallet = _share_with_lco1(billing)
    subs = [due(billing, "lco1") for _ in range(4)]
    assert renewals.renew_due(batch_size=3) == 4
    assert renewals.renew_due() == 0
    wallet.refresh_from_db()
    assert wallet.balance == D("5000.00")
    assert Invoice.objects.filter(subscriber__in=subs).count() == 4
    assert_ledger_consistent()


def test_expiry_reminder_carries_the_self_care_payment_link(billing):
    TenantDomain.objects.create(tenant=billing.world.tenant, domain="portal.alpha.test",
                                is_primary=True)
    TenantDomain.objects.create(tenant=billing.world.tenant, domain="alpha.test")
    NotificationTemplate.objects.create(
        tenant=billing.world.tenant, event="expiry_reminder", channel="sms",
        body="{{ plan }} ends {{ expires }}. Renew: {{ pay_link }}")
    billing.subscriber(days_left=2)
    assert jobs.send_expiry_reminders() == 1
    body = OutboundMessage.objects.get().body
    assert body.endswith(". Renew: https://portal.alpha.test/portal/renew")
    assert body.startswith("Fiber 50 ends ")


def test_payment_link_points_to_the_billing_page_when_self_care_renewal_is_off(billing):
    from modules.billing.notify import pay_link
    from modules.selfcare.models import PortalSettings

    assert pay_link(billing.world.tenant.pk) == ""  # no host: no link
    TenantDomain.objects.create(tenant=billing.world.tenant, domain="alpha.test")
    PortalSettings.objects.create(tenant=billing.world.tenant, allow_renewal=False)
    assert pay_link(billing.world.tenant.pk) == "https://alpha.test/portal/billing"


def test_two_renewal_workers_share_the_run(billing_tx):
    subs = []
    for i in range(24):
        sub = billing_tx.subscriber(("lco1", "lco2", "partner")[i % 3], days_left=-1)
        ledger.credit(ledger.subscriber_wallet(sub), "590.00", memo="Advance")
        subs.append(sub)
    assert renewals.renew_due(batch_size=5, workers=2) == 24
    assert renewals.renew_due(workers=2) == 0
    assert Invoice.objects.count() == 24
    assert LedgerEntry.objects.filter(kind="invoice").count() == 24
    assert_gap_free(Invoice)
    assert_ledger_consistent()


def _document(invoice):
    """What a reader of the invoice sees: header, lines with taxes, allocation, ledger debit."""
    header = {f: getattr(invoice, f) for f in (
        "organization_id", "bill_to_name", "bill_to_address", "bill_to_state",
        "bill_to_tax_number", "currency", "supplier_state", "supplier_tax_number",
        "is_interstate", "taxable_total", "tax_total", "round_off", "total", "tax_breakdown",
        "reason", "notes", "created_by_id", "late_fee_for_id", "cancelled_at")}
    lines = [(line.position, line.description, line.plan_id, line.hsn_sac, line.quantity,
              line.unit_price, line.tax_rate, line.taxable_value, line.tax_amount,
              line.line_total,
              sorted((t.name, t.rate, t.amount) for t in line.taxes.all()))
             for line in invoice.lines.order_by("position")]
    return header, lines


def test_renewal_invoices_written_as_rows_match_an_invoice_issued_one_by_one(billing):
    """The run writes its documents as COPY rows without model instances, sharing the line and
    tax values of identical invoices: each document must still read exactly as the invoice
    service would have written it, for a subscriber in the supplier's state (CGST + SGST) and
    one in another state (IGST) in the same batch."""
    from modules.billing import invoicing

    local = due(billing)
    other = due(billing, state="Karnataka", tax_number="29AABCU9603R1ZM")
    old = {s.pk: s.expires_at for s in (local, other)}
    assert renewals.renew_due() == 2
    ctx = invoicing.BillingContext.for_tenant(local.tenant_id)
    for sub in (local, other):
        sub.refresh_from_db()
        invoice = Invoice.objects.get(subscriber=sub)
        reference = invoicing.prepare_invoice(
            ctx, sub, [invoicing.plan_line(sub.plan, ctx)], reason=Invoice.Reason.RENEWAL)
        ref_lines = [(line.position, line.description, line.plan_id, line.hsn_sac,
                      line.quantity, line.unit_price, line.tax_rate, line.taxable_value,
                      line.tax_amount, line.line_total,
                      sorted((t.name, t.rate, t.amount) for t in taxes))
                     for line, taxes in reference.lines]
        ref_header = {f: getattr(reference.invoice, f) for f in _document(invoice)[0]}
        header, lines = _document(invoice)
        assert header == ref_header
        assert lines == ref_lines
        assert invoice.is_interstate is (sub is other)
        assert (invoice.status, invoice.amount_paid) == (Invoice.Status.PAID, invoice.total)
        assert invoice.idempotency_key == f"renew:{sub.pk}:{old[sub.pk].isoformat()}"
        assert old[sub.pk] <= invoice.period_start <= timezone.now()  # lapsed: from the run
        assert invoice.period_end == sub.expires_at
        assert invoice.issue_date and invoice.due_date and invoice.issued_at and invoice.number
        assert [a.amount for a in invoice.allocations.all()] == [invoice.total]
        entry = LedgerEntry.objects.get(source_id=invoice.pk, kind=LedgerEntry.Kind.INVOICE)
        assert entry.source == invoice and entry.amount == -invoice.total
        assert entry.memo == f"Auto-renewal {invoice.number}"
        assert entry.balance_after == ledger.subscriber_wallet(sub).balance == 0
        assert (entry.tenant_id, entry.organization_id) == (sub.tenant_id, sub.organization_id)
    assert_gap_free(Invoice)
    assert_ledger_consistent()
