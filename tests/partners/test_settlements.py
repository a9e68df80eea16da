"""Settlements: payout requests from partners, payouts made above them (bank, UPI, cheque),
history, and the commissions each payout settles."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from modules.billing import ledger, payments
from modules.billing.money import BillingError
from modules.partners import services
from modules.partners.models import Commission, Settlement


@pytest.fixture
def earning(pw):
    services.update_partner(pw.profile("lco1"), actor=pw.users["dist"],
                            default_commission_rate=D("10"))
    sub = pw.subscriber("lco1")
    for amount in ("500.00", "300.00", "200.00"):
        payments.record_payment(sub, amount, actor=None, method="cash")
    return pw  # lco1 earned 50 + 30 + 20


def balance(pw, org):
    return ledger.organization_wallet(pw.orgs[org]).balance


def test_partner_requests_and_the_parent_pays_with_a_commission_trace(earning):
    pw = earning
    assert balance(pw, "lco1") == D("100.00")
    request = services.request_settlement(pw.orgs["lco1"], "80.00", actor=pw.users["lco1"],
                                          method="upi")
    with pytest.raises(PermissionDenied):
        services.pay_settlement(request, actor=pw.users["lco1"], reference="UPI-1")
    with pytest.raises(BillingError, match="UTR"):
        services.pay_settlement(request, actor=pw.users["dist"], reference=" ")
    paid = services.pay_settlement(request, actor=pw.users["dist"], reference="UPI-778")
    assert paid.status == Settlement.Status.PAID and paid.ledger_entry.amount == D("-80.00")
    assert balance(pw, "lco1") == D("20.00")
    assert sorted(c.amount for c in paid.commissions.all()) == [D("30.00"), D("50.00")]
    assert Commission.objects.filter(settlement__isnull=True).get().amount == D("20.00")
    with pytest.raises(BillingError, match="already paid"):
        services.pay_settlement(request, actor=pw.users["isp_admin"], reference="again")
    assert balance(pw, "lco1") == D("20.00")


def test_a_payout_never_takes_the_wallet_into_credit(earning):
    pw = earning
    with pytest.raises(BillingError, match="can be paid out"):
        services.request_settlement(pw.orgs["lco1"], "100.01", actor=pw.users["lco1"],
                                    method="bank")
    request = services.request_settlement(pw.orgs["lco1"], "100.00", actor=pw.users["lco1"],
                                          method="bank")
    services.start_payout(pw.orgs["lco1"], "60.00", actor=pw.users["dist"], method="cheque",
                          reference="CHQ 001122")
    with pytest.raises(BillingError, match="would go into credit"):
        services.pay_settlement(request, actor=pw.users["dist"], reference="UTR1")
    assert balance(pw, "lco1") == D("40.00")
    assert Settlement.objects.get(pk=request.pk).status == Settlement.Status.REQUESTED


def test_settlement_pages_pay_by_post_and_hide_other_branches(earning, client):
    pw = earning
    request = services.request_settlement(pw.orgs["lco1"], "50.00", actor=pw.users["lco1"],
                                          method="bank")
    client.force_login(pw.users["partner"])
    url = reverse("admin:partners_settlement_pay", args=[request.pk])
    forged = client.post(url, {"_form_submitted": "on", "method": "bank", "reference": "X"})
    assert forged.status_code == 404
    client.force_login(pw.users["dist"])
    client.post(url, {"_form_submitted": "on", "method": "bank", "reference": "UTR-55"})
    request.refresh_from_db()
    assert request.status == Settlement.Status.PAID and request.reference == "UTR-55"
    page = client.get(reverse("admin:partners_settlement_change", args=[request.pk]))
    assert page.status_code == 200 and "Commissions settled by this payout" in page.content.decode()
