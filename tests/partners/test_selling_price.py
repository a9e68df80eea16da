"""A partner's subscriber is invoiced at the selling price of the nearest share above it; the
partner's wallet still pays the partner price; ISP-direct subscribers pay the plan's own price."""

from decimal import Decimal as D

from modules.billing import ledger, orchestration
from modules.billing.invoicing import BillingContext, create_proforma, plan_line, price_lines
from modules.billing.models import InvoiceLine
from modules.partners import services
from modules.plans.selectors import price_for


def share(pw, lco1_selling="650.00"):
    services.share_plan(pw.plan, pw.orgs["dist"], actor=pw.users["isp_admin"],
                        partner_price="350.00", selling_price="550.00")
    services.share_plan(pw.plan, pw.orgs["lco1"], actor=pw.users["dist"],
                        partner_price="400.00", selling_price=lco1_selling)


def invoiced_price(billed):
    return InvoiceLine.objects.get(invoice=billed.invoice).unit_price


def test_a_partners_renewed_subscriber_is_invoiced_at_the_selling_price(pw):
    share(pw)
    wallet = ledger.organization_wallet(pw.orgs["lco1"])
    ledger.credit(wallet, "1000.00", memo="Opening balance")
    billed = orchestration.renew_and_bill(pw.subscriber("lco1"), actor=pw.users["lco1"])
    assert invoiced_price(billed) == D("650.00")
    wallet.refresh_from_db()
    assert wallet.balance == D("600.00")  # debited at the partner price, 400


def test_the_nearest_share_up_the_tree_sets_the_price(pw):
    share(pw)
    assert price_for(pw.plan, pw.orgs["sub"]) == D("650.00")  # sub inherits lco1's share
    assert price_for(pw.plan, pw.orgs["lco2"]) == D("550.00")  # lco2 sits under dist's share
    services.share_plan(pw.plan, pw.orgs["sub"], actor=pw.users["lco1"],
                        partner_price="450.00", selling_price="700.00")
    assert price_for(pw.plan, pw.orgs["sub"]) == D("700.00")


def test_an_isp_direct_subscriber_pays_the_plans_own_price(pw):
    share(pw)
    billed = orchestration.renew_and_bill(pw.subscriber("root"), actor=pw.users["isp_admin"])
    assert invoiced_price(billed) == D("500.00")
    assert price_for(pw.plan, pw.orgs["partner"]) == D("500.00")  # nothing shared with it


def test_a_proforma_quotes_the_selling_price_and_explicit_prices_are_kept(pw):
    share(pw)
    proforma = create_proforma(pw.subscriber("lco1"), pw.plan, actor=pw.users["isp_admin"])
    assert proforma.taxable_total == D("650.00")
    ctx = BillingContext.for_tenant(pw.orgs["lco1"].tenant_id)
    result, _ = price_lines(ctx, pw.subscriber("lco1"), [plan_line(pw.plan, ctx, price=D("10"))])
    assert result.taxable_total == D("10.00")
