"""The NAS test action: a signed Status-Server to the NAS, its answer recorded on the device."""

import socket

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from modules.networking import services
from modules.networking.models import NasDevice
from radius_server.protocol import AuthDecision, Policy, RadiusServer, ServerConfig
from radius_server.protocol.clients import Client
from tests.networking.samples import make_nas


class _Quiet(Policy):
    def authorize(self, request):
        return AuthDecision.reject("unused")


@pytest.fixture
def answering_nas():
    """A RADIUS speaker on loopback that answers Status-Server signed with `s3cret`."""
    server = RadiusServer(_Quiet(), [Client("127.0.0.1", b"s3cret")],
                          ServerConfig(host="127.0.0.1", auth_port=0, acct_port=0,
                                       reuse_port=False)).start()
    yield server.auth_address[1]
    server.stop()


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_answer_wrong_secret_and_silence_are_recorded(world, answering_nas):
    admin = world.users["isp_admin"]
    nas = make_nas(world.orgs["root"], address="127.0.0.1", coa_port=answering_nas)
    assert services.test_nas(nas, actor=admin, timeout=2).startswith("answered in")
    nas.refresh_from_db()
    assert nas.last_test_at is not None and nas.last_test_result.startswith("answered in")

    nas.secret = "not-the-secret"  # the speaker drops a Status-Server with a bad MA
    assert services.test_nas(nas, actor=admin, timeout=0.3) == "no answer"
    nas.secret, nas.coa_port = "s3cret", _closed_port()
    assert services.test_nas(nas, actor=admin, timeout=0.3) in ("no answer", "unreachable: "
                                                                "Connection refused")


def test_partner_cannot_test_a_nas_outside_its_scope(world):
    nas = make_nas(world.orgs["lco2"])
    with pytest.raises(PermissionDenied):
        services.test_nas(nas, actor=world.users["lco1"], timeout=0.1)
    assert NasDevice.objects.get(pk=nas.pk).last_test_at is None


def test_test_action_is_a_scoped_post(world, client, answering_nas):
    mine = make_nas(world.orgs["root"], address="127.0.0.1", coa_port=answering_nas)
    theirs = make_nas(world.orgs["lco2"])
    client.force_login(world.users["isp_admin"])
    url = reverse("admin:networking_nasdevice_test_connection", args=[mine.pk])
    assert client.post(url, {"_form_submitted": "True"}).status_code in (204, 302)
    assert NasDevice.objects.get(pk=mine.pk).last_test_result.startswith("answered in")
    client.force_login(world.users["lco1"])
    url = reverse("admin:networking_nasdevice_test_connection", args=[theirs.pk])
    assert client.post(url, {"_form_submitted": "True"}).status_code in (403, 404)
    assert NasDevice.objects.get(pk=theirs.pk).last_test_at is None
