"""Clients and Message-Authenticator rules (RFC 2865 §3, RFC 2869 §5.14, Blast-RADIUS)."""

import os

import pytest

from radius_server.protocol import Client, ClientTable

from .helpers import (
    SECRET,
    Nas,
    access_request,
    attr,
    check_reply,
    hide_password,
    pap_request,
    wait_for,
)


def unsigned_pap(password="wonderland", extra=b""):
    authenticator = os.urandom(16)
    attributes = attr(1, "alice") + attr(2, hide_password(password.encode(), SECRET,
                                                          authenticator))
    attributes += attr(32, "nas-1") + extra
    return access_request(attributes, authenticator=authenticator, message_authenticator=False)


def dropped(server, reason, count=1):
    return wait_for(lambda: server.counters.drops.get(reason) == count)


def test_unknown_client_is_dropped_silently(make_server, policy):
    server = make_server(policy, clients=[Client("192.0.2.10", SECRET)])
    nas = Nas(server.auth_address)
    try:
        assert nas.exchange(pap_request("alice", "wonderland"), timeout=0.1) is None
        assert dropped(server, "unknown_client")
        assert policy.authorized == []
    finally:
        nas.close()


def test_client_by_subnet_and_most_specific_wins():
    table = ClientTable([
        Client("10.0.0.0/8", b"wide"),
        Client("10.1.0.0/16", b"narrow"),
        Client("10.1.2.3", b"exact"),
        Client("2001:db8::/32", b"v6"),
    ])
    assert table.lookup("10.1.2.3").secret == b"exact"
    assert table.lookup("10.1.9.9").secret == b"narrow"
    assert table.lookup("10.200.0.1").secret == b"wide"
    assert table.lookup("2001:db8::1").secret == b"v6"
    assert table.lookup("192.0.2.1") is None
    assert table.lookup("not-an-ip") is None


def test_secret_is_chosen_by_source_ip_not_nas_ip_address(make_server, policy):
    server = make_server(policy, clients=[Client("127.0.0.0/8", SECRET),
                                          Client("192.0.2.1", b"other-secret")])
    nas = Nas(server.auth_address)
    try:
        request = pap_request("alice", "wonderland", extra=attr(4, bytes([192, 0, 2, 1])))
        assert check_reply(nas.exchange(request), request)[0] == 2
    finally:
        nas.close()


def test_wrong_message_authenticator_is_dropped(server, nas, policy):
    request = bytearray(pap_request("alice", "wonderland"))
    request[-1] ^= 0x01
    assert nas.exchange(bytes(request), timeout=0.1) is None
    assert dropped(server, "bad_message_authenticator")
    assert policy.authorized == []


def test_request_signed_with_another_secret_is_dropped(server, nas):
    assert nas.exchange(pap_request("alice", "wonderland", secret=b"guess"), timeout=0.1) is None
    assert dropped(server, "bad_message_authenticator")


def test_missing_message_authenticator_is_dropped_by_default(server, nas, policy):
    assert nas.exchange(unsigned_pap(), timeout=0.1) is None
    assert dropped(server, "missing_message_authenticator")
    assert policy.authorized == []


def test_require_no_accepts_unsigned_requests_but_limits_proxy_state(make_server, policy):
    server = make_server(policy, clients=[
        Client("127.0.0.1", SECRET, require_message_authenticator="no")])
    nas = Nas(server.auth_address)
    try:
        request = unsigned_pap()
        code, attributes = check_reply(nas.exchange(request), request)
        assert code == 2 and attributes[0][0] == 80
        assert nas.exchange(unsigned_pap(extra=attr(33, b"p")), timeout=0.1) is None
        assert dropped(server, "proxy_state_without_message_authenticator")
    finally:
        nas.close()


def test_require_no_without_proxy_state_limit(make_server, policy):
    server = make_server(policy, clients=[
        Client("127.0.0.1", SECRET, require_message_authenticator="no",
               limit_proxy_state=False)])
    nas = Nas(server.auth_address)
    try:
        request = unsigned_pap(extra=attr(33, b"p"))
        assert check_reply(nas.exchange(request), request)[0] == 2
    finally:
        nas.close()


def test_require_auto_starts_lenient_and_locks_in_after_first_ma(make_server, policy):
    server = make_server(policy, clients=[
        Client("127.0.0.1", SECRET, require_message_authenticator="auto")])
    nas = Nas(server.auth_address)
    try:
        request = unsigned_pap()
        assert check_reply(nas.exchange(request), request)[0] == 2
        request = pap_request("alice", "wonderland")
        assert check_reply(nas.exchange(request), request)[0] == 2
        assert nas.exchange(unsigned_pap(), timeout=0.1) is None
        assert dropped(server, "missing_message_authenticator")
    finally:
        nas.close()


def test_eap_without_message_authenticator_is_dropped(make_server, policy):
    server = make_server(policy, clients=[
        Client("127.0.0.1", SECRET, require_message_authenticator="no")])
    nas = Nas(server.auth_address)
    try:
        request = access_request(attr(1, "a") + attr(32, "n") + attr(79, b"\x02\x01\x00\x05\x01"),
                                 message_authenticator=False)
        assert nas.exchange(request, timeout=0.1) is None
        assert dropped(server, "eap_without_message_authenticator")
    finally:
        nas.close()


@pytest.mark.parametrize("second", [attr(3, bytes(17)), attr(79, b"\x02\x01\x00\x05\x01")])
def test_conflicting_credentials_are_dropped(server, nas, second):
    authenticator = os.urandom(16)
    attributes = attr(1, "alice") + attr(2, hide_password(b"wonderland", SECRET, authenticator))
    attributes += attr(32, "nas-1") + second
    request = access_request(attributes, authenticator=authenticator)
    assert nas.exchange(request, timeout=0.1) is None
    assert dropped(server, "conflicting_credentials")


def test_chap_with_eap_is_dropped(server, nas):
    request = access_request(attr(1, "a") + attr(32, "n") + attr(3, bytes(17))
                             + attr(79, b"\x02\x01\x00\x05\x01"))
    assert nas.exchange(request, timeout=0.1) is None
    assert dropped(server, "conflicting_credentials")
