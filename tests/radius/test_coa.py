"""CoA / Disconnect from lifecycle events and FUP, against a test NAS listener."""

from datetime import timedelta

import pytest
from django.utils import timezone

from modules.networking.models import NasDevice, RadiusSession
from modules.plans.models import Plan
from modules.subscribers import services as subscriber_services
from modules.subscribers.models import Subscriber
from radius_server.protocol import constants as c
from radius_server.protocol.attributes import AttributeCodec
from radius_server.protocol.nas_emulator import NasEmulator
from tests.networking.partitioned import sessions_table  # noqa: F401
from tests.radius.client import accounting_request, exchange

pytestmark = pytest.mark.usefixtures("sessions_table")

CODEC = AttributeCodec()


def _values(packet, name):
    definition = CODEC.definition(name)
    if definition.vendor:
        raws = packet.vendor_attributes(definition.vendor, definition.code)
    else:
        raws = packet.all(definition.code)
    return [CODEC.decode(definition, raw) for raw in raws]


@pytest.fixture
def nas_listener(radius_world):
    with NasEmulator(secret=b"testing123") as emulator:
        NasDevice.objects.filter(pk=radius_world.nas.pk).update(coa_port=emulator.port)
        yield emulator


def _online(radius, session_id="S-1"):
    start = accounting_request("Start", "alice", session_id,
                               extra=[("Framed-IP-Address", "100.65.0.9"),
                                      ("Calling-Station-Id", "aa:bb:cc:00:00:09")])
    assert exchange(start, radius.acct_port) is not None
    radius.settle()
    return RadiusSession.objects.get(session_id=session_id)


def test_suspend_sends_a_disconnect_with_full_session_identification(nas_listener, radius):
    session = _online(radius)
    subscriber_services.suspend(Subscriber.objects.get(username="alice"), actor=None,
                                reason="unpaid")
    assert len(nas_listener.received) == 1 and not nas_listener.invalid
    packet = nas_listener.received[0]
    assert packet.code == c.DISCONNECT_REQUEST
    assert packet.attributes[0][0] == c.MESSAGE_AUTHENTICATOR
    assert _values(packet, "User-Name") == ["alice"]
    assert _values(packet, "Acct-Session-Id") == ["S-1"]
    assert _values(packet, "Framed-IP-Address") == ["100.65.0.9"]
    assert _values(packet, "NAS-IP-Address") == ["127.0.0.1"]
    assert _values(packet, "Calling-Station-Id") == ["aa:bb:cc:00:00:09"]
    session.refresh_from_db()
    assert (session.last_coa_kind, session.last_coa_result) == ("disconnect", "ack")


def test_a_nak_and_its_error_cause_are_recorded_on_the_session(nas_listener, radius):
    nas_listener.nak_error_cause = 503  # Session-Context-Not-Found
    session = _online(radius)
    subscriber_services.terminate(Subscriber.objects.get(username="alice"), actor=None,
                                  reason="left")
    session.refresh_from_db()
    assert session.last_coa_result == "nak"
    assert session.last_coa_error == "Session-Context-Not-Found"


def test_plan_change_sends_a_coa_with_the_new_rate(nas_listener, radius_world, radius):
    _online(radius)
    faster = Plan.objects.create(organization=radius_world.root, code="fiber-200",
                                 name="Fiber 200", price=999, download_kbps=200_000,
                                 upload_kbps=100_000)
    subscriber_services.change_plan(Subscriber.objects.get(username="alice"), faster,
                                    actor=None)
    coa = [p for p in nas_listener.received if p.code == c.COA_REQUEST]
    assert coa and _values(coa[-1], "Mikrotik-Rate-Limit") == ["100M/200M"]
    assert not _values(coa[-1], "Framed-Pool")


def test_quota_exhaustion_throttles_by_coa_and_a_top_up_restores(nas_listener, radius_world,
                                                                 radius):
    _online(radius)
    mib = 1 << 20
    interim = accounting_request("Interim-Update", "alice", "S-1", output_octets=1100 * mib,
                                 session_time=60)
    assert exchange(interim, radius.acct_port) is not None
    assert radius.wait_for(lambda: any(p.code == c.COA_REQUEST for p in nas_listener.received))
    throttle = [p for p in nas_listener.received if p.code == c.COA_REQUEST][-1]
    assert _values(throttle, "Mikrotik-Rate-Limit") == ["1M/2M"]
    topup = Plan.objects.create(organization=radius_world.root, code="topup-5g",
                                name="Top-up 5 GB", plan_type="topup", price=99, quota_mb=5120)
    subscriber_services.add_plan_item(Subscriber.objects.get(username="alice"), topup,
                                      actor=None)
    restore = [p for p in nas_listener.received if p.code == c.COA_REQUEST][-1]
    assert _values(restore, "Mikrotik-Rate-Limit") == ["50M/100M"]
    assert Subscriber.objects.get(username="alice").status == "active"


def _disconnects(nas_listener):
    return [p for p in nas_listener.received if p.code == c.DISCONNECT_REQUEST]


def test_terminate_sends_a_disconnect(nas_listener, radius):
    session = _online(radius)
    subscriber_services.terminate(Subscriber.objects.get(username="alice"), actor=None,
                                  reason="left")
    (packet,) = _disconnects(nas_listener)
    assert _values(packet, "Acct-Session-Id") == ["S-1"]
    session.refresh_from_db()
    assert (session.last_coa_kind, session.last_coa_result) == ("disconnect", "ack")


def test_expiry_sends_a_disconnect(nas_listener, radius):
    _online(radius)
    alice = Subscriber.objects.get(username="alice")
    Subscriber.objects.filter(pk=alice.pk).update(expires_at=timezone.now() - timedelta(days=1))
    alice.refresh_from_db()
    subscriber_services.expire(alice, actor=None, reason="Not renewed")
    (packet,) = _disconnects(nas_listener)
    assert _values(packet, "User-Name") == ["alice"]


def test_renewal_before_expiry_sends_a_coa_with_the_plan_rate(nas_listener, radius):
    _online(radius)
    subscriber_services.renew(Subscriber.objects.get(username="alice"), actor=None)
    assert not _disconnects(nas_listener)
    coa = [p for p in nas_listener.received if p.code == c.COA_REQUEST]
    assert coa and _values(coa[-1], "Mikrotik-Rate-Limit") == ["50M/100M"]


def test_renewal_after_expiry_disconnects_the_walled_garden_session(nas_listener, radius):
    """Let in after expiry (walled garden), renewed: cut so it reconnects with full service."""
    _online(radius)
    alice = Subscriber.objects.get(username="alice")
    Subscriber.objects.filter(pk=alice.pk).update(expires_at=timezone.now() - timedelta(hours=2))
    alice.refresh_from_db()
    subscriber_services.renew(alice, actor=None)
    (packet,) = _disconnects(nas_listener)
    assert _values(packet, "Acct-Session-Id") == ["S-1"]
    assert not [p for p in nas_listener.received if p.code == c.COA_REQUEST]


def test_batch_renewal_after_expiry_disconnects_and_before_expiry_changes_rate(
        nas_listener, radius_world, radius):
    radius_world.subscriber("bob")
    _online(radius)
    start = accounting_request("Start", "bob", "S-2",
                               extra=[("Framed-IP-Address", "100.65.0.10"),
                                      ("Calling-Station-Id", "aa:bb:cc:00:00:10")])
    assert exchange(start, radius.acct_port) is not None
    radius.settle()
    Subscriber.objects.filter(username="alice").update(
        expires_at=timezone.now() - timedelta(hours=2))
    subscriber_services.renew_many(list(Subscriber.objects.filter(username__in=["alice", "bob"])
                                        .select_related("plan")), actor=None)
    (packet,) = _disconnects(nas_listener)
    assert _values(packet, "User-Name") == ["alice"]
    coa = [p for p in nas_listener.received if p.code == c.COA_REQUEST]
    assert [_values(p, "User-Name") for p in coa] == [["bob"]]
