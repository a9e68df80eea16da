"""Sign-in at /login: one page for admins, partners and employees, with the right refusals."""

import pytest

from modules.core.models import User
from modules.settings_hub.models import SecuritySettings
from tests.world import PASSWORD

pytestmark = pytest.mark.django_db


def _sign_in(client, username, password=PASSWORD, host="testserver"):
    return client.post("/login", {"username": username, "password": password}, HTTP_HOST=host)


def test_isp_admin_signs_in_and_lands_on_the_dashboard(world, client):
    response = _sign_in(client, "isp_admin")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/index"
    assert client.get("/dashboard/index", follow=True).status_code == 200


def test_partner_user_signs_in_on_the_same_page(world, client):
    assert _sign_in(client, "dist_user").status_code == 302


def test_wrong_password_is_refused_and_changes_nothing(world, client):
    before = User.objects.get(username="isp_admin").last_login
    response = _sign_in(client, "isp_admin", "wrong-password")
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    assert User.objects.get(username="isp_admin").last_login == before
    assert "_auth_user_id" not in client.session


def test_inactive_user_is_refused(world, client):
    User.objects.filter(username="dist_user").update(is_active=False)
    response = _sign_in(client, "dist_user")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_user_without_a_role_is_refused_with_a_clear_message(world, client):
    world.users["lco1"].roles.clear()
    response = _sign_in(client, "lco1_user")
    assert response.status_code == 200
    assert "has no role yet" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_user_of_another_tenant_cannot_sign_in_here(world, client):
    # other_admin belongs to Beta (beta.test); testserver resolves to Alpha.
    response = _sign_in(client, "other_admin")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert _sign_in(client, "other_admin", host="beta.test").status_code == 302


def test_alpha_user_cannot_sign_in_on_beta_domain(world, client):
    response = _sign_in(client, "isp_admin", host="beta.test")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_session_moved_to_another_tenants_host_is_ended(world, client):
    assert _sign_in(client, "isp_admin").status_code == 302
    response = client.get("/admin/", HTTP_HOST="beta.test")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_account(world, client):
    SecuritySettings.objects.create(tenant=world.tenant, max_failed_logins=3, lockout_minutes=10)
    for _ in range(3):
        _sign_in(client, "isp_admin", "nope")
    locked = _sign_in(client, "isp_admin")  # even the right password is refused now
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_session_timeout_follows_security_settings(world, client):
    SecuritySettings.objects.create(tenant=world.tenant, session_timeout_minutes=30)
    _sign_in(client, "isp_admin")
    client.get("/admin/")
    assert client.session.get_expiry_age() == 30 * 60


def test_tampered_object_id_of_another_branch_is_not_found(world, client):
    _sign_in(client, "lco1_user")
    other = world.orgs["lco2"]
    before = (other.name, other.code)
    assert client.get(f"/admin/core/organization/{other.pk}/change/").status_code == 404
    posted = client.post(f"/admin/core/organization/{other.pk}/change/",
                         {"name": "Hijacked", "code": "x", "kind": "lco", "is_active": "on"})
    assert posted.status_code == 404
    other.refresh_from_db()
    assert (other.name, other.code) == before


def test_tampered_id_of_another_tenant_is_not_found(world, client):
    _sign_in(client, "isp_admin")
    beta_root = world.orgs["other_root"]
    assert client.get(f"/admin/core/organization/{beta_root.pk}/change/").status_code == 404
