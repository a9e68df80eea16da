"""Operator pages show times in the ISP's time zone (Settings -> General)."""

from contextlib import contextmanager

from django.test.signals import template_rendered
from django.utils import timezone

from modules.settings_hub.models import GeneralSettings


@contextmanager
def zone_while_rendering():
    """Records the active time zone when the page's first template renders."""
    seen = {}

    def record(**kwargs):
        seen.setdefault("zone", timezone.get_current_timezone_name())

    template_rendered.connect(record, dispatch_uid="zone-probe")
    try:
        yield seen
    finally:
        template_rendered.disconnect(dispatch_uid="zone-probe")


def _set_zone(world, name):
    general, _ = GeneralSettings.objects.get_or_create(
        tenant=world.tenant, defaults={"company_name": "Alpha"}
    )
    general.timezone = name
    general.save()


def test_pages_use_the_tenants_time_zone(world, login, client):
    _set_zone(world, "Asia/Kolkata")
    login(world.users["isp_admin"])
    with zone_while_rendering() as seen:
        response = client.get("/admin/")
    assert response.status_code == 200
    assert seen["zone"] == "Asia/Kolkata"
    assert timezone.get_current_timezone_name() == "UTC"  # nothing leaks past the request


def test_a_changed_time_zone_applies_on_the_next_page(world, login, client):
    _set_zone(world, "Asia/Kolkata")
    login(world.users["isp_admin"])
    client.get("/admin/")
    _set_zone(world, "Asia/Dubai")
    with zone_while_rendering() as seen:
        client.get("/admin/")
    assert seen["zone"] == "Asia/Dubai"


def test_an_unknown_zone_in_the_database_falls_back_to_the_deployments(world, login, client):
    GeneralSettings.objects.update_or_create(
        tenant=world.tenant, defaults={"company_name": "Alpha", "timezone": "Mars/Olympus"}
    )
    login(world.users["isp_admin"])
    with zone_while_rendering() as seen:
        response = client.get("/admin/")
    assert response.status_code == 200
    assert seen["zone"] == "UTC"
