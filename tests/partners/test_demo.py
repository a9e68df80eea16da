"""The demo partners load on top of the core demo data, and loading twice changes nothing."""

from decimal import Decimal as D

from fixtures.demo import DEMO_PASSWORD
from fixtures.demo import core as demo_core
from fixtures.demo import partners as demo_partners
from modules.billing import ledger
from modules.billing.models import LedgerEntry
from modules.partners.models import Partner, PlanShare
from modules.plans.selectors import sellable_plans
from tests.plans.samples import make_plan


def test_demo_partners_have_profiles_funded_wallets_and_shared_plans(db):
    ctx = {"password": DEMO_PASSWORD, "logins": []}
    demo_core.load(ctx)
    plan = make_plan(ctx["root"], name="Home 100", price=D("700.00"))
    demo_partners.load(ctx)
    counts = (Partner.objects.count(), PlanShare.objects.count(), LedgerEntry.objects.count())
    demo_partners.load(ctx)
    assert (Partner.objects.count(), PlanShare.objects.count(),
            LedgerEntry.objects.count()) == counts == (3, 3, 4)
    assert ledger.organization_wallet(ctx["metro"]).balance == D("42000.00")
    assert ledger.organization_wallet(ctx["kothrud"]).balance == D("8000.00")
    assert PlanShare.objects.get(organization=ctx["kothrud"]).partner_price == D("560.00")
    kothrud_user = ctx["kothrud"].users.get()
    assert plan in sellable_plans(kothrud_user)
