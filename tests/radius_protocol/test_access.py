"""Access-Request handling: PAP, CHAP, MS-CHAPv2, reply shape, Proxy-State, reject stripping."""

import hashlib
import os
import struct

import pytest

from radius_server.protocol import AuthDecision, AuthMethod, mschap

from .helpers import (
    MS,
    RADCLIENT,
    SECRET,
    access_request,
    attr,
    check_reply,
    int_attr,
    pap_request,
    parse_attributes,
    radclient,
    radclient_reply,
    unhide_salted,
    vendor_values,
    vsa,
    wait_for,
)

needs_radclient = pytest.mark.skipif(RADCLIENT is None, reason="radclient not installed")
NAS = 'NAS-IP-Address = 127.0.0.1\nMessage-Authenticator = 0x00\n'


def assert_ma_first(attributes):
    assert attributes[0][0] in (80, "Message-Authenticator"), attributes


@needs_radclient
def test_pap_accept_with_reply_attributes_and_ma_first(server, policy):
    out = radclient(server.auth_address, "auth",
                    f'User-Name = "alice"\nUser-Password = "wonderland"\n{NAS}').stdout
    code, pairs = radclient_reply(out)
    assert code == "Access-Accept", out
    assert_ma_first(pairs)
    assert ("Mikrotik-Rate-Limit", '"10M/10M"') in pairs
    assert ("Framed-Pool", '"pool1"') in pairs
    assert policy.authorized[0].auth_method is AuthMethod.PAP
    assert policy.authorized[0].nas_ip_address == "127.0.0.1"


@needs_radclient
def test_pap_wrong_password_is_rejected_with_reply_message_only(server, policy):
    out = radclient(server.auth_address, "auth",
                    f'User-Name = "alice"\nUser-Password = "nope"\n{NAS}').stdout
    code, pairs = radclient_reply(out)
    assert code == "Access-Reject", out
    assert [name for name, _ in pairs] == ["Message-Authenticator", "Reply-Message"]
    assert wait_for(lambda: server.counters.rejects["wrong_password"] == 1)


@needs_radclient
@pytest.mark.parametrize("length", [17, 31, 32, 33, 64, 127, 128])
def test_pap_long_passwords(server, policy, length):
    password = "".join(chr(33 + (i * 11) % 90) for i in range(length)).replace('"', "q")
    password = password.replace("\\", "b")
    policy.users["long"] = password
    out = radclient(server.auth_address, "auth",
                    f'User-Name = "long"\nUser-Password = "{password}"\n{NAS}').stdout
    assert radclient_reply(out)[0] == "Access-Accept", out


@needs_radclient
@pytest.mark.parametrize("with_challenge", [True, False])
def test_chap_with_and_without_chap_challenge(server, policy, with_challenge):
    challenge = "CHAP-Challenge = 0x00112233445566778899aabbccddeeff\n" if with_challenge else ""
    for password, expected in (("wonderland", "Access-Accept"), ("other", "Access-Reject")):
        body = f'User-Name = "alice"\nCHAP-Password = "{password}"\n{challenge}{NAS}'
        out = radclient(server.auth_address, "auth", body).stdout
        code, pairs = radclient_reply(out)
        assert code == expected, out
        assert_ma_first(pairs)
    assert policy.authorized[0].auth_method is AuthMethod.CHAP


def chap_request(password: bytes, challenge: bytes | None):
    authenticator = os.urandom(16)
    response = hashlib.md5(b"\x2a" + password + (challenge or authenticator)).digest()
    attributes = attr(1, "alice") + attr(3, b"\x2a" + response) + int_attr(5, 1)
    attributes += attr(32, "nas-1")
    if challenge is not None:
        attributes += attr(60, challenge)
    return access_request(attributes, authenticator=authenticator)


@pytest.mark.parametrize("challenge", [None, os.urandom(16), os.urandom(8)])
def test_chap_hand_built(server, nas, challenge):
    request = chap_request(b"wonderland", challenge)
    assert check_reply(nas.exchange(request), request)[0] == 2
    request = chap_request(b"wrong", challenge)
    assert check_reply(nas.exchange(request), request)[0] == 3


def mschapv2_request(username: bytes, password: str, *, ident: int = 0x2b):
    auth_challenge, peer_challenge = os.urandom(16), os.urandom(16)
    nt_response = mschap.generate_nt_response(auth_challenge, peer_challenge, username, password)
    response = bytes([ident, 0]) + peer_challenge + bytes(8) + nt_response
    attributes = attr(1, username) + attr(4, b"\x7f\x00\x00\x01")
    attributes += vsa(MS, 11, auth_challenge) + vsa(MS, 25, response)
    return access_request(attributes), auth_challenge, peer_challenge, nt_response


def test_mschapv2_accept_carries_success_and_mppe_keys(server, nas, policy):
    policy.users["CORP\\bob"] = "clientPass"
    request, auth_challenge, peer_challenge, nt_response = mschapv2_request(
        b"CORP\\bob", "clientPass")
    code, attributes = check_reply(nas.exchange(request), request)
    assert code == 2
    assert_ma_first(attributes)
    password_hash = mschap.nt_password_hash("clientPass")
    expected = mschap.authenticator_response(password_hash, nt_response, peer_challenge,
                                             auth_challenge, b"bob")
    assert vendor_values(attributes, MS, 26) == [b"\x2b" + expected]
    send_key, recv_key = mschap.mppe_keys(password_hash, nt_response)
    [send_hidden] = vendor_values(attributes, MS, 16)
    [recv_hidden] = vendor_values(attributes, MS, 17)
    assert send_hidden[0] & 0x80 and recv_hidden[0] & 0x80 and send_hidden[:2] != recv_hidden[:2]
    assert unhide_salted(send_hidden, SECRET, request[4:20]) == send_key
    assert unhide_salted(recv_hidden, SECRET, request[4:20]) == recv_key
    assert vendor_values(attributes, MS, 7) == [struct.pack("!I", 1)]
    assert vendor_values(attributes, MS, 8) == [struct.pack("!I", 6)]
    assert policy.authorized[0].auth_method is AuthMethod.MSCHAPV2


def test_mschapv2_failure_returns_ms_chap_error(server, nas, policy):
    policy.users["bob"] = "clientPass"
    request, auth_challenge, _, _ = mschapv2_request(b"bob", "wrong", ident=9)
    code, attributes = check_reply(nas.exchange(request), request)
    assert code == 3
    [error] = vendor_values(attributes, MS, 2)
    assert error.startswith(b"\x09E=691 R=0 C=" + auth_challenge.hex().upper().encode())
    assert not vendor_values(attributes, MS, 26)


def test_mschapv2_accept_without_verification_becomes_reject(server, nas, policy):
    policy.decision = AuthDecision.accept([("Framed-Pool", "x")])
    policy.users = {}
    request, *_ = mschapv2_request(b"bob", "whatever")
    assert check_reply(nas.exchange(request), request)[0] == 3
    assert policy.engine_rejections == ["mschapv2_not_verified"]


@needs_radclient
def test_mschapv2_through_radclient(server, policy):
    """radclient sends the MS-CHAP attributes as given and checks our reply's signatures."""
    policy.users["bob"] = "clientPass"
    auth_challenge = bytes.fromhex("5B5D7C7D7B3F2F3E3C2C602132262628")
    peer_challenge = bytes.fromhex("21402324255E262A28295F2B3A337C7E")
    nt_response = mschap.generate_nt_response(auth_challenge, peer_challenge, b"bob",
                                              "clientPass")
    response = bytes([1, 0]) + peer_challenge + bytes(8) + nt_response
    out = radclient(server.auth_address, "auth",
                    f'User-Name = "bob"\nMS-CHAP-Challenge = 0x{auth_challenge.hex()}\n'
                    f"MS-CHAP2-Response = 0x{response.hex()}\n{NAS}").stdout
    code, pairs = radclient_reply(out)
    assert code == "Access-Accept", out
    assert_ma_first(pairs)
    names = [name for name, _ in pairs]
    assert {"MS-CHAP2-Success", "MS-MPPE-Send-Key", "MS-MPPE-Recv-Key"} <= set(names)


@needs_radclient
def test_proxy_state_echoed_in_order(server):
    proxy = 'Proxy-State = 0x01\nProxy-State = 0x0203\nProxy-State = 0xff\n'
    for password, expected in (("wonderland", "Access-Accept"), ("x", "Access-Reject")):
        out = radclient(server.auth_address, "auth",
                        f'User-Name = "alice"\nUser-Password = "{password}"\n{proxy}{NAS}').stdout
        code, pairs = radclient_reply(out)
        assert code == expected
        assert [v for n, v in pairs if n == "Proxy-State"] == ["0x01", "0x0203", "0xff"]


def test_proxy_state_interleaved_keeps_order_and_is_not_invented(server, nas):
    extra = attr(33, b"first") + attr(18, b"x") + attr(33, b"second")
    request = pap_request("alice", "wonderland", extra=extra)
    _, attributes = check_reply(nas.exchange(request), request)
    assert [v for t, v in attributes if t == 33] == [b"first", b"second"]
    request = pap_request("alice", "wonderland")
    _, attributes = check_reply(nas.exchange(request), request)
    assert not [v for t, v in attributes if t == 33]


def test_reject_is_stripped_to_allowed_attributes(server, nas, policy):
    policy.decision = AuthDecision(
        False,
        [("Framed-Pool", "p"), ("Reply-Message", "one"), ("Session-Timeout", 60),
         ("Cisco-AVPair", "ip:x=y")],
        reason="suspended",
        reply_message="Account suspended",
    )
    request = pap_request("alice", "wonderland", extra=attr(33, b"ps"))
    code, attributes = check_reply(nas.exchange(request), request)
    assert code == 3
    assert [t for t, _ in attributes] == [80, 18, 18, 33]
    assert wait_for(lambda: server.counters.rejects["suspended"] == 1)


def test_repeated_reply_attributes_keep_their_order(server, nas, policy):
    policy.replies["alice"] = [
        ("Cisco-AVPair", "ip:sub-qos-policy-in=in10M"),
        ("Framed-Pool", "pool1"),
        ("Cisco-AVPair", "ip:sub-qos-policy-out=out10M"),
        ("Cisco-AVPair", "subscriber:accounting-list=default"),
        ("ERX-Service-Activate:1", "svc(1000000,1000000)"),
        ("Huawei-Input-Average-Rate", 10_000_000),
    ]
    request = pap_request("alice", "wonderland")
    code, attributes = check_reply(nas.exchange(request), request)
    assert code == 2
    assert vendor_values(attributes, 9, 1) == [
        b"ip:sub-qos-policy-in=in10M",
        b"ip:sub-qos-policy-out=out10M",
        b"subscriber:accounting-list=default",
    ]
    assert vendor_values(attributes, 4874, 65) == [b"\x01svc(1000000,1000000)"]
    assert vendor_values(attributes, 2011, 2) == [struct.pack("!I", 10_000_000)]


def test_acct_interim_interval_is_at_least_60(server, nas, policy):
    policy.replies["alice"] = [("Acct-Interim-Interval", 5), ("Session-Timeout", 3600)]
    request = pap_request("alice", "wonderland")
    _, attributes = check_reply(nas.exchange(request), request)
    assert (85, struct.pack("!I", 60)) in attributes


def test_response_identifier_and_authenticator(server, nas):
    request = pap_request("alice", "wonderland", ident=201)
    reply = nas.exchange(request)
    assert reply[1] == 201
    check_reply(reply, request)


@pytest.mark.parametrize(
    ("attributes", "reason"),
    [
        (attr(1, "alice") + attr(24, b"state-only-no-nas"), "missing_nas_identification"),
        (attr(1, "alice") + attr(4, b"\x7f\x00\x00\x01"), "no_credentials"),
        (attr(1, "alice") + attr(32, "n") + attr(2, bytes(15)), "malformed_user_password"),
        (attr(1, "alice") + attr(32, "n") + attr(2, bytes(144)), "malformed_user_password"),
        (attr(1, "alice") + attr(32, "n") + attr(79, b"\x02\x01\x00\x05\x01"),
         "eap_not_supported"),
        (attr(1, "alice") + attr(32, "n") + vsa(MS, 1, bytes(50)) + vsa(MS, 11, bytes(8)),
         "mschapv1_not_supported"),
        (attr(1, "alice") + attr(32, "n") + vsa(MS, 25, bytes(49)) + vsa(MS, 11, bytes(16)),
         "malformed_mschapv2"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_engine_rejects_requests_it_cannot_authenticate(server, nas, policy, attributes, reason):
    request = access_request(attributes)
    code, reply_attributes = check_reply(nas.exchange(request), request)
    assert code == 3
    assert_ma_first(reply_attributes)
    assert policy.engine_rejections == [reason]
    assert policy.authorized == []


def test_state_only_request_reaches_the_policy(server, nas, policy):
    request = access_request(attr(1, "alice") + attr(32, "n") + attr(24, b"round-2"))
    assert check_reply(nas.exchange(request), request)[0] == 3
    assert policy.authorized[0].auth_method is AuthMethod.STATE
    assert policy.authorized[0].state == b"round-2"


def test_request_fields_for_the_policy(server, nas, policy):
    extra = (attr(32, "bng-1") + int_attr(5, 7) + int_attr(61, 15) + attr(31, "02-00-00-00-00-01")
             + attr(30, "pppoe-svc") + int_attr(6, 2) + attr(87, "eth0.100")
             + vsa(14988, 10, b"\x0a\x00\x00\x05") + vsa(9, 1, "a=b") + vsa(9, 1, "c=d"))
    request = pap_request("alice", "wonderland", extra=extra)
    check_reply(nas.exchange(request), request)
    seen = policy.authorized[0]
    assert (seen.username, seen.nas_identifier, seen.nas_port) == ("alice", "bng-1", 7)
    assert (seen.nas_port_type, seen.service_type, seen.nas_port_id) == (15, 2, "eth0.100")
    assert seen.calling_station_id == "02-00-00-00-00-01"
    assert seen.called_station_id == "pppoe-svc"
    assert seen.get("Mikrotik-Host-IP") == "10.0.0.5"
    assert seen.get_all("Cisco-AVPair") == ["a=b", "c=d"]
    assert seen.pap_password == b"wonderland"
    assert parse_attributes(request)[0] == (1, b"alice")
