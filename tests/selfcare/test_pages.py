"""The self-care pages and Settings -> Subscriber Portal in the operator admin."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from modules.networking.models import DailyUsage, RadiusSession
from modules.selfcare.models import PortalSettings
from modules.support.models import Ticket, TicketComment
from tests.billing.samples import make_gateway


def test_dashboard_shows_plan_speed_expiry_wallet_and_online_state(
        portal, django_assert_max_num_queries):
    client = portal.client_for()
    with django_assert_max_num_queries(25):
        page = client.get("/portal/").content.decode()
    assert "Fiber 50" in page and "50 Mbps / 20 Mbps" in page
    assert "2000.00 INR" in page and 'id="online">Offline' in page
    assert timezone.localtime(portal.alice.expires_at).strftime("%Y") in page
    now = timezone.now()
    RadiusSession.objects.create(unique_id="u1", session_id="s1", username="alice",
                                 subscriber=portal.alice, started_at=now, updated_at=now)
    assert 'id="online">Online' in client.get("/portal/").content.decode()


def test_usage_page_sums_the_cycle_and_draws_one_bar_per_day(portal):
    today = timezone.localdate()
    for back, gb in ((2, 1), (1, 3), (0, 2)):
        DailyUsage.objects.create(subscriber=portal.alice, organization=portal.alice.organization,
                                  day=today - timedelta(days=back), input_octets=0,
                                  output_octets=gb * 1024**3)
    page = portal.client_for().get("/portal/usage").content.decode()
    assert page.count("<rect ") == 3
    assert "busiest day 3.0 GB" in page


def test_profile_edit_changes_contact_details_only(portal):
    client = portal.client_for()
    page = client.get("/portal/profile").content.decode()
    assert "12 MG Road" in page and "🔒" in page
    response = client.post("/portal/profile/edit", {
        "mobile": "98220 11111", "email": "alice@example.com",
        "name": "Mallory", "address": "Elsewhere", "username": "root"})
    assert response.status_code == 302
    portal.alice.refresh_from_db()
    assert portal.alice.mobile == "+919822011111" and portal.alice.email == "alice@example.com"
    assert portal.alice.name == "Alice" and portal.alice.address == "12 MG Road"
    assert portal.alice.username == "alice"


def test_profile_edit_refuses_a_bad_number_and_changes_nothing(portal):
    client = portal.client_for()
    response = client.post("/portal/profile/edit", {"mobile": "12", "email": ""})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    portal.alice.refresh_from_db()
    assert portal.alice.mobile == "+919822000001"


def test_password_change_keeps_this_session_and_sets_the_connection_password(portal):
    client = portal.client_for()
    wrong = client.post("/portal/password", {"current": "nope", "new": "New-pass-123",
                                             "confirm": "New-pass-123"})
    assert "The current password is not correct." in wrong.content.decode()
    done = client.post("/portal/password", {"current": "Home-Secret-42", "new": "New-pass-123",
                                            "confirm": "New-pass-123"})
    assert done.status_code == 302
    assert client.get("/portal/").status_code == 200
    portal.alice.refresh_from_db()
    assert portal.alice.get_password() == "New-pass-123"
    assert portal.client_for(password="New-pass-123")


def test_opening_and_answering_a_ticket(portal):
    portal.configure(allow_ticket_creation=True)
    client = portal.client_for()
    response = client.post("/portal/tickets/new", {"summary": "No internet since morning",
                                                   "description": "Red light on the ONT"})
    ticket = Ticket.objects.get(subscriber=portal.alice)
    assert response["Location"] == f"/portal/tickets/{ticket.pk}"
    assert ticket.channel == Ticket.Channel.SELFCARE
    assert ticket.organization == portal.alice.organization
    client.post(f"/portal/tickets/{ticket.pk}", {"body": "Still down"})
    reply = TicketComment.objects.get(ticket=ticket)
    assert reply.from_customer and reply.body == "Still down"
    TicketComment.objects.create(ticket=ticket, body="Staff only note", visibility="internal")
    page = client.get(f"/portal/tickets/{ticket.pk}").content.decode()
    assert "Still down" in page and "Staff only note" not in page
    assert ticket.reference in client.get("/portal/tickets").content.decode()


def test_an_empty_ticket_is_refused(portal):
    portal.configure(allow_ticket_creation=True)
    client = portal.client_for()
    assert client.post("/portal/tickets/new", {"summary": " "}).status_code == 200
    assert not Ticket.objects.exists()


def test_branding_comes_from_the_portal_settings(portal):
    portal.configure(portal_title="Alpha Home", primary_colour="#112233", welcome_text="Hi there")
    page = Client().get("/portal/login").content.decode()
    assert "Alpha Home" in page and "--p:#112233" in page and "Hi there" in page


def test_settings_validate_sign_in_and_gateway_rules(portal):
    s = portal.settings
    s.login_with_username = s.login_with_mobile = False
    with pytest.raises(ValidationError, match="Allow sign-in"):
        s.full_clean()
    s.login_with_username = True
    s.allow_online_payment = True
    with pytest.raises(ValidationError, match="needs a payment gateway"):
        s.full_clean()
    s.payment_gateway = make_gateway(portal.world.orgs["other_root"])
    with pytest.raises(ValidationError, match="gateway of this ISP"):
        s.full_clean()
    s.primary_colour = "red"
    with pytest.raises(ValidationError):
        s.full_clean()


def test_operator_opens_subscriber_portal_settings_as_one_row(portal, login):
    client = login(portal.world.users["isp_admin"])
    response = client.get("/admin/selfcare/portalsettings/")
    row = PortalSettings.objects.get(tenant=portal.world.tenant)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/selfcare/portalsettings/{row.pk}/change/"
    assert "Subscriber Portal" in client.get("/settings/index").content.decode()


def test_usage_of_a_quota_plan_shows_used_limit_and_percent(portal):
    from modules.networking.fup import current_cycle_start
    from modules.networking.models import CycleUsage

    plan = portal.billing.plan
    plan.quota_mb, plan.fup_download_kbps, plan.fup_upload_kbps = 10240, 2000, 1000
    plan.save()
    portal.alice.refresh_from_db()
    CycleUsage.objects.create(subscriber=portal.alice, organization=portal.alice.organization,
                              cycle_start=current_cycle_start(portal.alice),
                              octets=5 * 1024**3, quota_octets=10 * 1024**3)
    page = portal.client_for().get("/portal/usage").content.decode()
    assert "5.0 GB of 10.0 GB (50.0 %)" in page
