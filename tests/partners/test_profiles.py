"""Partners: a profile on an organization node, created below a parent in the creator's scope,
with users who see only their subtree and a dashboard of their numbers."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from modules.billing import ledger, payments
from modules.core import scope
from modules.core.models import Organization
from modules.partners import services
from modules.partners.models import Partner
from modules.partners.profiles import PartnerError
from tests.world import PASSWORD


def test_create_partner_makes_the_node_below_the_parent_with_profile_group_and_wallet(pw):
    partner = services.create_partner(
        actor=pw.users["dist"], parent=pw.orgs["lco1"], name="Hill Cable", code="hill",
        partner_type="reseller", contact_phone="+919800000001", tax_number="27ABCDE1234F1Z5",
        billing_state="Maharashtra", credit_limit=Decimal("2000"), low_balance_threshold=500)
    org = partner.organization
    assert org.depth == 4 and pw.orgs["lco1"].contains(org)
    assert org.kind == Organization.Kind.RESELLER
    assert partner.access_group is not None
    wallet = ledger.organization_wallet(org)
    assert wallet.credit_limit == Decimal("2000.00") and wallet.low_balance_alert == 500
    user = services.create_partner_user(actor=pw.users["dist"], partner=partner,
                                        username="hill_user", password=PASSWORD)
    assert [r.path for r in scope.scope_roots(user)] == [org.path]
    assert user.groups.filter(pk=partner.access_group_id).exists()


def test_a_partner_cannot_create_partners_outside_its_subtree(pw):
    before = Organization.objects.count()
    with pytest.raises(PermissionDenied):
        services.create_partner(actor=pw.users["lco1"], parent=pw.orgs["lco2"], name="X",
                                code="x")
    with pytest.raises(PartnerError, match="already used"):
        services.create_partner(actor=pw.users["dist"], parent=pw.orgs["dist"], name="Dup",
                                code="lco2")
    with pytest.raises(PartnerError, match="default_commission_rate"):
        services.create_partner(actor=pw.users["dist"], parent=pw.orgs["dist"], name="Bad",
                                code="bad", default_commission_rate=Decimal("150"))
    assert Organization.objects.count() == before


def test_a_partner_cannot_raise_its_own_credit_limit(pw):
    with pytest.raises(PermissionDenied):
        services.update_partner(pw.profile("lco1"), actor=pw.users["lco1"],
                                credit_limit=Decimal("99999"))
    updated = services.update_partner(pw.profile("lco1"), actor=pw.users["dist"],
                                      credit_limit=Decimal("700"))
    assert updated.credit_limit == 700
    assert ledger.organization_wallet(pw.orgs["lco1"]).credit_limit == 700


def test_partner_admin_add_creates_the_node_and_refuses_a_used_code(pw, client):
    client.force_login(pw.users["dist"])
    form = {"parent": pw.orgs["dist"].pk, "name": "New LCO", "code": "newlco",
            "partner_type": "lco", "status": "active", "default_commission_rate": "2.5"}
    response = client.post("/admin/partners/partner/add/", form)
    assert response.status_code == 302, response.content[:2000]
    created = Partner.objects.get(organization__code="newlco")
    assert Organization.objects.get_parent(created.organization) == pw.orgs["dist"]
    again = client.post("/admin/partners/partner/add/", {**form, "name": "Again"})
    assert again.status_code == 200 and "already used" in again.content.decode()
    outside = client.post("/admin/partners/partner/add/",
                          {**form, "code": "far", "parent": pw.orgs["partner"].pk})
    assert outside.status_code == 200
    assert not Partner.objects.filter(organization__code="far").exists()


def test_partner_list_shows_only_the_subtree(pw, client):
    client.force_login(pw.users["lco1"])
    page = client.get("/admin/partners/partner/").content.decode()
    assert "LCO One" in page and "Sub LCO" in page
    assert "LCO Two" not in page and "Partner P" not in page


def test_dashboard_shows_the_partners_subscribers_collection_and_wallet(pw, client):
    sub = pw.subscriber("lco1", days_left=3)
    pw.subscriber("lco2", days_left=3)
    payments.record_payment(sub, "590.00", actor=None, method="cash")
    ledger.credit(ledger.organization_wallet(pw.orgs["lco1"]), "1234.00", memo="Opening")
    client.force_login(pw.users["lco1"])
    response = client.get("/admin/partners/partner/dashboard/")
    assert response.status_code == 200
    board = response.context["board"]
    assert board.subscribers == {"active": 1}
    assert board.renewals_due == 1
    assert board.collection == Decimal("590.00")
    assert board.wallet.balance == Decimal("1234.00")
    forged = client.get(f"/admin/partners/partner/{pw.profile('lco2').pk}/dashboard/")
    assert forged.status_code == 404
    own = client.get(f"/admin/partners/partner/{pw.profile('sub').pk}/dashboard/")
    assert own.status_code == 200 and own.context["board"].organization == pw.orgs["sub"]


def test_a_partner_edits_its_contacts_but_not_its_own_limits(pw, client):
    client.force_login(pw.users["lco1"])
    partner = pw.profile("lco1")
    url = f"/admin/partners/partner/{partner.pk}/change/"
    form = {"partner_type": "lco", "contact_phone": "+919811111111", "address": "Main road",
            "credit_limit": "99999", "low_balance_threshold": ""}
    response = client.post(url, form)
    assert response.status_code == 302, response.content[:1000]
    partner.refresh_from_db()
    assert partner.contact_phone == "+919811111111"
    assert partner.credit_limit is None
