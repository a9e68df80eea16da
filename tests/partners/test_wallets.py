"""Partner wallets: recharge by the parent, top-up requests approved above the partner, the
debit at partner price on a partner's sale, credit limit, low-balance alert and statement."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from modules.billing import ledger, orchestration
from modules.billing.models import Invoice, LedgerEntry
from modules.billing.money import BillingError
from modules.billing.selectors import balance_from_entries
from modules.partners import selectors, services
from modules.partners.models import Partner, TopUpRequest

SUBMITTED = {"_form_submitted": "on"}


def wallet(pw, org):
    return ledger.organization_wallet(pw.orgs[org])


def fund(pw, org, amount):
    """Opening money for a partner (as if its parent had recharged it earlier)."""
    ledger.credit(wallet(pw, org), amount, memo="Opening balance")


def balances(pw, *orgs):
    return [wallet(pw, o).balance for o in orgs]


def test_the_isp_recharges_from_outside_a_partner_recharges_from_its_own_wallet(pw):
    services.recharge(pw.orgs["dist"], "1000.00", actor=pw.users["isp_admin"])
    services.recharge(pw.orgs["lco1"], "300.00", actor=pw.users["dist"])
    assert balances(pw, "dist", "lco1") == [D("700.00"), D("300.00")]
    with pytest.raises(BillingError, match="Insufficient"):
        services.recharge(pw.orgs["lco2"], "701.00", actor=pw.users["dist"])
    assert balances(pw, "dist", "lco2") == [D("700.00"), D("0")]


@pytest.mark.parametrize("who,target", [("lco1", "lco2"), ("lco1", "lco1"), ("dist", "dist"),
                                        ("partner", "lco1")])
def test_recharging_outside_ones_subtree_or_oneself_is_refused(pw, who, target):
    services.recharge(pw.orgs["dist"], "100.00", actor=pw.users["isp_admin"])
    entries = LedgerEntry.objects.count()
    with pytest.raises(PermissionDenied):
        services.recharge(pw.orgs[target], "10.00", actor=pw.users[who])
    assert LedgerEntry.objects.count() == entries


@pytest.mark.parametrize("amount", ["-50", "0", "10.001", "abc"])
def test_bad_recharge_amounts_are_refused(pw, amount):
    with pytest.raises(BillingError):
        services.recharge(pw.orgs["dist"], amount, actor=pw.users["isp_admin"])
    assert not LedgerEntry.objects.exists()


def test_top_up_request_is_approved_above_the_partner_never_by_itself(pw):
    services.recharge(pw.orgs["dist"], "500.00", actor=pw.users["isp_admin"])
    request = services.request_topup(pw.orgs["lco1"], "200.00", actor=pw.users["lco1"])
    for own in ("lco1", "lco1_clerk"):
        with pytest.raises(PermissionDenied):
            services.approve_topup(request, actor=pw.users[own])
    with pytest.raises(PermissionDenied):
        services.approve_topup(request, actor=pw.users["partner"])
    request.refresh_from_db()
    assert request.status == TopUpRequest.Status.PENDING
    services.approve_topup(request, actor=pw.users["dist"], note="ok")
    request.refresh_from_db()
    assert request.status == TopUpRequest.Status.APPROVED
    assert request.ledger_entry.wallet == wallet(pw, "lco1")
    assert balances(pw, "dist", "lco1") == [D("300.00"), D("200.00")]
    with pytest.raises(BillingError, match="already approved"):
        services.approve_topup(request, actor=pw.users["isp_admin"])
    assert balances(pw, "dist", "lco1") == [D("300.00"), D("200.00")]


def test_a_top_up_request_by_an_admin_for_a_partner_still_needs_someone_else(pw):
    request = services.request_topup(pw.orgs["dist"], "50.00", actor=pw.users["isp_admin"])
    with pytest.raises(PermissionDenied):
        services.approve_topup(request, actor=pw.users["isp_admin"])
    with pytest.raises(BillingError, match="reason"):
        services.reject_topup(request, actor=pw.users["isp_admin"], note=" ")
    assert TopUpRequest.objects.get(pk=request.pk).status == TopUpRequest.Status.PENDING


def share(pw, plan, price="400.00", selling="500.00"):
    services.share_plan(plan, pw.orgs["dist"], actor=pw.users["isp_admin"],
                        partner_price="350.00", selling_price=selling)
    services.share_plan(plan, pw.orgs["lco1"], actor=pw.users["dist"],
                        partner_price=price, selling_price=selling)


def test_a_partners_renewal_debits_its_wallet_at_partner_price(pw):
    share(pw, pw.plan)
    fund(pw, "lco1", "1000.00")
    sub = pw.subscriber("lco1")
    billed = orchestration.renew_and_bill(sub, actor=pw.users["lco1"])
    assert billed.invoice is not None
    assert wallet(pw, "lco1").balance == D("600.00")
    entry = LedgerEntry.objects.filter(wallet=wallet(pw, "lco1")).order_by("-id").first()
    assert entry.amount == D("-400.00") and entry.source == sub
    orchestration.renew_and_bill(sub, actor=pw.users["isp_admin"])  # the ISP sells for itself
    assert wallet(pw, "lco1").balance == D("600.00")


def test_a_sale_below_the_credit_limit_is_refused_and_nothing_changes(pw):
    share(pw, pw.plan)
    services.update_partner(pw.profile("lco1"), actor=pw.users["dist"], credit_limit=D("100"))
    fund(pw, "lco1", "250.00")
    sub = pw.subscriber("lco1")
    expiry = sub.expires_at
    with pytest.raises(BillingError, match="Insufficient"):
        orchestration.renew_and_bill(sub, actor=pw.users["lco1"])
    sub.refresh_from_db()
    assert sub.expires_at == expiry
    assert not Invoice.objects.filter(subscriber=sub).exists()
    assert wallet(pw, "lco1").balance == D("250.00")
    fund(pw, "lco1", "50.00")
    orchestration.renew_and_bill(sub, actor=pw.users["lco1"])
    assert wallet(pw, "lco1").balance == D("-100.00")
    assert balance_from_entries(wallet(pw, "lco1")) == D("-100.00")


def test_low_balance_raises_a_flag_and_clears_it_after_a_recharge(pw):
    share(pw, pw.plan)
    services.update_partner(pw.profile("lco1"), actor=pw.users["dist"],
                            low_balance_threshold=D("500"))
    fund(pw, "lco1", "800.00")
    assert Partner.objects.get(organization=pw.orgs["lco1"]).low_balance_since is None
    orchestration.renew_and_bill(pw.subscriber("lco1"), actor=pw.users["lco1"])
    assert Partner.objects.get(organization=pw.orgs["lco1"]).low_balance_since is not None
    fund(pw, "dist", "200.00")
    services.recharge(pw.orgs["lco1"], "200.00", actor=pw.users["dist"])
    assert Partner.objects.get(organization=pw.orgs["lco1"]).low_balance_since is None


def test_statement_shows_each_entry_with_its_running_balance(pw):
    services.recharge(pw.orgs["dist"], "1000.00", actor=pw.users["isp_admin"])
    services.recharge(pw.orgs["lco1"], "300.00", actor=pw.users["dist"])
    services.recharge(pw.orgs["lco2"], "200.00", actor=pw.users["dist"])
    result = selectors.statement(wallet(pw, "dist"))
    assert [(line.amount, line.balance) for line in result.lines] == [
        (D("1000.00"), D("1000.00")), (D("-300.00"), D("700.00")), (D("-200.00"), D("500.00"))]
    assert result.opening == 0 and result.closing == D("500.00")


def test_wallet_pages_recharge_by_post_and_hide_other_branches(pw, client):
    services.recharge(pw.orgs["dist"], "500.00", actor=pw.users["isp_admin"])
    client.force_login(pw.users["dist"])
    lco1_wallet = wallet(pw, "lco1")
    url = reverse("admin:partners_partnerwallet_recharge", args=[lco1_wallet.pk])
    response = client.post(url, {**SUBMITTED, "amount": "120.00", "memo": "cash received"})
    assert response.status_code in (200, 302)
    assert balances(pw, "dist", "lco1") == [D("380.00"), D("120.00")]
    page = client.get(f"/admin/partners/partnerwallet/{lco1_wallet.pk}/statement/")
    assert page.status_code == 200 and "cash received" in page.content.decode()
    client.force_login(pw.users["lco1"])
    partner_wallet = wallet(pw, "partner")
    assert client.get(
        f"/admin/partners/partnerwallet/{partner_wallet.pk}/statement/").status_code == 404
    forged = client.post(reverse("admin:partners_partnerwallet_recharge",
                                 args=[wallet(pw, "lco2").pk]),
                         {**SUBMITTED, "amount": "10.00", "memo": "x"})
    assert forged.status_code in (403, 404)
    assert wallet(pw, "lco2").balance == 0
