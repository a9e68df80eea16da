"""Signing in to self-care: its own page, its own session, lockout after repeated failures."""

from django.test import Client

from modules.billing.models import OutboundMessage
from modules.selfcare.models import SignInFailure
from modules.settings_hub.models import SecuritySettings
from modules.subscribers import services as subscribers
from tests.selfcare.conftest import SUB_PASSWORD
from tests.world import PASSWORD


def _post(client, login, password=SUB_PASSWORD, **extra):
    return client.post("/portal/login", {"login": login, "password": password, **extra})


def test_pages_need_a_signed_in_subscriber(portal):
    response = Client().get("/portal/billing")
    assert response.status_code == 302
    assert response["Location"] == "/portal/login?next=/portal/billing"


def test_signs_in_with_username_or_mobile_and_lands_on_the_dashboard(portal):
    client = Client()
    assert _post(client, "ALICE")["Location"] == "/portal/"
    page = client.get("/portal/").content.decode()
    assert "Hello, Alice" in page and "Fiber 50" in page
    other = Client()
    assert _post(other, "98220 00002")["Location"] == "/portal/"
    assert "Hello, Bob" in other.get("/portal/").content.decode()


def test_login_rules_follow_the_settings(portal):
    portal.configure(login_with_mobile=False)
    response = _post(Client(), "+919822000001")
    assert response.status_code == 200
    assert "not correct" in response.content.decode()
    portal.configure(login_with_mobile=True, login_with_username=False)
    assert _post(Client(), "alice").status_code == 200
    assert _post(Client(), "+919822000001").status_code == 302


def test_a_mobile_shared_by_two_connections_signs_in_neither(portal):
    portal.bob.mobile = portal.alice.mobile
    portal.bob.save()
    assert _post(Client(), "+919822000001").status_code == 200


def test_wrong_password_is_refused_and_recorded(portal):
    response = _post(Client(), "alice", "wrong")
    assert response.status_code == 200
    assert "The login or password is not correct." in response.content.decode()
    assert SignInFailure.objects.filter(login="alice").count() == 1


def test_repeated_failures_lock_the_login_even_for_the_right_password(portal):
    SecuritySettings.objects.create(tenant=portal.world.tenant, max_failed_logins=3)
    client = Client()
    for _ in range(3):
        assert _post(client, "alice", "guess").status_code == 200
    locked = _post(client, "alice")
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.content.decode()
    assert client.get("/portal/").status_code == 302  # still signed out
    # Another subscriber is not affected by alice's lockout.
    assert _post(Client(), "bob")["Location"] == "/portal/"


def test_a_successful_sign_in_clears_earlier_failures(portal):
    SecuritySettings.objects.create(tenant=portal.world.tenant, max_failed_logins=3)
    client = Client()
    _post(client, "alice", "guess")
    _post(client, "alice", "guess")
    assert _post(client, "alice").status_code == 302
    assert not SignInFailure.objects.filter(login="alice").exists()


def test_one_address_spraying_many_logins_is_locked(portal):
    SecuritySettings.objects.create(tenant=portal.world.tenant, max_failed_logins=3)
    client = Client()
    for n in range(12):
        _post(client, f"user{n}", "guess")
    assert _post(client, "alice").status_code == 429


def test_operator_session_does_not_open_the_portal(portal, login):
    client = login(portal.world.users["isp_admin"])
    assert client.get("/admin/").status_code == 200
    response = client.get("/portal/")
    assert response.status_code == 302 and response["Location"].startswith("/portal/login")
    # Even the operator's session key presented as a portal cookie is not a portal session.
    client.cookies["selfcare_session"] = client.cookies["sessionid"].value
    assert client.get("/portal/").status_code == 302


def test_portal_session_does_not_open_the_operator_admin(portal):
    client = portal.client_for()
    assert "sessionid" not in client.cookies
    admin = client.get("/admin/")
    assert admin.status_code == 302 and "/login" in admin["Location"]
    client.cookies["sessionid"] = client.cookies["selfcare_session"].value
    assert client.get("/admin/").status_code == 302


def test_a_portal_user_login_is_not_a_subscriber_login(portal):
    assert _post(Client(), "isp_admin", PASSWORD).status_code == 200


def test_sign_out_ends_the_session(portal):
    client = portal.client_for()
    key = client.cookies["selfcare_session"].value
    assert client.post("/portal/logout").status_code == 302
    stale = Client()
    stale.cookies["selfcare_session"] = key
    assert stale.get("/portal/").status_code == 302


def test_a_password_reset_by_staff_ends_portal_sessions(portal):
    client = portal.client_for()
    subscribers.reset_password(portal.alice, actor=portal.billing.admin,
                               new_password="Other-pass-1")
    assert client.get("/portal/").status_code == 302


def test_another_tenant_host_does_not_find_the_subscriber(portal):
    response = Client().post("/portal/login", {"login": "alice", "password": SUB_PASSWORD},
                             HTTP_HOST="beta.test")
    assert response.status_code == 200


def test_one_time_code_by_sms_completes_the_sign_in(portal):
    portal.configure(one_time_code="sms")
    client = Client()
    response = _post(client, "alice")
    assert response["Location"].startswith("/portal/code")
    assert client.get("/portal/").status_code == 302  # not signed in before the code
    message = OutboundMessage.objects.get(subscriber=portal.alice, event="one_time_code")
    assert message.channel == "sms" and message.recipient == "+919822000001"
    code = message.body.split("code is ")[1][:6]
    wrong = "000000" if code != "000000" else "111111"
    assert "not correct" in client.post("/portal/code", {"code": wrong}).content.decode()
    assert client.post("/portal/code", {"code": code})["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200


def test_one_time_code_gives_up_after_five_wrong_codes(portal):
    portal.configure(one_time_code="email")
    portal.alice.email = "alice@example.com"
    portal.alice.save()
    client = Client()
    _post(client, "alice")
    code = OutboundMessage.objects.get(subscriber=portal.alice).body.split("code is ")[1][:6]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        client.post("/portal/code", {"code": wrong})
    assert client.post("/portal/code", {"code": code})["Location"] == "/portal/login"
    assert client.get("/portal/").status_code == 302


def test_switching_between_username_and_mobile_does_not_reset_the_count(portal):
    SecuritySettings.objects.create(tenant=portal.world.tenant, max_failed_logins=3)
    client = Client()
    _post(client, "alice", "guess")
    _post(client, "+919822000001", "guess")
    _post(client, "98220 00001", "guess")
    assert _post(Client(), "alice").status_code == 429


def test_maintenance_notice_is_shown(portal):
    from modules.settings_hub.models import GeneralSettings

    GeneralSettings.objects.filter(tenant=portal.world.tenant).update(maintenance_mode=True)
    assert 'id="maintenance"' in Client().get("/portal/login").content.decode()


def test_old_failures_are_forgotten_by_the_hourly_job(portal):
    from datetime import timedelta

    from django.utils import timezone

    from modules.selfcare.tasks import forget_old_sign_in_failures

    _post(Client(), "alice", "guess")
    SignInFailure.objects.update(created_at=timezone.now() - timedelta(days=2))
    _post(Client(), "bob", "guess")
    assert forget_old_sign_in_failures() == 1
    assert forget_old_sign_in_failures() == 0
    assert list(SignInFailure.objects.values_list("login", flat=True)) == ["bob"]
