"""The audit trail records who changed what, when and from which address."""

import pytest
from auditlog.models import LogEntry

pytestmark = pytest.mark.django_db


def test_admin_change_is_recorded_with_actor_and_address(world, login):
    client = login(world.users["isp_admin"])
    partner = world.orgs["partner"]
    response = client.post(
        f"/admin/core/organization/{partner.pk}/change/",
        {"name": "Partner Prime", "code": "pp", "kind": "lco", "is_active": "on"},
        REMOTE_ADDR="203.0.113.7",
    )
    assert response.status_code == 302
    entry = LogEntry.objects.get_for_object(partner).latest("timestamp")
    assert entry.actor == world.users["isp_admin"]
    assert entry.remote_addr == "203.0.113.7"
    assert entry.changes_dict["name"] == ["Partner P", "Partner Prime"]


def test_password_changes_are_not_written_to_the_trail(world):
    user = world.users["lco1"]
    user.set_password("An0ther-Secret!")
    user.save()
    for entry in LogEntry.objects.get_for_object(user):
        assert "password" not in entry.changes_dict


def test_partner_sees_only_its_subtrees_entries(world, login):
    client = login(world.users["isp_admin"])
    client.post(f"/admin/core/organization/{world.orgs['partner'].pk}/change/",
                {"name": "Partner Q", "code": "pp", "kind": "lco", "is_active": "on"})
    client.logout()
    dist_client = login(world.users["dist"])
    page = dist_client.get("/admin/auditlog/logentry/").content.decode()
    assert "Partner Q" not in page
