from decimal import Decimal

from modules.billing import ledger, payments
from modules.core.models import User
from modules.partners import commissions
from modules.partners.models import (
    Commission,
    CommissionTemplate,
    Partner,
    PartnerNotice,
    PartnerWallet,
    PlanShare,
    Settlement,
    TopUpRequest,
)
from tests.plans.samples import make_plan
from tests.samples import sample
from tests.subscribers.samples import make_subscriber

_counter = iter(range(1, 10**9))


def _maker(org):
    return User.objects.create(username=f"partner-maker{next(_counter)}", organization=org)


@sample("partners.partner")
def partner(org):
    return Partner.objects.get_or_create(organization=org)[0]


@sample("partners.partnerwallet")
def partner_wallet(org):
    return PartnerWallet.objects.get(pk=ledger.organization_wallet(org).pk)


@sample("partners.topuprequest")
def topup_request(org):
    return TopUpRequest.objects.create(organization=org, amount=Decimal("100.00"),
                                       requested_by=_maker(org))


@sample("partners.planshare")
def plan_share(org):
    return PlanShare.objects.create(plan=make_plan(org), organization=org,
                                    partner_price=Decimal("300.00"),
                                    selling_price=Decimal("450.00"))


@sample("partners.commissiontemplate")
def commission_template(org):
    return CommissionTemplate.objects.create(tenant=org.tenant, name=f"Standard {next(_counter)}",
                                             value=Decimal("5.00"))


@sample("partners.settlement")
def settlement(org):
    return Settlement.objects.create(organization=org, amount=Decimal("50.00"),
                                     requested_by=_maker(org))


@sample("partners.commission")
def commission(org):
    Partner.objects.get_or_create(organization=org, defaults={"default_commission_rate": 10})
    payment = payments.record_payment(make_subscriber(org), "100.00", actor=None, method="cash")
    if org.depth == 1:
        return _root_commission(org, payment)
    commissions.credit_commissions(payment)  # the payment hook already ran: a no-op
    return Commission.objects.get(payment=payment, organization=org)


def _root_commission(org, payment):
    """The ISP earns no commission; a row owned by the root still exercises its scope."""
    entry = ledger.credit(ledger.organization_wallet(org), "1.00", memo="sample")
    return Commission.objects.create(tenant=org.tenant, organization=org, payment=payment,
                                     level=1, basis=payment.amount, rule="sample",
                                     amount=Decimal("1.00"), ledger_entry=entry)


@sample("partners.partnernotice")
def partner_notice(org):
    return PartnerNotice.objects.create(partner=partner(org), event="low_wallet",
                                        channel="email", recipient="ops@partner.example",
                                        body="Wallet balance low.",
                                        dedupe_key=f"sample:{next(_counter)}")
