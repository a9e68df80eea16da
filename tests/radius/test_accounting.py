"""Accounting over UDP: sessions, 64-bit counters, idempotency, On/Off, FUP, the spool
(acknowledged while PostgreSQL is down, silent when full) and interim coalescing."""

from datetime import UTC, datetime, timedelta

import pytest

from modules.networking import accounting
from modules.networking.models import (
    CycleUsage,
    DailyUsage,
    Ipv4Lease,
    Ipv4Pool,
    RadiusSession,
    UsageAlert,
)
from modules.networking.services import sync_pool_addresses
from modules.subscribers.models import Subscriber
from radius_server.protocol import constants as c
from tests.networking.partitioned import sessions_table  # noqa: F401
from tests.radius.client import accounting_request, exchange
from tests.radius.conftest import database_refused

pytestmark = pytest.mark.usefixtures("sessions_table")

GIB = 1 << 30


def _send(radius, *args, **kwargs):
    reply = exchange(accounting_request(*args, **kwargs), radius.acct_port)
    assert reply is not None and reply.code == c.ACCOUNTING_RESPONSE
    radius.settle()  # the response came from the spool; wait for PostgreSQL
    return reply


def test_start_interim_stop_with_gigawords_updates_session_and_daily_usage(radius):
    framed = [("Framed-IP-Address", "100.65.0.7"), ("Calling-Station-Id", "aa:bb:cc:00:00:07")]
    _send(radius, "Start", "alice", "S-100", extra=framed)
    session = RadiusSession.objects.get(session_id="S-100")
    assert session.stopped_at is None and session.framed_ip == "100.65.0.7"
    _send(radius, "Interim-Update", "alice", "S-100", input_octets=5 * GIB + 10,
          output_octets=9 * GIB + 20, session_time=300, extra=framed)
    session.refresh_from_db()
    assert (session.input_octets, session.output_octets) == (5 * GIB + 10, 9 * GIB + 20)
    _send(radius, "Stop", "alice", "S-100", input_octets=6 * GIB, output_octets=10 * GIB,
          session_time=600, extra=[*framed, ("Acct-Terminate-Cause", "User-Request")])
    session.refresh_from_db()
    assert session.stopped_at is not None and session.terminate_cause == "User-Request"
    assert session.session_time == 600
    usage = DailyUsage.objects.get(subscriber__username="alice")
    assert (usage.input_octets, usage.output_octets) == (6 * GIB, 10 * GIB)


def test_retransmits_and_repeated_interims_are_not_double_counted(radius):
    _send(radius, "Start", "alice", "S-200")
    interim = accounting_request("Interim-Update", "alice", "S-200", input_octets=1000,
                                 output_octets=2000, session_time=60)
    assert exchange(interim, radius.acct_port) is not None
    assert exchange(interim, radius.acct_port) is not None  # a retransmit: cached reply
    _send(radius, "Interim-Update", "alice", "S-200", input_octets=1000, output_octets=2000,
          session_time=60)  # a new packet with the same absolute counters
    usage = DailyUsage.objects.get(subscriber__username="alice")
    assert (usage.input_octets, usage.output_octets) == (1000, 2000)
    cycle = CycleUsage.objects.get(subscriber__username="alice")
    assert cycle.octets == 3000


def test_interim_for_unknown_session_creates_it_and_repeated_start_upserts(radius):
    _send(radius, "Interim-Update", "alice", "S-300", input_octets=10, output_octets=20,
          session_time=120)
    session = RadiusSession.objects.get(session_id="S-300")
    assert session.stopped_at is None
    assert (session.updated_at - session.started_at).total_seconds() >= 119
    _send(radius, "Start", "alice", "S-301")
    _send(radius, "Start", "alice", "S-301")
    assert RadiusSession.objects.filter(session_id="S-301").count() == 1


def test_accounting_on_closes_every_session_of_that_nas_and_frees_leases(radius_world, radius):
    pool = Ipv4Pool.objects.create(organization=radius_world.root, name="p",
                                   ranges="100.66.0.1-100.66.0.3")
    sync_pool_addresses(pool)
    alice = Subscriber.objects.get(username="alice")
    Ipv4Lease.objects.filter(pool=pool, address="100.66.0.1").update(subscriber=alice)
    _send(radius, "Start", "alice", "S-400", extra=[("Framed-IP-Address", "100.66.0.1")])
    _send(radius, "Start", "ghost", "S-401")
    _send(radius, "Start", "alice", "S-402", nas_ip="127.0.0.9")
    _send(radius, "Accounting-On", "", "")
    open_ids = set(RadiusSession.objects.filter(stopped_at__isnull=True)
                   .values_list("session_id", flat=True))
    assert open_ids == {"S-402"}  # another NAS-IP-Address behind the same client
    assert RadiusSession.objects.get(session_id="S-400").terminate_cause == "NAS-Reboot"
    assert not Ipv4Lease.objects.filter(subscriber__isnull=False).exists()
    # unknown usernames are kept and scoped to the NAS owner
    assert RadiusSession.objects.get(session_id="S-401").organization_id == radius_world.root.pk


def test_quota_crossing_alerts_once_each_and_limits_the_subscriber(radius):
    mib = 1 << 20
    _send(radius, "Start", "alice", "S-500")
    _send(radius, "Interim-Update", "alice", "S-500", output_octets=850 * mib, session_time=60)
    assert list(UsageAlert.objects.values_list("threshold", flat=True)) == [80]
    _send(radius, "Interim-Update", "alice", "S-500", output_octets=1100 * mib,
          session_time=120)
    _send(radius, "Interim-Update", "alice", "S-500", output_octets=1200 * mib,
          session_time=180)
    assert sorted(UsageAlert.objects.values_list("threshold", flat=True)) == [80, 90, 100]
    assert CycleUsage.objects.get(subscriber__username="alice").exhausted
    assert Subscriber.objects.get(username="alice").status == "limited"
    assert radius.wait_for(lambda: radius.policy.snapshot.subscribers[
        (Subscriber.objects.get(username="alice").tenant_id, "alice")].status == "limited")


def test_accounting_is_acknowledged_while_postgresql_is_down_and_stored_after(radius):
    _send(radius, "Start", "alice", "S-600")
    alice = Subscriber.objects.get(username="alice")
    with database_refused():
        interim = accounting_request("Interim-Update", "alice", "S-600", input_octets=777,
                                     output_octets=888, session_time=60)
        reply = exchange(interim, radius.acct_port)
        assert reply is not None and reply.code == c.ACCOUNTING_RESPONSE
        start = accounting_request("Start", "alice", "S-601")
        assert exchange(start, radius.acct_port) is not None
        assert RadiusSession.objects.get(session_id="S-600").input_octets == 0
        assert not RadiusSession.objects.filter(session_id="S-601").exists()
        # simultaneous use already counts the spooled Start
        assert len(radius.policy.snapshot.live.get(alice.pk, ())) == 2
        assert exchange(interim, radius.acct_port) is not None  # a retransmit: cached reply
    radius.settle(timeout=30)
    session = RadiusSession.objects.get(session_id="S-600")
    assert (session.input_octets, session.output_octets) == (777, 888)
    assert RadiusSession.objects.get(session_id="S-601").stopped_at is None
    assert DailyUsage.objects.get(subscriber=alice).input_octets == 777


def test_a_full_spool_answers_nothing_until_it_drains(radius):
    spool = radius.policy.spool
    with database_refused():
        _ack = exchange(accounting_request("Start", "alice", "S-700"), radius.acct_port)
        assert _ack is not None
        spool.max_bytes = spool.pending_bytes  # full: the next record does not fit
        interim = accounting_request("Interim-Update", "alice", "S-700", input_octets=5,
                                     output_octets=6, session_time=60)
        assert exchange(interim, radius.acct_port, timeout=1.0) is None
        assert radius.server.counters.snapshot()["drops"]["accounting_not_stored"] >= 1
    radius.settle(timeout=30)  # applied: room again, so the NAS's retransmit is stored
    reply = exchange(interim, radius.acct_port)
    assert reply is not None and reply.code == c.ACCOUNTING_RESPONSE
    radius.settle()
    session = RadiusSession.objects.get(session_id="S-700")
    assert (session.input_octets, session.output_octets) == (5, 6)


def _records(radius_world, username: str) -> list:
    nas = radius_world.nas
    day = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)

    def record(status, minutes, octets_in=None, octets_out=None):
        return accounting.AcctRecord(
            status=status, unique_id=f"u-{username}", session_id=f"S-{username}",
            username=username, tenant_id=radius_world.tenant.pk, nas_id=nas.pk,
            nas_org_id=nas.organization_id, nas_ip="127.0.0.1",
            event_time=day + timedelta(minutes=minutes),
            session_time=None if octets_in is None else minutes * 60,
            input_octets=octets_in, output_octets=octets_out)

    return [record("Start", 0), record("Interim-Update", 5, 100, 1000),
            record("Interim-Update", 10, 300, 900),  # a counter going back (a NAS glitch)
            record("Interim-Update", 15, 250, 5000),
            record("Interim-Update", 24 * 60, 900, 7000),  # the next day: not merged
            record("Interim-Update", 24 * 60 + 5, 1000, 7500),
            record("Stop", 24 * 60 + 10, 1200, 8000)]


def test_coalesced_interims_give_the_same_counters_as_each_record(radius_world):
    radius_world.subscriber("bob")
    for record in _records(radius_world, "alice"):
        accounting.store_batch([record])
    folded = accounting.coalesce(_records(radius_world, "bob"))
    assert [r.status for r in folded] == ["Start", "Interim-Update", "Stop"]
    accounting.store_batch(folded)

    def outcome(username):
        session = RadiusSession.objects.get(username=username)
        return ((session.input_octets, session.output_octets, session.session_time,
                 session.stopped_at, session.updated_at),
                sorted(DailyUsage.objects.filter(subscriber__username=username)
                       .values_list("day", "input_octets", "output_octets")),
                sorted(CycleUsage.objects.filter(subscriber__username=username)
                       .values_list("cycle_start", "octets")))

    assert outcome("alice") == outcome("bob")
    assert outcome("alice")[0][:2] == (1200, 8000)


def test_records_of_one_batch_keep_each_sessions_own_fields(radius_world):
    """The applier decodes what a session repeats (identity, port, stations, addresses) once a
    batch: two sessions of one user, interleaved, must still get their own."""
    from radius_server import nas_client
    from radius_server.portal_policy import _SPOOLED, PortalPolicy
    from radius_server.protocol import AccountingRequest
    from radius_server.protocol.packet import decode

    nas, tenant_id = radius_world.nas, radius_world.tenant.pk
    sessions = {"s-1": ("ether1", "AA:AA:AA:AA:AA:01", "10.0.0.11"),
                "s-2": ("ether2", "AA:AA:AA:AA:AA:02", "10.0.0.12")}
    packets = []
    for step in range(1, 4):
        for session_id, (port, mac, address) in sessions.items():
            packets.append(nas_client.accounting_request(
                b"testing123", "Interim-Update", "alice", session_id, input_octets=step * GIB,
                output_octets=step * 100, session_time=step * 60,
                extra=[("NAS-Port-Id", port), ("Calling-Station-Id", mac),
                       ("Framed-IP-Address", address)]))
    ip = b"127.0.0.1"
    bodies = [_SPOOLED.pack(1_764_547_200.0 + n, nas.pk, tenant_id, nas.organization_id,
                            len(ip)) + ip + raw for n, raw in enumerate(packets)]

    records = PortalPolicy(log_decisions=False)._spooled_records(bodies)

    assert len(records) == 6
    for n, (record, raw) in enumerate(zip(records, packets, strict=True)):
        request = AccountingRequest(decode(raw), None, ("127.0.0.1", 0), 0.0, None)
        port, mac, address = sessions[request.session_id]
        assert (record.session_id, record.unique_id) == (request.session_id,
                                                         request.unique_session_id)
        assert (record.nas_port_id, record.calling_station_id, record.framed_ip) == (
            port, mac, address)
        assert (record.input_octets, record.output_octets, record.session_time) == (
            (n // 2 + 1) * GIB, (n // 2 + 1) * 100, (n // 2 + 1) * 60)
        assert record.event_time == datetime.fromtimestamp(1_764_547_200.0 + n, UTC)
        assert (record.nas_id, record.tenant_id, record.nas_ip) == (
            nas.pk, tenant_id, "127.0.0.1")
    assert records[0].unique_id != records[1].unique_id
