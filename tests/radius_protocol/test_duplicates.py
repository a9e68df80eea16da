"""Duplicate detection (RFC 5080 §2.2.2): same tuple and authenticator -> same reply, no rerun."""

import os
import threading

from radius_server.protocol.dedup import DuplicateCache

from .helpers import Nas, accounting_request, attr, check_reply, int_attr, pap_request, wait_for


def test_retransmission_gets_the_identical_cached_reply(server, nas, policy):
    request = pap_request("alice", "wonderland", ident=42)
    first = nas.exchange(request)
    second = nas.exchange(request)
    assert first == second
    check_reply(second, request)
    assert len(policy.authorized) == 1
    assert wait_for(lambda: server.counters.duplicates_resent == 1)


def test_same_identifier_new_authenticator_is_processed_afresh(server, nas, policy):
    first = pap_request("alice", "wonderland", ident=42)
    second = pap_request("alice", "wrong", ident=42)
    assert check_reply(nas.exchange(first), first)[0] == 2
    assert check_reply(nas.exchange(second), second)[0] == 3
    assert check_reply(nas.exchange(second), second)[0] == 3
    assert len(policy.authorized) == 2


def test_other_source_port_is_not_a_duplicate(server, policy):
    request = pap_request("alice", "wonderland", ident=5)
    one, two = Nas(server.auth_address), Nas(server.auth_address)
    try:
        assert one.exchange(request) is not None
        assert two.exchange(request) is not None
        assert len(policy.authorized) == 2
    finally:
        one.close()
        two.close()


def test_duplicate_of_a_request_in_progress_is_dropped(make_server, policy):
    policy.gate = threading.Event()
    server = make_server(policy, auth_workers=1)
    nas = Nas(server.auth_address)
    try:
        request = pap_request("alice", "wonderland", ident=9)
        nas.send(request)
        assert wait_for(lambda: len(policy.authorized) == 1)
        nas.send(request)
        assert wait_for(lambda: server.counters.drops.get("duplicate_in_progress") == 1)
        policy.gate.set()
        reply = nas.receive()
        check_reply(reply, request)
        assert nas.receive(timeout=0.1) is None
        assert nas.exchange(request) == reply
        assert len(policy.authorized) == 1
    finally:
        nas.close()


def test_invalid_message_authenticator_does_not_touch_the_cache(server, nas, policy):
    request = pap_request("alice", "wonderland", ident=77)
    reply = nas.exchange(request)
    forged = bytearray(pap_request("alice", "wonderland", ident=77))
    forged[-1] ^= 0xFF
    assert nas.exchange(bytes(forged), timeout=0.1) is None
    assert nas.exchange(request) == reply
    assert len(policy.authorized) == 1


def test_accounting_retransmission_is_stored_once(server, policy):
    nas = Nas(server.acct_address)
    try:
        request = accounting_request(
            int_attr(40, 3) + attr(44, "s-1") + attr(1, "alice") + int_attr(42, 100), ident=3)
        first = nas.exchange(request)
        assert first is not None and nas.exchange(request) == first
        assert len(policy.stored) == 1
    finally:
        nas.close()


def test_cache_entries_expire_after_their_lifetime():
    cache = DuplicateCache(lifetime=5.0)
    authenticator = os.urandom(16)
    duplicate, entry = cache.begin(("port", "ip", 1, 1), authenticator, now=100.0)
    assert not duplicate
    entry.reply = b"reply"
    assert cache.begin(("port", "ip", 1, 1), authenticator, now=104.0) == (True, entry)
    cache.sweep(now=106.0)
    assert len(cache) == 0
    assert cache.begin(("port", "ip", 1, 1), authenticator, now=106.0)[0] is False


def test_new_requests_expire_old_entries_without_a_sweep():
    cache = DuplicateCache(lifetime=5.0)
    for n in range(1000):
        cache.begin(("port", "ip", 1, n), os.urandom(16), now=100.0)
    for n in range(600):  # each new request drops up to two expired ones
        cache.begin(("port", "ip", 2, n), os.urandom(16), now=106.0)
    assert len(cache) == 600  # the old thousand went, two with each new request
    kept, entry = cache.begin(("port", "ip", 2, 0), b"x" * 16, now=106.5)
    assert not kept and entry.created == 106.5
