"""Accounting (RFC 2866, 2869): authenticated, decoded to 64-bit counters, answered only once
stored, in batches."""

import hashlib
import socket
import struct
import threading
from datetime import UTC, datetime

import pytest

from .conftest import MemoryPolicy
from .helpers import (
    RADCLIENT,
    Nas,
    accounting_request,
    attr,
    check_reply,
    int_attr,
    radclient,
    radclient_reply,
    wait_for,
)

needs_radclient = pytest.mark.skipif(RADCLIENT is None, reason="radclient not installed")

INTERIM = """User-Name = "alice"
Acct-Status-Type = Interim-Update
Acct-Session-Id = "81000001"
NAS-IP-Address = 10.0.0.1
NAS-Identifier = "bng-1"
NAS-Port = 15
NAS-Port-Id = "eth0.100"
Framed-IP-Address = 100.64.0.3
Acct-Session-Time = 600
Acct-Input-Octets = 5
Acct-Input-Gigawords = 2
Acct-Output-Octets = 4294967295
Acct-Output-Gigawords = 7
Acct-Input-Packets = 10
Acct-Output-Packets = 20
Event-Timestamp = 1700000000
Proxy-State = 0x0a
Proxy-State = 0x0b
"""


@needs_radclient
def test_interim_update_through_radclient(server, policy):
    out = radclient(server.acct_address, "acct", INTERIM).stdout
    code, pairs = radclient_reply(out)
    assert code == "Accounting-Response", out
    assert [v for n, v in pairs if n == "Proxy-State"] == ["0x0a", "0x0b"]
    [stored] = policy.stored
    assert stored.status == "Interim-Update" and stored.status_type == 3
    assert stored.input_octets == 5 + (2 << 32)
    assert stored.output_octets == 4294967295 + (7 << 32)
    assert (stored.input_packets, stored.output_packets, stored.session_time) == (10, 20, 600)
    assert stored.framed_ip_address == "100.64.0.3"
    assert stored.event_time == datetime.fromtimestamp(1700000000, UTC)
    key = "alice,81000001,10.0.0.1,bng-1,eth0.100,15"
    assert stored.unique_session_id == hashlib.md5(key.encode()).hexdigest()


@needs_radclient
def test_status_types_through_radclient(server, policy):
    for status in ("Start", "Stop", "Accounting-On", "Accounting-Off"):
        body = f'Acct-Status-Type = {status}\nNAS-IP-Address = 10.0.0.1\n'
        if status in ("Start", "Stop"):
            body += 'Acct-Session-Id = "s1"\nUser-Name = "alice"\n'
        out = radclient(server.acct_address, "acct", body).stdout
        assert radclient_reply(out)[0] == "Accounting-Response", out
    assert [r.status for r in policy.stored] == ["Start", "Stop", "Accounting-On",
                                                 "Accounting-Off"]


def test_event_time_falls_back_to_receive_time_minus_delay(server, acct_nas, policy):
    request = accounting_request(int_attr(40, 1) + attr(44, "s") + int_attr(41, 30))
    assert acct_nas.exchange(request) is not None
    [stored] = policy.stored
    expected = datetime.fromtimestamp(stored.received_at - 30, UTC)
    assert stored.event_time == expected
    assert stored.delay_time == 30


def test_ipv6_prefixes_are_decoded(server, acct_nas, policy):
    prefix = bytes([0, 64]) + socket.inet_pton(socket.AF_INET6, "2001:db8:1:2::")[:8]
    delegated = bytes([0, 56]) + socket.inet_pton(socket.AF_INET6, "2001:db8:ff00::")[:7]
    request = accounting_request(int_attr(40, 1) + attr(44, "s") + attr(97, prefix)
                                 + attr(123, delegated))
    assert acct_nas.exchange(request) is not None
    [stored] = policy.stored
    assert stored.framed_ipv6_prefix == "2001:db8:1:2::/64"
    assert stored.delegated_ipv6_prefix == "2001:db8:ff00::/56"


def test_response_is_signed_with_the_request_authenticator(server, acct_nas):
    request = accounting_request(int_attr(40, 1) + attr(44, "s") + attr(33, b"p"), ident=99)
    code, attributes = check_reply(acct_nas.exchange(request), request)
    assert code == 5 and attributes == [(33, b"p")]


def test_message_authenticator_in_accounting_is_checked(server, acct_nas, policy):
    request = accounting_request(int_attr(40, 1) + attr(44, "s"), message_authenticator=True)
    assert acct_nas.exchange(request) is not None
    bad = bytearray(accounting_request(int_attr(40, 1) + attr(44, "t"),
                                       message_authenticator=True))
    bad[-1] ^= 1
    digest = hashlib.md5(bytes(bad[:4]) + bytes(16) + bytes(bad[20:]) + b"testing123").digest()
    bad[4:20] = digest
    assert acct_nas.exchange(bytes(bad), timeout=0.1) is None
    assert wait_for(lambda: server.counters.drops.get("bad_message_authenticator") == 1)
    assert len(policy.stored) == 1


def test_bad_request_authenticator_is_dropped(server, acct_nas, policy):
    request = bytearray(accounting_request(int_attr(40, 1) + attr(44, "s")))
    request[4] ^= 1
    assert acct_nas.exchange(bytes(request), timeout=0.1) is None
    assert wait_for(lambda: server.counters.drops.get("bad_request_authenticator") == 1)
    assert policy.stored == [] and policy.batches == []


@pytest.mark.parametrize(
    ("attributes", "reason"),
    [(attr(44, "s"), "missing_acct_status_type"),
     (int_attr(40, 3), "missing_acct_session_id")],
)
def test_required_accounting_attributes(server, acct_nas, attributes, reason):
    assert acct_nas.exchange(accounting_request(attributes), timeout=0.1) is None
    assert wait_for(lambda: server.counters.drops.get(reason) == 1)


@pytest.mark.parametrize("failure", ["returns_false", "raises"])
def test_no_response_when_the_store_fails(server, acct_nas, policy, failure):
    if failure == "raises":
        policy.store_raises = True
    else:
        policy.store_ok = False
    request = accounting_request(int_attr(40, 1) + attr(44, "s"), ident=4)
    assert acct_nas.exchange(request, timeout=0.3) is None
    assert wait_for(lambda: server.counters.drops.get("accounting_not_stored") == 1)
    policy.store_raises, policy.store_ok = False, True
    assert acct_nas.exchange(request) is not None  # the NAS's retransmission is stored now
    assert len(policy.stored) == 1


def test_partial_batch_failure_answers_only_what_was_stored(make_server, policy):
    class HalfStore(type(policy)):
        def account_batch(self, requests):
            self.batches.append(len(requests))
            return [r.session_id.endswith("ok") for r in requests]

    server = make_server(HalfStore())
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(0.5)
    try:
        for i, name in enumerate(["a-ok", "b-bad", "c-ok"]):
            sock.sendto(accounting_request(int_attr(40, 1) + attr(44, name), ident=i),
                        server.acct_address)
        answered = set()
        while True:
            try:
                answered.add(sock.recv(4096)[1])
            except TimeoutError:
                break
        assert answered == {0, 2}
    finally:
        sock.close()


def test_requests_arriving_together_are_stored_in_batches(server, policy):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(2)
    try:
        for i in range(200):
            body = int_attr(40, 3) + attr(44, f"s{i}") + struct.pack("!BBI", 46, 6, i)
            sock.sendto(accounting_request(body, ident=i % 256), server.acct_address)
        replies = [sock.recv(4096) for _ in range(200)]
        assert len(replies) == 200
        assert sum(policy.batches) == 200
        assert max(policy.batches) > 1
        assert len(policy.stored) == 200
    finally:
        sock.close()


def test_inline_accounting_stores_a_burst_in_one_batch_and_answers_each(make_server):
    policy = _FirstStoreWaits()
    server = make_server(policy, accounting_inline=True)
    requests = [
        accounting_request(int_attr(40, 3) + attr(44, f"s-{n}".encode()) + attr(1, b"alice")
                           + attr(4, socket.inet_aton("10.0.0.1")), ident=n)
        for n in range(20)
    ]
    nas = Nas(server.acct_address)
    try:
        nas.send(requests[0])
        assert policy.storing.wait(2)  # the loop is busy with the first one
        for request in requests[1:]:
            nas.send(request)
        policy.release.set()
        replies = [nas.receive(2.0) for _ in requests]
    finally:
        nas.close()
    assert all(reply is not None and reply[0] == 5 for reply in replies)
    assert sorted(reply[1] for reply in replies) == list(range(20))
    assert len(policy.stored) == 20
    assert policy.batches == [1, 19]  # what waited in the socket went to the store together


class _FirstStoreWaits(MemoryPolicy):
    def __init__(self):
        super().__init__()
        self.storing, self.release = threading.Event(), threading.Event()

    def account_batch(self, requests):
        self.storing.set()
        self.release.wait(2)
        return super().account_batch(requests)


def test_inline_accounting_not_stored_is_not_answered(make_server, policy):
    policy.store_ok = False
    server = make_server(policy, accounting_inline=True)
    nas = Nas(server.acct_address)
    try:
        reply = nas.exchange(accounting_request(
            int_attr(40, 3) + attr(44, b"s-1") + attr(1, b"alice")
            + attr(4, socket.inet_aton("10.0.0.1"))), timeout=0.5)
    finally:
        nas.close()
    assert reply is None
    assert server.counters.snapshot()["drops"] == {"accounting_not_stored": 1}
