"""Accounting over UDP: sessions, 64-bit counters, idempotency, On/Off, FUP, DB outage."""

import time

from django.db import connection

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
from tests.radius.client import accounting_request, exchange

GIB = 1 << 30


def _send(radius, *args, **kwargs):
    reply = exchange(accounting_request(*args, **kwargs), radius.acct_port)
    assert reply is not None and reply.code == c.ACCOUNTING_RESPONSE
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


def test_no_response_while_the_database_fails_and_nothing_acknowledged_is_lost(radius):
    _send(radius, "Start", "alice", "S-600")
    # Kill every server connection: the next accounting batch fails on a dead connection.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                       "datname = current_database() AND pid <> pg_backend_pid()")
    interim = accounting_request("Interim-Update", "alice", "S-600", input_octets=777,
                                 output_octets=888, session_time=60)
    assert exchange(interim, radius.acct_port, timeout=1.0) is None  # not stored: no answer
    assert radius.policy and RadiusSession.objects.get(session_id="S-600").input_octets == 0
    # The NAS retransmits the same packet; the server reconnects, stores, then answers.
    reply = None
    deadline = time.monotonic() + 10
    while reply is None and time.monotonic() < deadline:
        reply = exchange(interim, radius.acct_port, timeout=1.0)
    assert reply is not None and reply.code == c.ACCOUNTING_RESPONSE
    session = RadiusSession.objects.get(session_id="S-600")
    assert (session.input_octets, session.output_octets) == (777, 888)
    assert radius.server.counters.snapshot()["drops"].get("accounting_not_stored", 0) >= 1
