"""Lean RADIUS codec: one pass over the octets, a drop reason instead of an exception.

The checks follow RFC 2865 §3 and FreeRADIUS ``rad_packet_ok``: a bad packet is silently
discarded, so the decoder says *why* and the server counts it.
"""

import struct

from .attributes import iter_vendor_attributes
from .constants import (
    HEADER_LENGTH,
    KNOWN_CODES,
    MAX_ATTRIBUTES,
    MAX_PACKET_LENGTH,
    MESSAGE_AUTHENTICATOR,
    PROXY_STATE,
    VENDOR_SPECIFIC,
    ZERO_AUTHENTICATOR,
)
from .crypto import md5, message_authenticator

_HEAD = struct.Struct("!BBH")
_MA_HEAD = bytes([MESSAGE_AUTHENTICATOR, 18])
_MA_EMPTY = _MA_HEAD + ZERO_AUTHENTICATOR


class Packet:
    """A decoded packet: header fields, attributes in wire order, and the first of each type."""

    __slots__ = ("attributes", "authenticator", "code", "data", "first", "ident", "ma_offset")

    def __init__(self, code, ident, authenticator, data, attributes, first, ma_offset):
        self.code: int = code
        self.ident: int = ident
        self.authenticator: bytes = authenticator
        self.data: bytes = data
        self.attributes: list[tuple[int, bytes]] = attributes
        self.first: dict[int, bytes] = first
        self.ma_offset: int = ma_offset

    def all(self, attr_type: int) -> list[bytes]:
        return [v for t, v in self.attributes if t == attr_type]

    def proxy_states(self) -> bytes:
        """The Proxy-State attributes, framed and in order, ready to copy into a reply."""
        if PROXY_STATE not in self.first:
            return b""
        return b"".join(
            bytes([PROXY_STATE, len(v) + 2]) + v for t, v in self.attributes if t == PROXY_STATE
        )

    def vendor_attributes(self, vendor: int, vendor_type: int) -> list[bytes]:
        return [
            value
            for t, raw in self.attributes
            if t == VENDOR_SPECIFIC
            for v, st, value in iter_vendor_attributes(raw)
            if v == vendor and st == vendor_type
        ]


def decode(data: bytes) -> Packet | str:
    """Parse and validate a datagram; return a Packet or the reason to drop it."""
    received = len(data)
    if received < HEADER_LENGTH:
        return "short_datagram"
    code = data[0]
    if code not in KNOWN_CODES:
        return "unknown_code"
    length = (data[2] << 8) | data[3]
    if length < HEADER_LENGTH:
        return "bad_length"
    if length > MAX_PACKET_LENGTH:
        return "oversized"
    if length > received:
        return "truncated"
    if length < received:
        data = data[:length]  # octets beyond Length are padding (RFC 2865 §3)
    attributes = []
    append = attributes.append
    ma_offset = -1
    pos = HEADER_LENGTH
    while pos < length:
        if pos + 1 == length:
            return "attribute_header_overflow"
        attr_type = data[pos]
        attr_len = data[pos + 1]
        end = pos + attr_len
        if attr_len < 2 or not attr_type or end > length:
            return _attribute_error(attr_type, attr_len)
        append((attr_type, data[pos + 2 : end]))
        if attr_type == MESSAGE_AUTHENTICATOR:
            if ma_offset >= 0:
                return "multiple_message_authenticators"
            if attr_len != 18:
                return "message_authenticator_length"
            ma_offset = pos + 2
        pos = end
    if len(attributes) > MAX_ATTRIBUTES:
        return "too_many_attributes"
    first = dict(reversed(attributes))
    return Packet(code, data[1], data[4:20], data, attributes, first, ma_offset)


def _attribute_error(attr_type: int, attr_len: int) -> str:
    if not attr_type:
        return "attribute_type_zero"
    if attr_len < 2:
        return "attribute_length_too_short"
    return "attribute_overflow"


def encode_reply(
    code: int,
    request: Packet,
    secret: bytes,
    attributes: bytes,
    *,
    with_message_authenticator: bool,
) -> bytes:
    """Build a signed reply to ``request``; ``attributes`` are framed, Proxy-State included.

    With ``with_message_authenticator`` the MA is the first attribute (Blast-RADIUS
    hardening, FreeRADIUS 3.2.5+): HMAC over the reply carrying the request authenticator.
    """
    authenticator = request.authenticator
    if with_message_authenticator:
        head = _HEAD.pack(code, request.ident, HEADER_LENGTH + 18 + len(attributes))
        mac = message_authenticator(secret, head + authenticator + _MA_EMPTY + attributes)
        body = _MA_HEAD + mac + attributes
    else:
        head = _HEAD.pack(code, request.ident, HEADER_LENGTH + len(attributes))
        body = attributes
    return head + md5(head + authenticator + body + secret) + body
