"""Commissions, worked by hand on a three-level chain (ISP -> dist -> lco1 -> sub):

| level | partner | rule                         | on 1000.00 | on 590.00 |
|-------|---------|------------------------------|-----------:|----------:|
| 1     | sub     | default rate 5 %             |      50.00 |     29.50 |
| 2     | lco1    | plan-share rule 10 %         |     100.00 |     59.00 |
| 3     | dist    | template "Flat 20" (flat 20) |      20.00 |     20.00 |

Cancelling the 1000.00 payment reverses its three commissions and nothing else.
"""

from decimal import Decimal as D

import pytest

from modules.billing import cancellations, ledger, payments
from modules.billing.models import LedgerEntry
from modules.billing.selectors import balance_from_entries
from modules.partners import commissions, services
from modules.partners.models import Commission, CommissionTemplate


@pytest.fixture
def chain(pw):
    flat = CommissionTemplate.objects.create(tenant=pw.world.tenant, name="Flat 20",
                                             commission_type="flat", value=D("20"))
    isp, dist = pw.users["isp_admin"], pw.users["dist"]
    services.update_partner(pw.profile("dist"), actor=isp, commission_template=flat,
                            default_commission_rate=D("50"))
    services.update_partner(pw.profile("lco1"), actor=dist, default_commission_rate=D("1"))
    services.update_partner(pw.profile("sub"), actor=dist, default_commission_rate=D("5"))
    services.share_plan(pw.plan, pw.orgs["dist"], actor=isp, partner_price="300",
                        selling_price="450")
    services.share_plan(pw.plan, pw.orgs["lco1"], actor=dist, partner_price="350",
                        selling_price="500", commission_type="percent", commission_value="10")
    services.share_plan(pw.plan, pw.orgs["sub"], actor=pw.users["lco1"], partner_price="400",
                        selling_price="500")
    return pw


def earned(pw):
    return {org: ledger.organization_wallet(pw.orgs[org]).balance
            for org in ("sub", "lco1", "dist")}


def test_each_payment_credits_every_level_by_its_rule(chain):
    sub = chain.subscriber("sub")
    first = payments.record_payment(sub, "1000.00", actor=None, method="cash")
    assert earned(chain) == {"sub": D("50.00"), "lco1": D("100.00"), "dist": D("20.00")}
    payments.record_payment(sub, "590.00", actor=None, method="upi", reference="UPI1")
    assert earned(chain) == {"sub": D("79.50"), "lco1": D("159.00"), "dist": D("40.00")}
    rows = Commission.objects.filter(payment=first).order_by("level")
    assert [(r.organization.code, r.level, r.amount) for r in rows] == [
        ("sub", 1, D("50.00")), ("lco1", 2, D("100.00")), ("dist", 3, D("20.00"))]
    assert [r.rule for r in rows] == ["5.00% (default rate)", "10.00% (plan share Fiber 50)",
                                      "flat 20.00 (template Flat 20)"]
    for row in rows:
        assert row.ledger_entry.source == first
        assert row.ledger_entry.kind == LedgerEntry.Kind.COMMISSION


def test_a_retried_payment_hook_never_credits_twice(chain):
    payment = payments.record_payment(chain.subscriber("sub"), "1000.00", actor=None,
                                      method="cash")
    assert commissions.credit_commissions(payment) == []
    assert commissions.credit_commissions(payment) == []
    assert Commission.objects.count() == 3
    assert earned(chain) == {"sub": D("50.00"), "lco1": D("100.00"), "dist": D("20.00")}


def test_cancelling_a_payment_reverses_its_commissions_once(chain):
    sub = chain.subscriber("sub")
    first = payments.record_payment(sub, "1000.00", actor=None, method="cash")
    payments.record_payment(sub, "590.00", actor=None, method="upi", reference="UPI1")
    request = cancellations.request_cancellation(first, actor=chain.users["dist"],
                                                 reason="Cheque bounced")
    cancellations.approve_cancellation(request, actor=chain.users["isp_admin"])
    assert earned(chain) == {"sub": D("29.50"), "lco1": D("59.00"), "dist": D("20.00")}
    assert Commission.objects.filter(payment=first, reversal_entry__isnull=False).count() == 3
    assert commissions.reverse_commissions(first) == []
    reversal_amounts = sorted(LedgerEntry.objects.filter(
        source_id=first.pk, kind=LedgerEntry.Kind.COMMISSION, amount__lt=0
    ).values_list("amount", flat=True))
    assert reversal_amounts == [D("-100.00"), D("-50.00"), D("-20.00")]
    for org in ("sub", "lco1", "dist"):
        wallet = ledger.organization_wallet(chain.orgs[org])
        assert balance_from_entries(wallet) == wallet.balance


def test_payments_of_subscribers_outside_partners_earn_nothing(chain):
    payments.record_payment(chain.subscriber("root"), "1000.00", actor=None, method="cash")
    assert not Commission.objects.exists()
