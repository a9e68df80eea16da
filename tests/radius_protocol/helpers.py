"""NAS-side packet building and checking, written independently of the engine's crypto code.

Tests sign requests and check replies with hashlib/hmac directly, so a bug shared by the
engine's encoder and decoder cannot hide itself.
"""

import hashlib
import hmac
import os
import re
import shutil
import socket
import struct
import subprocess
import time

SECRET = b"testing123"
MS = 311

RADCLIENT = shutil.which("radclient")


def attr(attr_type: int, value: bytes | str) -> bytes:
    value = value.encode() if isinstance(value, str) else value
    return bytes([attr_type, len(value) + 2]) + value


def int_attr(attr_type: int, number: int) -> bytes:
    return attr(attr_type, struct.pack("!I", number))


def vsa(vendor: int, vendor_type: int, value: bytes | str) -> bytes:
    value = value.encode() if isinstance(value, str) else value
    sub = bytes([vendor_type, len(value) + 2]) + value
    return attr(26, struct.pack("!I", vendor) + sub)


def hide_password(password: bytes, secret: bytes, authenticator: bytes) -> bytes:
    """RFC 2865 §5.2 User-Password hiding, as a NAS does it."""
    padded = password + b"\x00" * ((16 - len(password) % 16) % 16 if password else 16)
    out, previous = b"", authenticator
    for i in range(0, len(padded), 16):
        key = hashlib.md5(secret + previous).digest()
        block = bytes(a ^ b for a, b in zip(padded[i : i + 16], key, strict=True))
        out += block
        previous = block
    return out


def unhide_salted(value: bytes, secret: bytes, authenticator: bytes) -> bytes:
    """RFC 2548 §2.4.2 from the NAS side: undo the salt hiding of an MS-MPPE key."""
    salt, cipher = value[:2], value[2:]
    plain, previous = b"", authenticator + salt
    for i in range(0, len(cipher), 16):
        key = hashlib.md5(secret + previous).digest()
        plain += bytes(a ^ b for a, b in zip(cipher[i : i + 16], key, strict=True))
        previous = cipher[i : i + 16]
    return plain[1 : 1 + plain[0]]


def packet(code: int, ident: int, authenticator: bytes, attributes: bytes) -> bytes:
    return struct.pack("!BBH", code, ident, 20 + len(attributes)) + authenticator + attributes


def _with_ma(raw: bytes, secret: bytes, hmac_authenticator: bytes | None = None) -> bytes:
    """Append a Message-Authenticator and fill it in (HMAC over the zeroed packet)."""
    raw = bytearray(raw[:2] + struct.pack("!H", len(raw) + 18) + raw[4:] + b"\x50\x12" + bytes(16))
    signed = bytes(raw) if hmac_authenticator is None else (
        bytes(raw[:4]) + hmac_authenticator + bytes(raw[20:])
    )
    raw[-16:] = hmac.new(secret, signed, hashlib.md5).digest()
    return bytes(raw)


def access_request(
    attributes: bytes,
    *,
    secret: bytes = SECRET,
    ident: int = 1,
    authenticator: bytes | None = None,
    message_authenticator: bool = True,
) -> bytes:
    authenticator = authenticator or os.urandom(16)
    raw = packet(1, ident, authenticator, attributes)
    return _with_ma(raw, secret) if message_authenticator else raw


def pap_request(
    username: str, password: str | bytes, *, secret: bytes = SECRET, extra: bytes = b"", **kw
) -> bytes:
    authenticator = kw.pop("authenticator", None) or os.urandom(16)
    password = password.encode() if isinstance(password, str) else password
    attributes = (
        attr(1, username)
        + attr(2, hide_password(password, secret, authenticator))
        + attr(4, socket.inet_aton("127.0.0.1"))
        + extra
    )
    return access_request(attributes, secret=secret, authenticator=authenticator, **kw)


def accounting_request(
    attributes: bytes, *, secret: bytes = SECRET, ident: int = 1, message_authenticator=False
) -> bytes:
    """Request authenticator = MD5(header + 16 zeros + attributes + secret) (RFC 2866 §3)."""
    raw = packet(4, ident, bytes(16), attributes)
    if message_authenticator:
        raw = _with_ma(raw, secret)
    digest = hashlib.md5(raw + secret).digest()
    return raw[:4] + digest + raw[20:]


def status_server(
    *, secret: bytes = SECRET, ident: int = 7, attributes: bytes = b"", with_ma: bool = True
) -> bytes:
    raw = packet(12, ident, os.urandom(16), attributes)
    return _with_ma(raw, secret) if with_ma else raw


def parse_attributes(raw: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 20
    while pos < len(raw):
        length = raw[pos + 1]
        out.append((raw[pos], raw[pos + 2 : pos + length]))
        pos += length
    return out


def vendor_values(attributes, vendor: int, vendor_type: int) -> list[bytes]:
    values = []
    for attr_type, value in attributes:
        if attr_type == 26 and struct.unpack("!I", value[:4])[0] == vendor \
                and value[4] == vendor_type:
            values.append(value[6 : 6 + value[5] - 2])
    return values


def check_reply(reply: bytes, request: bytes, secret: bytes = SECRET):
    """Verify the Response Authenticator (and MA when present); return (code, attributes)."""
    assert reply[1] == request[1], "reply Identifier must equal the request's"
    assert struct.unpack("!H", reply[2:4])[0] == len(reply)
    expected = hashlib.md5(reply[:4] + request[4:20] + reply[20:] + secret).digest()
    assert hmac.compare_digest(expected, reply[4:20]), "bad Response Authenticator"
    attributes = parse_attributes(reply)
    offset, pos = None, 20
    for attr_type, value in attributes:
        if attr_type == 80:
            offset = pos + 2
        pos += len(value) + 2
    if offset is not None:
        zeroed = reply[:4] + request[4:20] + reply[20:offset] + bytes(16) + reply[offset + 16 :]
        mac = hmac.new(secret, zeroed, hashlib.md5).digest()
        assert hmac.compare_digest(mac, reply[offset : offset + 16]), "bad Message-Authenticator"
    return reply[0], attributes


class Nas:
    """One UDP socket, like a NAS: send and wait for the answer (or for silence)."""

    def __init__(self, address):
        self.address = address
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))

    def close(self):
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendto(data, self.address)

    def receive(self, timeout: float = 2.0) -> bytes | None:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recvfrom(65535)[0]
        except TimeoutError:
            return None

    def exchange(self, data: bytes, timeout: float = 2.0) -> bytes | None:
        self.send(data)
        return self.receive(timeout)


def wait_for(predicate, timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


def radclient(address, command: str, attributes: str, secret: str = "testing123",
              *args: str, timeout: float = 10.0) -> subprocess.CompletedProcess:
    """Run radclient once (-x prints both packets), always under a timeout."""
    host, port = address
    return subprocess.run(
        [RADCLIENT, "-x", "-t", "1", "-r", "1", *args, f"{host}:{port}", command, secret],
        input=attributes,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


_RECEIVED = re.compile(r"^Received (\S+) Id \d+ .*$", re.MULTILINE)


def radclient_reply(output: str) -> tuple[str | None, list[tuple[str, str]]]:
    """(reply type, [(attribute, value), ...] in the order radclient printed them)."""
    match = _RECEIVED.search(output)
    if match is None:
        return None, []
    pairs = []
    for line in output[match.end() + 1 :].splitlines():
        if not line.startswith("\t"):
            break
        name, _, value = line.strip().partition(" = ")
        pairs.append((name, value))
    return match.group(1), pairs
