"""Object-scoped network access: the ISP grants a NAS device or an IP pool to a partner; the
partner's users then see it (read-only) in the networking pages, other branches never do."""

import pytest
from django.core.exceptions import PermissionDenied

from modules.networking.models import Ipv4Pool, Ipv6Pool
from modules.partners import network_access
from modules.partners.profiles import PartnerError
from tests.networking.samples import make_nas


@pytest.fixture
def granted(pw):
    pw.nas = make_nas(pw.orgs["root"], name="Core BRAS")
    pw.pool = Ipv4Pool.objects.create(organization=pw.orgs["root"], name="lco-pool",
                                      ranges="10.77.0.0/29")
    network_access.grant(pw.nas, pw.orgs["lco1"], actor=pw.users["isp_admin"])
    network_access.grant(pw.pool, pw.orgs["lco1"], actor=pw.users["isp_admin"])
    return pw


def test_granted_nas_and_pool_are_listed_read_only_for_the_partner(granted, client):
    pw = granted
    client.force_login(pw.users["lco1"])
    nas_list = client.get("/admin/networking/nasdevice/").content.decode()
    assert "Core BRAS" in nas_list
    assert "lco-pool" in client.get("/admin/networking/ipv4pool/").content.decode()
    url = f"/admin/networking/nasdevice/{pw.nas.pk}/change/"
    assert client.get(url).status_code == 200
    assert client.post(url, {"name": "Mine now", "secret": "x"}).status_code == 403
    pw.nas.refresh_from_db()
    assert pw.nas.name == "Core BRAS"
    assert network_access.granted_organizations(pw.nas) == [pw.orgs["lco1"]]


def test_every_user_of_the_partner_shares_the_grant(granted, client):
    client.force_login(granted.users["lco1_clerk"])
    assert "Core BRAS" in client.get("/admin/networking/nasdevice/").content.decode()


@pytest.mark.parametrize("who", ["partner", "dist", "sub"])
def test_other_users_do_not_see_the_grant(granted, client, who):
    client.force_login(granted.users[who])
    assert "Core BRAS" not in client.get("/admin/networking/nasdevice/").content.decode()
    url = f"/admin/networking/nasdevice/{granted.nas.pk}/change/"
    assert client.get(url).status_code in (403, 404)


def test_only_the_owner_side_grants_and_only_downwards(granted):
    pw = granted
    with pytest.raises(PermissionDenied):
        network_access.grant(pw.nas, pw.orgs["lco2"], actor=pw.users["lco1"])
    own = make_nas(pw.orgs["lco2"], name="LCO2 router")
    with pytest.raises(PartnerError, match="below"):
        network_access.grant(own, pw.orgs["lco1"], actor=pw.users["isp_admin"])
    network_access.revoke(pw.nas, pw.orgs["lco1"], actor=pw.users["isp_admin"])
    assert network_access.granted_organizations(pw.nas) == []


def network_url(pw, org):
    return f"/admin/partners/partner/{pw.profile(org).pk}/network/"


def test_the_partner_page_grants_and_revokes_by_post(pw, client):
    nas = make_nas(pw.orgs["root"], name="Edge BRAS")
    client.force_login(pw.users["isp_admin"])
    page = client.get(network_url(pw, "lco1"))
    assert page.status_code == 200 and "Edge BRAS" in page.content.decode()
    form = {"kind": "nasdevice", "object_id": nas.pk, "op": "grant"}
    assert client.get(network_url(pw, "lco1"), form).status_code == 200  # a GET changes nothing
    assert network_access.granted_organizations(nas) == []
    assert client.post(network_url(pw, "lco1"), form, follow=True).status_code == 200
    assert network_access.granted_organizations(nas) == [pw.orgs["lco1"]]
    client.force_login(pw.users["lco1_clerk"])
    assert "Edge BRAS" in client.get("/admin/networking/nasdevice/").content.decode()
    client.force_login(pw.users["isp_admin"])
    client.post(network_url(pw, "lco1"), {**form, "op": "revoke"}, follow=True)
    assert network_access.granted_organizations(nas) == []
    client.force_login(pw.users["lco1_clerk"])
    assert "Edge BRAS" not in client.get("/admin/networking/nasdevice/").content.decode()


def test_the_page_offers_only_what_is_in_scope_above_the_partner(pw, client):
    root_nas = make_nas(pw.orgs["root"], name="Core BRAS")
    dist_pool = Ipv4Pool.objects.create(organization=pw.orgs["dist"], name="dist-pool",
                                        ranges="10.78.0.0/29")
    client.force_login(pw.users["dist"])
    page = client.get(network_url(pw, "lco1")).content.decode()
    assert "dist-pool" in page and "Core BRAS" not in page
    response = client.post(network_url(pw, "lco1"),
                           {"kind": "nasdevice", "object_id": root_nas.pk, "op": "grant"})
    assert response.status_code == 404  # the ISP's device is outside dist's scope
    client.post(network_url(pw, "lco1"),
                {"kind": "ipv4pool", "object_id": dist_pool.pk, "op": "grant"})
    assert network_access.granted_organizations(dist_pool) == [pw.orgs["lco1"]]
    response = client.post(network_url(pw, "partner"),  # a partner outside dist's subtree
                           {"kind": "ipv4pool", "object_id": dist_pool.pk, "op": "grant"})
    assert response.status_code == 404
    assert network_access.granted_organizations(dist_pool) == [pw.orgs["lco1"]]


@pytest.mark.parametrize("who", ["lco1", "other_admin", "no_perm"])
def test_the_partner_itself_and_outsiders_cannot_grant(pw, client, who):
    nas = make_nas(pw.orgs["root"], name="Core BRAS")
    client.force_login(pw.users[who])
    response = client.post(network_url(pw, "lco1"),
                           {"kind": "nasdevice", "object_id": nas.pk, "op": "grant"})
    assert response.status_code in (403, 404) or "/login/" in response.url
    assert network_access.granted_organizations(nas) == []


def test_an_ipv6_pool_granted_to_a_partner_is_listed_read_only_to_it_alone(pw, client):
    pool = Ipv6Pool.objects.create(organization=pw.orgs["root"], name="lco-v6",
                                   prefix="2001:db8:100::/40", delegated_length=56)
    network_access.grant(pool, pw.orgs["lco1"], actor=pw.users["isp_admin"])
    client.force_login(pw.users["lco1"])
    assert "lco-v6" in client.get("/admin/networking/ipv6pool/").content.decode()
    url = f"/admin/networking/ipv6pool/{pool.pk}/change/"
    assert client.post(url, {"name": "taken"}).status_code == 403
    client.force_login(pw.users["partner"])
    assert "lco-v6" not in client.get("/admin/networking/ipv6pool/").content.decode()
    network_access.revoke(pool, pw.orgs["lco1"], actor=pw.users["isp_admin"])
    client.force_login(pw.users["lco1"])
    assert "lco-v6" not in client.get("/admin/networking/ipv6pool/").content.decode()
    pool.refresh_from_db()
    assert pool.name == "lco-v6"
