"""Sessions outside the RADIUS path: stale clean-up, operator disconnect, scope, FUP cycles."""

from datetime import datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from modules.networking import services, tasks
from modules.networking.fup import cycle_start
from modules.networking.models import Ipv4Lease, Ipv4Pool, RadiusSession
from radius_server.protocol.coa import CoaResult
from tests.networking.partitioned import sessions_table  # noqa: F401
from tests.networking.samples import make_nas, make_session
from tests.subscribers.samples import make_subscriber

pytestmark = pytest.mark.usefixtures("sessions_table")


def test_stale_sessions_are_closed_once_and_free_their_address(world):
    org = world.orgs["lco1"]
    pool = Ipv4Pool.objects.create(organization=org, name="p", ranges="10.4.0.1-10.4.0.2")
    services.sync_pool_addresses(pool)
    subscriber = make_subscriber(org)
    address = services.allocate_address(subscriber, pool)
    old = timezone.now() - timedelta(hours=1)
    stale = make_session(org, subscriber=subscriber, framed_ip=address, updated_at=old)
    fresh = make_session(org)
    assert services.close_stale_sessions(interim_seconds=300) == 1
    assert services.close_stale_sessions(interim_seconds=300) == 0  # idempotent
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.terminate_cause == "Stale-Session" and fresh.stopped_at is None
    assert not Ipv4Lease.objects.filter(subscriber=subscriber).exists()


def test_partner_cannot_disconnect_another_partners_session(world):
    session = make_session(world.orgs["lco2"])
    with pytest.raises(PermissionDenied):
        services.request_disconnect(session, actor=world.users["lco1"])


def test_disconnect_task_records_the_nas_answer(world):
    nas = make_nas(world.orgs["root"], address="127.0.0.1", coa_port=3799)
    session = make_session(world.orgs["lco1"], nas=nas, nas_ip="127.0.0.1")
    nak = CoaResult(acked=False, code=43, attempts=1, error_cause=503,
                    error_cause_name="Session-Context-Not-Found")
    with mock.patch("radius_server.protocol.coa.CoaClient.disconnect", return_value=nak) as sent:
        assert tasks.disconnect_session(session.pk, "test") == "nak"
    identity = sent.call_args.kwargs
    assert identity["user_name"] == session.username
    assert identity["acct_session_id"] == session.session_id
    assert identity["framed_ip_address"] == session.framed_ip
    session.refresh_from_db()
    assert (session.last_coa_result, session.last_coa_error) == ("nak", "Session-Context-Not-Found")
    session.stopped_at = timezone.now()
    session.save()
    assert tasks.disconnect_session(session.pk) == "closed"


def test_disconnect_action_is_a_scoped_post(world, client):
    nas = make_nas(world.orgs["root"])
    mine = make_session(world.orgs["lco1"], nas=nas)
    theirs = make_session(world.orgs["lco2"], nas=nas)
    client.force_login(world.users["lco1"])
    url = reverse("admin:networking_radiussession_disconnect", args=[theirs.pk])
    assert client.post(url, {"_form_submitted": "True"}).status_code == 404
    with mock.patch("modules.networking.tasks.disconnect_session.delay") as queued, \
            mock.patch("django.db.transaction.on_commit", side_effect=lambda f: f()):
        url = reverse("admin:networking_radiussession_disconnect", args=[mine.pk])
        response = client.post(url, {"_form_submitted": "True"})
    assert response.status_code in (204, 302)
    queued.assert_called_once_with(mine.pk, "operator")


def test_session_search_by_ip_username_and_session_id(world, client):
    session = make_session(world.orgs["lco1"])
    make_session(world.orgs["lco1"])
    client.force_login(world.users["isp_admin"])
    url = reverse("admin:networking_radiussession_changelist")
    for term in (session.framed_ip, session.username, session.session_id):
        page = client.get(url, {"q": term})
        assert page.status_code == 200
        assert list(page.context["cl"].result_list) == [session], term


def test_billing_cycle_starts_on_the_activation_anniversary():
    utc = ZoneInfo("UTC")
    activated = datetime(2026, 1, 20, 15, 0, tzinfo=utc)
    now = datetime(2026, 3, 5, 10, 0, tzinfo=utc)
    with mock.patch("modules.networking.fup._zone", return_value=utc):
        monthly = cycle_start(tenant_id=1, quota_reset="cycle", validity_unit="months",
                              validity_value=1, activated_at=activated, now=now)
        days = cycle_start(tenant_id=1, quota_reset="cycle", validity_unit="days",
                           validity_value=30, activated_at=activated, now=now)
        calendar = cycle_start(tenant_id=1, quota_reset="month", validity_unit="days",
                               validity_value=30, activated_at=activated, now=now)
    assert monthly == datetime(2026, 2, 20, tzinfo=utc)
    assert days == datetime(2026, 2, 19, tzinfo=utc)
    assert calendar == datetime(2026, 3, 1, tzinfo=utc)


def test_sessions_list_queries_do_not_grow_with_rows(world, client, django_assert_max_num_queries):
    nas = make_nas(world.orgs["root"])
    for _ in range(30):
        make_session(world.orgs["lco1"], nas=nas)
    client.force_login(world.users["isp_admin"])
    with django_assert_max_num_queries(25):
        assert client.get(reverse("admin:networking_radiussession_changelist")).status_code == 200
    assert RadiusSession.objects.count() == 30
