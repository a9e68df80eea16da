"""A minimal RFC 5997 Status-Server client: is the RADIUS server up and answering?

Built by hand on the standard library (about forty lines) rather than pyrad, whose client
does not sign Status-Server with a Message-Authenticator and loads dictionary files first.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import struct

STATUS_SERVER = 12
ACCESS_ACCEPT = 2
ACCOUNTING_RESPONSE = 5
MESSAGE_AUTHENTICATOR = 80
_HEADER = struct.Struct("!BBH16s")


class StatusServerError(Exception):
    """The server did not answer, or answered something that fails verification."""


def build_request(secret: bytes, identifier: int, authenticator: bytes) -> bytes:
    """Status-Server with only a Message-Authenticator, as RFC 5997 §3 requires."""
    attribute = bytes([MESSAGE_AUTHENTICATOR, 18]) + bytes(16)
    packet = _HEADER.pack(STATUS_SERVER, identifier, 20 + len(attribute), authenticator) + attribute
    signature = hmac.new(secret, packet, hashlib.md5).digest()
    return packet[:-16] + signature


def verify_reply(reply: bytes, request: bytes, secret: bytes) -> int:
    """The reply's code once its identifier, Response Authenticator and MA check out."""
    if len(reply) < 20:
        raise StatusServerError("short reply")
    code, identifier, length, authenticator = _HEADER.unpack_from(reply)
    if identifier != request[1] or length > len(reply) or length < 20:
        raise StatusServerError("reply does not match the request")
    reply = reply[:length]
    request_authenticator = request[4:20]
    expected = hashlib.md5(  # the RADIUS wire format mandates MD5
        reply[:4] + request_authenticator + reply[20:] + secret, usedforsecurity=False
    ).digest()
    if not hmac.compare_digest(expected, authenticator):
        raise StatusServerError("bad response authenticator (wrong shared secret?)")
    offset = 20
    while offset + 2 <= length:
        kind, size = reply[offset], reply[offset + 1]
        if size < 2:
            raise StatusServerError("malformed attribute")
        if kind == MESSAGE_AUTHENTICATOR and size == 18:
            zeroed = reply[:4] + request_authenticator + reply[20 : offset + 2] + bytes(16)
            zeroed += reply[offset + 18 :]
            signature = hmac.new(secret, zeroed, hashlib.md5).digest()
            if not hmac.compare_digest(signature, reply[offset + 2 : offset + 18]):
                raise StatusServerError("bad Message-Authenticator")
        offset += size
    return code


def status_server(host: str, port: int, secret: bytes, timeout: float = 1.0) -> int:
    """Send one Status-Server and return the verified reply code (2 on the auth port)."""
    request = build_request(secret, os.urandom(1)[0], os.urandom(16))
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect((host, port))
            sock.send(request)
            while True:
                reply = sock.recv(4096)
                if len(reply) >= 2 and reply[1] == request[1]:
                    return verify_reply(reply, request, secret)
        except TimeoutError as exc:
            raise StatusServerError(f"no answer within {timeout:g} s") from exc
        except OSError as exc:  # ICMP port unreachable surfaces as ConnectionRefusedError
            raise StatusServerError(str(exc) or type(exc).__name__) from exc


def parse_address(text: str, default_port: int = 1812) -> tuple[str, int]:
    """`host:port`, `[v6]:port` or a bare host into (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest.lstrip(":") or default_port)
    if text.count(":") == 1:
        host, port = text.split(":")
        return host or "127.0.0.1", int(port)
    return text or "127.0.0.1", default_port
