"""The NAS side of RADIUS, for the NAS simulator and the tests: build Access-Requests (PAP,
CHAP with or without CHAP-Challenge, MS-CHAPv2) and Accounting-Requests, send, check replies.
"""

from __future__ import annotations

import os
import socket
import struct

from radius_server.protocol import constants as c
from radius_server.protocol import mschap
from radius_server.protocol.attributes import AttributeCodec, iter_vendor_attributes, wrap
from radius_server.protocol.crypto import (
    md5,
    message_authenticator,
    response_authenticator,
    sign_request,
)
from radius_server.protocol.packet import decode

_CODEC: AttributeCodec | None = None


def codec() -> AttributeCodec:
    global _CODEC
    if _CODEC is None:
        _CODEC = AttributeCodec()
    return _CODEC


def encrypt_user_password(password: bytes, secret: bytes, authenticator: bytes) -> bytes:
    """RFC 2865 §5.2: pad to a multiple of 16, XOR each block with MD5(secret + previous)."""
    padded = password + bytes((-len(password)) % 16) if password else bytes(16)
    out, previous = b"", authenticator
    for i in range(0, len(padded), 16):
        block = bytes(a ^ b for a, b in zip(padded[i:i + 16], md5(secret + previous), strict=True))
        out += block
        previous = block
    return out


class Reply:
    """A verified reply; attributes readable by dictionary name."""

    def __init__(self, raw: bytes):
        self.raw = raw
        self.packet = decode(raw)
        self.code = self.packet.code

    @property
    def accepted(self) -> bool:
        return self.code == c.ACCESS_ACCEPT

    def all(self, name: str) -> list:
        definition = codec().definition(name)
        if definition.vendor:
            raws = self.packet.vendor_attributes(definition.vendor, definition.code)
        else:
            raws = self.packet.all(definition.code)
        return [codec().decode(definition, raw) for raw in raws]

    def get(self, name: str, default=None):
        values = self.all(name)
        return values[0] if values else default

    @property
    def first_attribute(self) -> int:
        return self.packet.attributes[0][0]

    def mschap2_success(self) -> bytes | None:
        for attr_type, raw in self.packet.attributes:
            if attr_type == c.VENDOR_SPECIFIC:
                for vendor, sub_type, value in iter_vendor_attributes(raw):
                    if vendor == c.VENDOR_MICROSOFT and sub_type == c.MS_CHAP2_SUCCESS:
                        return value
        return None


def exchange(packet: bytes, address: tuple[str, int], secret: bytes,
             timeout: float = 2.0) -> Reply | None:
    """Send once; the verified reply, or None on timeout or a wrongly signed answer."""
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(packet, address)
        try:
            data, _ = sock.recvfrom(4096)
        except (TimeoutError, ConnectionRefusedError):
            return None
    if len(data) < 20 or response_authenticator(data, packet[4:20], secret) != data[4:20]:
        return None
    return Reply(data)


def _attrs(pairs) -> bytes:
    encode = codec().encode
    return b"".join(encode(name, value) for name, value in pairs if value is not None)


def access_request(secret: bytes, username: str, *, password: str | None = None,
                   chap: str | None = None, chap_challenge: bool = True,
                   mschapv2: str | None = None, nas_ip: str = "127.0.0.1", extra=()) -> bytes:
    """An Access-Request with Message-Authenticator first (Blast-RADIUS hardening)."""
    authenticator = os.urandom(16)
    body = bytes([c.MESSAGE_AUTHENTICATOR, 18]) + bytes(16)
    body += _attrs([("User-Name", username), ("NAS-IP-Address", nas_ip), *extra])
    if password is not None:
        body += wrap(c.USER_PASSWORD, encrypt_user_password(password.encode(), secret,
                                                             authenticator))
    if chap is not None:
        chap_id = os.urandom(1)
        challenge = os.urandom(16) if chap_challenge else authenticator
        body += wrap(c.CHAP_PASSWORD, chap_id + md5(chap_id + chap.encode() + challenge))
        if chap_challenge:
            body += wrap(c.CHAP_CHALLENGE, challenge)
    if mschapv2 is not None:
        auth_challenge, peer_challenge = os.urandom(16), os.urandom(16)
        nt_response = mschap.generate_nt_response(auth_challenge, peer_challenge,
                                                  username.encode(), mschapv2)
        response = b"\x01\x00" + peer_challenge + bytes(8) + nt_response
        body += wrap((c.VENDOR_MICROSOFT, c.MS_CHAP_CHALLENGE), auth_challenge)
        body += wrap((c.VENDOR_MICROSOFT, c.MS_CHAP2_RESPONSE), response)
    packet = bytearray(bytes([c.ACCESS_REQUEST, os.urandom(1)[0]])
                       + struct.pack("!H", 20 + len(body)))
    packet += authenticator + body
    packet[22:38] = message_authenticator(secret, bytes(packet))
    return bytes(packet)


def accounting_request(secret: bytes, status: str, username: str = "", session_id: str = "", *,
                       input_octets: int = 0, output_octets: int = 0, session_time: int = 0,
                       nas_ip: str = "127.0.0.1", extra=()) -> bytes:
    """An Accounting-Request; 64-bit counters are split into octets and Gigawords."""
    pairs = [("Acct-Status-Type", status), ("NAS-IP-Address", nas_ip)]
    if status not in ("Accounting-On", "Accounting-Off"):
        pairs += [("User-Name", username), ("Acct-Session-Id", session_id),
                  ("Acct-Session-Time", session_time),
                  ("Acct-Input-Octets", input_octets & 0xFFFFFFFF),
                  ("Acct-Input-Gigawords", input_octets >> 32),
                  ("Acct-Output-Octets", output_octets & 0xFFFFFFFF),
                  ("Acct-Output-Gigawords", output_octets >> 32)]
    body = _attrs([*pairs, *extra])
    packet = bytearray(bytes([c.ACCOUNTING_REQUEST, os.urandom(1)[0]])
                       + struct.pack("!H", 20 + len(body)))
    packet += bytes(16) + body
    sign_request(packet, secret, -1)
    return bytes(packet)


def mschapv2_radclient_lines(username: str, password: str) -> str:
    """An MS-CHAPv2 Access-Request as radclient input: radclient itself only speaks MS-CHAPv1,
    but the MS-CHAPv2 values do not depend on the Request Authenticator, so they can be
    computed here once and sent by radclient (or radtest's underlying client) as they are."""
    auth_challenge, peer_challenge = os.urandom(16), os.urandom(16)
    nt_response = mschap.generate_nt_response(auth_challenge, peer_challenge,
                                              username.encode(), password)
    response = bytes([1, 0]) + peer_challenge + bytes(8) + nt_response
    # NAS-Port 0, as radtest sends: the same "device", so trying each method in turn is one
    # login repeated, not a second simultaneous session.
    return (f'User-Name = "{username}"\nNAS-IP-Address = 127.0.0.1\nNAS-Port = 0\n'
            f"MS-CHAP-Challenge = 0x{auth_challenge.hex()}\n"
            f"MS-CHAP2-Response = 0x{response.hex()}\nMessage-Authenticator = 0x00\n")


if __name__ == "__main__":  # python -m radius_server.nas_client USER PASSWORD | radclient ...
    import sys

    print(mschapv2_radclient_lines(sys.argv[1], sys.argv[2]), end="")
