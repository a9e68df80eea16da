"""Seeded fuzzing: random and mutated datagrams never break the server.

Half of the mutated packets are re-signed, so they pass the authenticator checks and reach the
attribute decoders and the policy; the policy reads every decoded field.
"""

import hashlib
import hmac
import os
import random
import struct

from radius_server.protocol import AuthDecision, Client

from .conftest import MemoryPolicy
from .helpers import (
    MS,
    SECRET,
    Nas,
    accounting_request,
    attr,
    check_reply,
    int_attr,
    pap_request,
    status_server,
    vsa,
)

ACCESS_FIELDS = ("username", "nas_ip_address", "nas_ipv6_address", "nas_identifier", "nas_port",
                 "nas_port_id", "nas_port_type", "service_type", "calling_station_id",
                 "called_station_id", "framed_ip_address", "state", "pap_password")
ACCOUNTING_FIELDS = ("status", "session_id", "multi_session_id", "unique_session_id",
                     "session_time", "event_time", "input_octets", "output_octets",
                     "input_packets", "output_packets", "terminate_cause", "framed_ipv6_prefix",
                     "delegated_ipv6_prefix", "classes", "nas_ip_address", "username")


class ReadEverything(MemoryPolicy):
    def __init__(self):
        super().__init__()
        self.errors = []

    def _read(self, request, fields):
        try:
            for name in fields:
                getattr(request, name)
            for name in ("Cisco-AVPair", "Mikrotik-Host-IP", "Framed-IPv6-Prefix",
                         "Event-Timestamp", "NAS-Port-Type"):
                request.get_all(name)
        except Exception as exc:  # the test fails on any of these
            self.errors.append(repr(exc))

    def authorize(self, request):
        self._read(request, ACCESS_FIELDS)
        request.verify_password("wonderland")
        return super().authorize(request)

    def account_batch(self, requests):
        for request in requests:
            self._read(request, ACCOUNTING_FIELDS)
        return super().account_batch(requests)


def resign(packet: bytes) -> bytes:
    """Fix Length, MA and (for accounting) the request authenticator after a mutation."""
    data = bytearray(packet[:4096])
    if len(data) < 20:
        return bytes(data)
    data[2:4] = struct.pack("!H", len(data))
    pos, ma = 20, None
    while pos + 2 <= len(data) and data[pos + 1] >= 2:
        if data[pos] == 80 and data[pos + 1] == 18 and pos + 18 <= len(data):
            ma = pos + 2
        pos += data[pos + 1]
    accounting = data[0] == 4
    if ma is not None:
        data[ma : ma + 16] = bytes(16)
        signed = bytes(data[:4]) + bytes(16) + bytes(data[20:]) if accounting else bytes(data)
        data[ma : ma + 16] = hmac.new(SECRET, signed, hashlib.md5).digest()
    if accounting:
        data[4:20] = hashlib.md5(bytes(data[:4]) + bytes(16) + bytes(data[20:]) + SECRET).digest()
    return bytes(data)


def seeds():
    extra = (attr(32, "n") + int_attr(5, 1) + attr(31, b"\xff\xfe") + vsa(9, 1, "a=b")
             + vsa(14988, 10, b"\x01\x02\x03\x04") + attr(97, bytes([0, 64]) + bytes(8)))
    mschap = vsa(MS, 11, os.urandom(16)) + vsa(MS, 25, os.urandom(50))
    acct = (int_attr(40, 3) + attr(44, "s1") + int_attr(42, 1) + int_attr(52, 1) + int_attr(55, 1)
            + attr(123, bytes([0, 56]) + bytes(7)) + attr(25, b"class") + attr(1, "alice"))
    return [
        pap_request("alice", "wonderland", extra=extra),
        pap_request("alice", "x" * 40),
        resign(pap_request("alice", "w")[:20] + attr(1, "alice") + attr(4, b"\x7f\0\0\1")
               + mschap + attr(80, bytes(16))),
        resign(pap_request("a", "w")[:20] + attr(3, os.urandom(17)) + attr(60, os.urandom(16))
               + attr(32, "n") + attr(80, bytes(16))),
        accounting_request(acct),
        accounting_request(acct, message_authenticator=True),
        status_server(),
    ]


def mutate(rng: random.Random, packet: bytes) -> bytes:
    data = bytearray(packet)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(6)
        if choice == 0 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif choice == 1:
            data = data[: rng.randrange(len(data) + 1)]
        elif choice == 2:
            data += rng.randbytes(rng.randrange(1, 40))
        elif choice == 3 and len(data) > 21:
            data[rng.randrange(20, len(data))] = rng.choice([0, 1, 2, 3, 255])
        elif choice == 4:
            data += vsa(rng.choice([9, 311, 14988, 4874]), rng.randrange(256),
                        rng.randbytes(rng.randrange(0, 30)))
        elif choice == 5:
            data += bytes([26, 8]) + struct.pack("!I", 311) + bytes([25, 0])
    return bytes(data)


def answers(reply: bytes, request: bytes) -> bool:
    try:
        check_reply(reply, request)
    except AssertionError:
        return False
    return True


def test_fuzzed_datagrams_never_break_the_server(make_server):
    policy = ReadEverything()
    policy.decision = AuthDecision.accept([("Framed-Pool", "p")])
    server = make_server(policy, clients=[
        Client("127.0.0.1", SECRET, require_message_authenticator="no", limit_proxy_state=False)])
    rng = random.Random(2865)
    auth, acct = Nas(server.auth_address), Nas(server.acct_address)
    try:
        templates = seeds()
        for round_ in range(30):
            for _ in range(100):
                kind = rng.randrange(3)
                if kind == 0:
                    datagram = rng.randbytes(rng.randrange(0, 120))
                    if datagram and rng.random() < 0.5:
                        datagram = bytes([rng.choice([1, 4, 12])]) + datagram[1:]
                else:
                    datagram = mutate(rng, rng.choice(templates))
                    if kind == 2:
                        datagram = resign(datagram)
                (acct if datagram[:1] == b"\x04" else auth).send(datagram)
            probe = pap_request("alice", "wonderland", ident=round_)
            auth.send(probe)
            while (reply := auth.receive()) is not None and not answers(reply, probe):
                pass  # replies to fuzzed requests that happened to be valid
            assert reply is not None, "server stopped answering"
    finally:
        auth.close()
        acct.close()
    drops = server.counters.snapshot()["drops"]
    assert "internal_error" not in drops and "policy_error" not in drops, drops
    assert policy.errors == []
    assert sum(drops.values()) > 500
