"""Isolation on ISP -> dist -> (lco1, lco2): each user sees exactly its subtree in the partner
pages (lists, filter choices, details, actions); a forged id of another branch is "not found"
and changes nothing."""

from decimal import Decimal as D

import pytest
from django.urls import reverse

from modules.partners import services
from modules.partners.models import PlanShare, TopUpRequest

SUBMITTED = {"_form_submitted": "on"}


@pytest.fixture
def branches(pw):
    isp, dist = pw.users["isp_admin"], pw.users["dist"]
    services.share_plan(pw.plan, pw.orgs["dist"], actor=isp, partner_price="300",
                        selling_price="500")
    for org in ("lco1", "lco2"):
        services.share_plan(pw.plan, pw.orgs[org], actor=dist, partner_price="350",
                            selling_price="500")
    services.share_plan(pw.plan, pw.orgs["partner"], actor=isp, partner_price="320",
                        selling_price="500")
    pw.topups = {org: services.request_topup(pw.orgs[org], "100.00", actor=pw.users[org])
                 for org in ("lco1", "partner")}
    pw.topups["lco2"] = services.request_topup(pw.orgs["lco2"], "100.00", actor=dist)
    return pw


@pytest.mark.parametrize("who,sees", [
    ("isp_admin", {"dist", "lco1", "lco2", "partner"}),
    ("dist", {"dist", "lco1", "lco2"}),
    ("lco1", {"lco1"}),
    ("partner", {"partner"}),
])
def test_share_and_top_up_lists_and_filters_hold_exactly_the_subtree(branches, client, who, sees):
    client.force_login(branches.users[who])
    shares = client.get("/admin/partners/planshare/")
    codes = {org.code: name for name, org in branches.orgs.items()}
    listed = {codes[s.organization.code] for s in shares.context["cl"].result_list}
    assert listed == sees
    choices = {str(c.get("display")) for spec in shares.context["cl"].filter_specs
               for c in spec.choices(shares.context["cl"])}
    for org in {"dist", "lco1", "lco2", "partner"} - sees:
        assert branches.orgs[org].name not in choices
    topups = client.get("/admin/partners/topuprequest/")
    assert {codes[t.organization.code] for t in topups.context["cl"].result_list} == \
        sees & {"lco1", "lco2", "partner"}


def test_forged_ids_of_another_branch_are_not_found_and_change_nothing(branches, client):
    client.force_login(branches.users["lco1"])
    other = branches.topups["lco2"]
    for name in ("approve", "reject"):
        url = reverse(f"admin:partners_topuprequest_{name}", args=[other.pk])
        assert client.post(url, {**SUBMITTED, "note": "x"}).status_code == 404
    assert TopUpRequest.objects.get(pk=other.pk).status == TopUpRequest.Status.PENDING
    share = PlanShare.objects.get(organization=branches.orgs["lco2"])
    delete = reverse("admin:partners_planshare_delete", args=[share.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 404
    change = reverse("admin:partners_planshare_change", args=[share.pk])
    assert client.post(change, {"partner_price": "1", "selling_price": "1"}).status_code == 404
    assert PlanShare.objects.get(pk=share.pk).partner_price == D("350.00")


def test_a_partner_sees_its_own_share_but_cannot_reprice_it(branches, client):
    client.force_login(branches.users["lco1"])
    share = PlanShare.objects.get(organization=branches.orgs["lco1"])
    url = reverse("admin:partners_planshare_change", args=[share.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"partner_price": "1.00", "selling_price": "1.00"})
    assert response.status_code == 403
    assert PlanShare.objects.get(pk=share.pk).partner_price == D("350.00")


def test_approving_ones_own_top_up_in_the_admin_is_refused(branches, client):
    client.force_login(branches.users["lco1"])
    own = branches.topups["lco1"]
    client.post(reverse("admin:partners_topuprequest_approve", args=[own.pk]),
                {**SUBMITTED, "note": ""})
    assert TopUpRequest.objects.get(pk=own.pk).status == TopUpRequest.Status.PENDING
