"""The subscriber's page carries Billing, Usage and Sessions tabs from the modules that own them."""

from datetime import timedelta

from django.contrib.auth.models import Permission
from django.utils import timezone

from modules.billing import payments
from modules.core.models import Role, User
from modules.core.services import create_portal_user
from modules.networking.models import DailyUsage, RadiusSession
from tests.world import PASSWORD

TABS = {"invoice", "payment", "wallet", "radiussession", "dailyusage", "cycleusage"}


def _tabs(page):
    return {f.formset.model._meta.model_name: f.formset
            for f in page.context["inline_admin_formsets"]}


def _history(subscriber):
    now = timezone.now()
    for days, sid in ((2, "recent"), (45, "old")):
        RadiusSession.objects.create(
            unique_id=f"u-{sid}", session_id=sid, username=subscriber.username,
            subscriber=subscriber, organization=subscriber.organization,
            started_at=now - timedelta(days=days), updated_at=now - timedelta(days=days),
            stopped_at=now - timedelta(days=days) + timedelta(hours=1), output_octets=5 * 2**30)
    for days in (1, 90):
        DailyUsage.objects.create(subscriber=subscriber, organization=subscriber.organization,
                                  day=timezone.localdate() - timedelta(days=days),
                                  output_octets=2**30)


def test_subscriber_page_shows_billing_usage_and_sessions(world, subscriber_at, client):
    subscriber = subscriber_at("lco1", status="active")
    payments.record_payment(subscriber, "500.00", actor=None, method="cash")
    _history(subscriber)
    client.force_login(world.users["isp_admin"])
    page = client.get(f"/admin/subscribers/subscriber/{subscriber.pk}/change/")
    assert page.status_code == 200
    tabs = _tabs(page)
    assert set(tabs) >= TABS
    assert [p.amount for p in tabs["payment"].queryset] == [500]
    assert [w.balance for w in tabs["wallet"].queryset] == [500]
    # Recent windows: the 45-day-old session and the 90-day-old usage stay in Networking's lists.
    assert [s.session_id for s in tabs["radiussession"].queryset] == ["recent"]
    assert [u.day for u in tabs["dailyusage"].queryset] == [
        timezone.localdate() - timedelta(days=1)]
    assert b"sessions (last 30 days)" in page.content.lower()


def test_tabs_follow_the_viewers_permissions(world, subscriber_at, client):
    subscriber = subscriber_at("lco1", status="active")
    role = Role.objects.create(tenant=world.tenant, name="Front desk")
    role.permissions.set(Permission.objects.filter(
        content_type__app_label="subscribers", codename__in=["view_subscriber",
                                                              "change_subscriber"]))
    desk = create_portal_user(username="desk", password=PASSWORD,
                              organization=world.orgs["dist"], kind=User.Kind.EMPLOYEE,
                              roles=[role])
    client.force_login(desk)
    page = client.get(f"/admin/subscribers/subscriber/{subscriber.pk}/change/")
    assert page.status_code == 200
    assert not TABS & set(_tabs(page))  # no billing or networking permission: no such tabs


def test_the_add_form_has_no_history_tabs(world, client):
    client.force_login(world.users["isp_admin"])
    page = client.get("/admin/subscribers/subscriber/add/")
    assert page.status_code == 200
    assert not TABS & set(_tabs(page))


def test_page_queries_do_not_grow_with_history(world, subscriber_at, client,
                                               django_assert_max_num_queries):
    subscriber = subscriber_at("lco1", status="active")
    client.force_login(world.users["isp_admin"])
    url = f"/admin/subscribers/subscriber/{subscriber.pk}/change/"
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as empty:
        client.get(url)
    for n in range(5):
        payments.record_payment(subscriber, "100.00", actor=None, method="cash")
        RadiusSession.objects.create(
            unique_id=f"u-{n}", session_id=f"s-{n}", username=subscriber.username,
            subscriber=subscriber, organization=subscriber.organization,
            started_at=timezone.now(), updated_at=timezone.now())
    with django_assert_max_num_queries(len(empty.captured_queries) + 2):
        assert client.get(url).status_code == 200
