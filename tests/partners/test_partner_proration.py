"""Plan change with "charge difference" for a partner's subscriber: the new plan is charged at
the price the subscriber actually pays (its partner's selling price), less the unused part."""

from datetime import timedelta
from decimal import Decimal as D

from django.utils import timezone

from modules.billing import ledger, orchestration
from modules.billing.invoicing import BillingContext
from modules.billing.models import CreditNote, InvoiceLine
from modules.partners import services


def test_charge_difference_uses_the_partners_selling_price(pw):
    pw.billing.settings.proration = "difference"
    pw.billing.settings.save()
    isp = pw.users["isp_admin"]
    for plan, cost, selling in ((pw.plan, "350.00", "650.00"), (pw.gold, "700.00", "1300.00")):
        services.share_plan(plan, pw.orgs["dist"], actor=isp, partner_price=cost,
                            selling_price=selling)
        services.share_plan(plan, pw.orgs["lco1"], actor=pw.users["dist"],
                            partner_price=cost, selling_price=selling)
    sub = pw.subscriber("lco1", days_left=-1)
    ledger.credit(ledger.subscriber_wallet(sub), "5000.00", memo="Advance")
    start = timezone.now()
    orchestration.renew_and_bill(sub, actor=isp, now=start)  # invoiced 650 + tax, paid
    later = start + timedelta(days=10)
    unused = orchestration.unused_value(sub, BillingContext.for_tenant(sub.tenant_id), later)
    assert D("0") < unused < D("650.00")
    billed = orchestration.change_plan_and_bill(sub, pw.gold, actor=isp, now=later)
    line = InvoiceLine.objects.get(invoice=billed.invoice)
    assert line.unit_price == D("1300.00") - unused  # not the list price of 1000
    assert not CreditNote.objects.filter(subscriber=sub).exists()


def test_charge_difference_credits_what_the_unused_part_exceeds_the_selling_price_by(pw):
    pw.billing.settings.proration = "difference"
    pw.billing.settings.save()
    isp = pw.users["isp_admin"]
    for plan, cost, selling in ((pw.gold, "700.00", "1300.00"), (pw.plan, "100.00", "150.00")):
        services.share_plan(plan, pw.orgs["dist"], actor=isp, partner_price=cost,
                            selling_price=selling)
        services.share_plan(plan, pw.orgs["lco1"], actor=pw.users["dist"],
                            partner_price=cost, selling_price=selling)
    sub = pw.subscriber("lco1", days_left=-1)
    ledger.credit(ledger.subscriber_wallet(sub), "5000.00", memo="Advance")
    start = timezone.now()
    orchestration.renew_and_bill(sub, actor=isp, plan=pw.gold, now=start)
    later = start + timedelta(days=1)
    unused = orchestration.unused_value(sub, BillingContext.for_tenant(sub.tenant_id), later)
    assert unused > D("150.00")  # most of 1300 + tax is still unused
    billed = orchestration.change_plan_and_bill(sub, pw.plan, actor=isp, now=later)
    assert InvoiceLine.objects.get(invoice=billed.invoice).unit_price == D("0.00")
    assert billed.credit_note.amount == unused - D("150.00")  # the list price would say 500
