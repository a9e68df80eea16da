"""CoA / Disconnect client (RFC 5176) against the NAS emulator, and both against radclient."""

import hashlib
import hmac
import socket
import struct
import threading
import time

import pytest

from radius_server.protocol import CoaClient
from radius_server.protocol.nas_emulator import NasEmulator

from .helpers import RADCLIENT, SECRET, parse_attributes, radclient, radclient_reply

needs_radclient = pytest.mark.skipif(RADCLIENT is None, reason="radclient not installed")
SESSION = {
    "user_name": "alice",
    "acct_session_id": "81000001",
    "framed_ip_address": "100.64.0.3",
}


def client_for(nas: NasEmulator, **kw) -> CoaClient:
    return CoaClient("127.0.0.1", SECRET, port=nas.port, **kw)


def test_disconnect_acked(codec):
    with NasEmulator(SECRET) as nas:
        result = client_for(nas, codec=codec).disconnect(**SESSION)
    assert result.acked and result.code == 41 and result.attempts == 1
    assert result.error_cause is None
    [request] = nas.received
    assert request.code == 40
    types = [t for t, _ in request.attributes]
    assert types[0] == 80
    assert sorted(types) == [1, 4, 8, 44, 55, 80]
    assert request.first[4] == socket.inet_aton("127.0.0.1")
    assert abs(struct.unpack("!I", request.first[55])[0] - time.time()) < 5


def test_request_authenticator_and_ma_are_computed_over_zeros(codec):
    with NasEmulator(SECRET) as nas:
        client_for(nas, codec=codec).disconnect(**SESSION)
    data = nas.received[0].data
    assert hashlib.md5(data[:4] + bytes(16) + data[20:] + SECRET).digest() == data[4:20]
    zeroed = data[:4] + bytes(16) + data[20:22] + bytes(16) + data[38:]
    assert hmac.new(SECRET, zeroed, hashlib.md5).digest() == data[22:38]


def test_coa_nak_with_error_cause(codec):
    with NasEmulator(SECRET, nak_error_cause=503) as nas:
        result = client_for(nas, codec=codec).change(
            [("Mikrotik-Rate-Limit", "5M/5M"), ("Session-Timeout", 3600)], **SESSION)
    assert not result.acked and result.code == 45
    assert (result.error_cause, result.error_cause_name) == (503, "Session-Context-Not-Found")
    request = nas.received[0]
    assert request.code == 43
    assert request.vendor_attributes(14988, 8) == [b"5M/5M"]


@pytest.mark.parametrize(("cause", "name"), [(401, "Unsupported-Attribute"),
                                             (404, "Invalid-Request"),
                                             (406, "Unsupported-Extension")])
def test_disconnect_nak_error_causes(codec, cause, name):
    with NasEmulator(SECRET, nak_error_cause=cause) as nas:
        result = client_for(nas, codec=codec).disconnect(**SESSION)
    assert result.code == 42 and result.error_cause_name == name


def test_retransmits_the_same_packet_until_answered(codec):
    with NasEmulator(SECRET, ignore_first=2) as nas:
        result = client_for(nas, codec=codec, timeout=0.2, attempts=4).disconnect(**SESSION)
    assert result.acked and result.attempts == 3
    assert len({p.data for p in nas.received}) == 1 and len(nas.received) == 3


def test_gives_up_when_nobody_answers(codec):
    with NasEmulator(SECRET, ignore_first=10) as nas:
        result = client_for(nas, codec=codec, timeout=0.1, attempts=2).disconnect(**SESSION)
    assert result.timed_out and not result.acked and len(nas.received) == 2


def test_answer_signed_with_another_secret_is_ignored(codec):
    with NasEmulator(b"not-our-secret") as nas:
        result = client_for(nas, codec=codec, timeout=0.1, attempts=1).disconnect(**SESSION)
    assert result.timed_out
    assert nas.invalid == ["bad_request_authenticator"]


def answer_with(make_reply) -> tuple[socket.socket, int]:
    """A fake NAS that answers the first request with ``make_reply(request)``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))

    def serve():
        data, source = sock.recvfrom(4096)
        sock.sendto(make_reply(data), source)

    threading.Thread(target=serve, daemon=True).start()
    return sock, sock.getsockname()[1]


def signed(request: bytes, attributes: bytes = b"", code: int = 41) -> bytes:
    head = bytes([code, request[1]]) + struct.pack("!H", 20 + len(attributes))
    return head + hashlib.md5(head + request[4:20] + attributes + SECRET).digest() + attributes


def forged_ma(request: bytes) -> bytes:
    return signed(request, b"\x50\x12" + bytes(16))


def bad_authenticator(request: bytes) -> bytes:
    reply = bytearray(signed(request))
    reply[5] ^= 1
    return bytes(reply)


@pytest.mark.parametrize(
    ("make_reply", "require_ma", "accepted"),
    [(signed, False, True), (signed, True, False), (forged_ma, False, False),
     (bad_authenticator, False, False)],
    ids=["plain", "ma-required", "forged-ma", "bad-authenticator"],
)
def test_answers_are_verified(codec, make_reply, require_ma, accepted):
    sock, port = answer_with(make_reply)
    client = CoaClient("127.0.0.1", SECRET, port=port, timeout=0.3, attempts=1,
                       require_message_authenticator=require_ma, codec=codec)
    try:
        result = client.disconnect(**SESSION)
    finally:
        sock.close()
    assert result.acked is accepted and result.timed_out is not accepted


def test_authorize_only_coa_requires_state(codec):
    client = CoaClient("127.0.0.1", SECRET, codec=codec)
    with pytest.raises(ValueError, match="State"):
        client.build(43, [("Service-Type", "Authorize-Only")], **SESSION)
    packet = client.build(43, [("Service-Type", "Authorize-Only"), ("State", b"s")], **SESSION)
    assert (24, b"s") in parse_attributes(packet)


@needs_radclient
def test_radclient_disconnect_against_the_emulator():
    with NasEmulator(SECRET, nak_error_cause=503) as nas:
        out = radclient(("127.0.0.1", nas.port), "disconnect",
                        'User-Name = "alice"\nAcct-Session-Id = "1"\n'
                        "Message-Authenticator = 0x00\n").stdout
    code, pairs = radclient_reply(out)
    assert code == "Disconnect-NAK", out
    assert ("Error-Cause", "Session-Context-Not-Found") in pairs
    assert nas.invalid == []
