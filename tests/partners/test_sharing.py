"""Plan sharing: the parent shares what it has, never below its own cost; partners see and sell
only shared plans (admin, forms, import lookups, self-care selector)."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from modules.partners import selectors, services
from modules.partners.models import PlanShare
from modules.partners.profiles import PartnerError
from modules.plans.selectors import can_sell, sellable_plans
from tests.plans.samples import make_plan


def share_chain(pw):
    services.share_plan(pw.plan, pw.orgs["dist"], actor=pw.users["isp_admin"],
                        partner_price="300.00", selling_price="450.00")
    return services.share_plan(pw.plan, pw.orgs["lco1"], actor=pw.users["dist"],
                               partner_price="350.00", selling_price="500.00")


def test_shares_flow_down_the_tree_and_partners_sell_only_what_was_shared(pw):
    own = make_plan(pw.orgs["lco1"], name="LCO special")
    assert set(sellable_plans(pw.users["lco1"])) == {own}
    share_chain(pw)
    assert set(sellable_plans(pw.users["lco1"])) == {pw.plan, own}
    assert set(sellable_plans(pw.users["dist"])) == {pw.plan, own}
    assert set(sellable_plans(pw.users["partner"])) == set()
    assert set(selectors.plans_for_organization(pw.orgs["lco1"])) == {pw.plan, own}
    assert set(selectors.plans_for_organization(pw.orgs["lco2"])) == set()
    assert set(selectors.plans_for_organization(pw.orgs["sub"])) == set()
    assert not can_sell(pw.users["lco1"], pw.gold)
    assert can_sell(pw.users["isp_admin"], pw.gold)


def test_the_share_grants_a_guardian_permission_to_the_partners_group(pw):
    user = pw.users["lco1"]
    assert not user.has_perm("plans.view_plan", pw.plan)
    share = share_chain(pw)
    user = type(user).objects.get(pk=user.pk)
    assert user.has_perm("plans.view_plan", pw.plan)
    assert not user.has_perm("plans.view_plan", pw.gold)
    services.unshare_plan(share, actor=pw.users["dist"])
    user = type(user).objects.get(pk=user.pk)
    assert not user.has_perm("plans.view_plan", pw.plan)
    assert pw.plan not in sellable_plans(user)


def test_sharing_below_cost_or_what_one_does_not_have_is_refused(pw):
    share_chain(pw)
    with pytest.raises(PartnerError, match="below"):
        services.share_plan(pw.plan, pw.orgs["sub"], actor=pw.users["lco1"],
                            partner_price="349.99", selling_price="500.00")
    with pytest.raises(PartnerError, match="only plans it has"):
        services.share_plan(pw.gold, pw.orgs["sub"], actor=pw.users["lco1"],
                            partner_price="900.00", selling_price="1000.00")
    with pytest.raises(PartnerError, match="selling price"):
        services.share_plan(pw.plan, pw.orgs["sub"], actor=pw.users["lco1"],
                            partner_price="400.00", selling_price="390.00")
    with pytest.raises(PartnerError, match="for less"):
        services.share_plan(pw.plan, pw.orgs["dist"], actor=pw.users["isp_admin"],
                            partner_price="360.00", selling_price="500.00")
    assert PlanShare.objects.count() == 2
    assert PlanShare.objects.get(organization=pw.orgs["dist"]).partner_price == D("300.00")


@pytest.mark.parametrize("who,target", [("lco1", "lco1"), ("lco1", "lco2"), ("partner", "sub")])
def test_only_the_parent_or_above_shares_with_a_partner(pw, who, target):
    share_chain(pw)
    with pytest.raises(PermissionDenied):
        services.share_plan(pw.plan, pw.orgs[target], actor=pw.users[who],
                            partner_price="400.00", selling_price="500.00")
    assert not PlanShare.objects.filter(organization=pw.orgs[target]).exclude(
        organization=pw.orgs["lco1"]).exists()


def test_plans_admin_lists_shared_plans_read_only(pw, client):
    share_chain(pw)
    client.force_login(pw.users["lco1"])
    listing = client.get("/admin/plans/plan/").content.decode()
    assert "Fiber 50" in listing and "Fiber 200" not in listing
    page = client.get(f"/admin/plans/plan/{pw.plan.pk}/change/")
    assert page.status_code == 200
    before = pw.plan.price
    client.post(f"/admin/plans/plan/{pw.plan.pk}/change/", {"name": "Hacked", "price": "1"})
    pw.plan.refresh_from_db()
    assert pw.plan.name == "Fiber 50" and pw.plan.price == before
    assert client.get(f"/admin/plans/plan/{pw.gold.pk}/change/").status_code == 404


def test_plan_share_admin_refuses_below_cost_with_a_message(pw, client):
    share_chain(pw)
    client.force_login(pw.users["lco1"])
    form = {"plan": pw.plan.pk, "organization": pw.orgs["sub"].pk, "partner_price": "100.00",
            "selling_price": "500.00", "commission_type": "", "commission_value": ""}
    response = client.post("/admin/partners/planshare/add/", form)
    assert response.status_code == 200 and "below" in response.content.decode()
    assert not PlanShare.objects.filter(organization=pw.orgs["sub"]).exists()
    response = client.post("/admin/partners/planshare/add/", {**form, "partner_price": "380"})
    assert response.status_code == 302
    assert PlanShare.objects.get(organization=pw.orgs["sub"]).partner_price == D("380.00")


def test_subscriber_renew_dialog_offers_only_shared_plans(pw, client):
    share_chain(pw)
    sub = pw.subscriber("lco1")
    client.force_login(pw.users["lco1"])
    response = client.get(reverse("admin:subscribers_subscriber_renew", args=[sub.pk]))
    assert response.status_code == 200
    choices = set(response.context["form"].fields["plan"].queryset)
    assert choices == {pw.plan}
