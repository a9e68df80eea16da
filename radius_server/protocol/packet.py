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
from .crypto import message_authenticator, response_authenticator

_LENGTH = struct.Struct("!H")
_HEAD = struct.Struct("!BBH")
_MA_EMPTY = bytes([MESSAGE_AUTHENTICATOR, 18]) + ZERO_AUTHENTICATOR


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
    length = _LENGTH.unpack_from(data, 2)[0]
    if length < HEADER_LENGTH:
        return "bad_length"
    if length > received:
        return "truncated"
    if length > MAX_PACKET_LENGTH:
        return "oversized"
    if length < received:
        data = data[:length]  # octets beyond Length are padding (RFC 2865 §3)
    attributes = []
    append = attributes.append
    first = {}
    ma_offset = -1
    pos = HEADER_LENGTH
    while pos < length:
        if pos + 2 > length:
            return "attribute_header_overflow"
        attr_type = data[pos]
        attr_len = data[pos + 1]
        if attr_type == 0:
            return "attribute_type_zero"
        if attr_len < 2:
            return "attribute_length_too_short"
        end = pos + attr_len
        if end > length:
            return "attribute_overflow"
        value = data[pos + 2 : end]
        append((attr_type, value))
        if attr_type not in first:
            first[attr_type] = value
            if attr_type == MESSAGE_AUTHENTICATOR:
                if attr_len != 18:
                    return "message_authenticator_length"
                ma_offset = pos + 2
        elif attr_type == MESSAGE_AUTHENTICATOR:
            return "multiple_message_authenticators"
        pos = end
    if len(attributes) > MAX_ATTRIBUTES:
        return "too_many_attributes"
    return Packet(code, data[1], data[4:20], data, attributes, first, ma_offset)


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
    if with_message_authenticator:
        body = _MA_EMPTY + attributes
        head = _HEAD.pack(code, request.ident, HEADER_LENGTH + len(body))
        mac = message_authenticator(secret, head + request.authenticator + body)
        body = _MA_EMPTY[:2] + mac + attributes
    else:
        body = attributes
        head = _HEAD.pack(code, request.ident, HEADER_LENGTH + len(body))
    packet = head + request.authenticator + body
    return head + response_authenticator(packet, request.authenticator, secret) + body
