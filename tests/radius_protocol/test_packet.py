"""Malformed datagrams (RFC 2865 §3, FreeRADIUS errors.txt style) are dropped and counted."""

import os
import struct

import pytest

from radius_server.protocol.packet import decode

from .helpers import Nas, attr, check_reply, pap_request, wait_for


def raw(code: int, attributes: bytes, length: int | None = None, ident: int = 1) -> bytes:
    length = 20 + len(attributes) if length is None else length
    return struct.pack("!BBH", code, ident, length) + os.urandom(16) + attributes


MALFORMED = [
    ("short_datagram", b"\x01\x01\x00\x14" + bytes(10)),
    ("unknown_code", raw(0, b"")),
    ("unknown_code", raw(99, b"")),
    ("unknown_code", raw(255, b"")),
    ("bad_length", raw(1, b"", length=19)),
    ("truncated", raw(1, attr(1, "bob"), length=40)),
    ("oversized", raw(1, bytes([18, 255]) + bytes(253), length=4097)),
    ("attribute_overflow", raw(1, bytes([1, 4, 0]))),
    ("attribute_length_too_short", raw(1, bytes([1, 1, 0]))),
    ("attribute_length_too_short", raw(1, bytes([1, 0]) + attr(1, "bob"))),
    ("attribute_type_zero", raw(1, bytes([0, 3, 65]))),
    ("attribute_header_overflow", raw(1, attr(1, "bob") + b"\x01")),
    ("message_authenticator_length", raw(1, attr(80, bytes(15)))),
    ("multiple_message_authenticators", raw(1, attr(80, bytes(16)) + attr(80, bytes(16)))),
    ("too_many_attributes", raw(1, attr(18, "x") * 201)),
]


@pytest.mark.parametrize(("reason", "datagram"), MALFORMED)
def test_decoder_names_the_reason(reason, datagram):
    assert decode(datagram) == reason


@pytest.mark.parametrize(("reason", "datagram"), MALFORMED)
def test_server_drops_and_counts_malformed_datagrams(server, nas, reason, datagram):
    assert nas.exchange(datagram, timeout=0.05) is None
    assert wait_for(lambda: server.counters.drops.get(reason) == 1)
    assert nas.exchange(pap_request("alice", "wonderland")) is not None


def test_octets_beyond_length_are_padding(server, nas):
    request = pap_request("alice", "wonderland")
    reply = nas.exchange(request + b"\x00garbage-after-length")
    assert check_reply(reply, request)[0] == 2


def test_datagram_longer_than_4096_octets_is_survived(server, nas):
    request = pap_request("alice", "wonderland")
    reply = nas.exchange(request + bytes(6000))
    assert check_reply(reply, request)[0] == 2


def test_unknown_attributes_are_carried_not_rejected(server, nas):
    request = pap_request("alice", "wonderland", extra=attr(245, b"\x01\x02") + attr(190, b""))
    assert check_reply(nas.exchange(request), request)[0] == 2


def test_wrong_code_for_port_is_dropped(server, policy):
    accounting_port = Nas(server.acct_address)
    auth_port = Nas(server.auth_address)
    try:
        assert accounting_port.exchange(pap_request("alice", "wonderland"), timeout=0.05) is None
        assert auth_port.exchange(raw(4, attr(40, bytes(4))), timeout=0.05) is None
        assert auth_port.exchange(raw(43, b""), timeout=0.05) is None
        assert wait_for(lambda: server.counters.drops.get("wrong_code_for_port") == 3)
        assert policy.authorized == []
    finally:
        accounting_port.close()
        auth_port.close()


def test_malformed_vendor_attributes_do_not_break_a_request(server, nas, policy):
    broken = attr(26, struct.pack("!I", 311) + bytes([25, 0]))  # sub-attribute length 0
    overflowing = attr(26, struct.pack("!I", 9) + bytes([1, 40]) + b"short")
    request = pap_request("alice", "wonderland", extra=broken + overflowing)
    assert check_reply(nas.exchange(request), request)[0] == 2
    assert policy.authorized[0].get_all("Cisco-AVPair") == []
