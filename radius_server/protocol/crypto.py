"""RADIUS authenticators and attribute hiding (RFC 2865 §3/§5.2, 2866 §3, 2548 §2.4, 2869 §5.14).

Plain functions over bytes, cheap enough for the per-packet path (HMAC pads are computed once
per secret). MD5 is what the protocol mandates, hence ``usedforsecurity=False``.
"""

import hashlib
import hmac

from .constants import ZERO_AUTHENTICATOR

_compare = hmac.compare_digest


def md5(data: bytes) -> bytes:
    """MD5 digest as the RADIUS wire formats define it."""
    return hashlib.md5(data, usedforsecurity=False).digest()


_hmac_pads: dict[bytes, tuple] = {}


def _pads(secret: bytes) -> tuple:
    """MD5 states after the HMAC inner and outer pads, computed once per secret."""
    pads = _hmac_pads.get(secret)
    if pads is None:
        key = secret if len(secret) <= 64 else md5(secret)
        key = key.ljust(64, b"\x00")
        pads = (
            hashlib.md5(bytes(b ^ 0x36 for b in key), usedforsecurity=False),
            hashlib.md5(bytes(b ^ 0x5C for b in key), usedforsecurity=False),
        )
        if len(_hmac_pads) >= 4096:
            _hmac_pads.clear()
        _hmac_pads[secret] = pads
    return pads


def message_authenticator(secret: bytes, packet: bytes) -> bytes:
    """HMAC-MD5 (RFC 2104) over the packet whose Message-Authenticator value is zeroed."""
    inner_pad, outer_pad = _hmac_pads.get(secret) or _pads(secret)
    inner = inner_pad.copy()
    inner.update(packet)
    outer = outer_pad.copy()
    outer.update(inner.digest())
    return outer.digest()


def response_authenticator(packet: bytes, request_authenticator: bytes, secret: bytes) -> bytes:
    """MD5(Code+ID+Length+RequestAuth+Attributes+Secret) for a reply whose header is packet[:4]."""
    return md5(packet[:4] + request_authenticator + packet[20:] + secret)


def request_authenticator_ok(packet: bytes, secret: bytes) -> bool:
    """Accounting, CoA and Disconnect requests sign over 16 zero octets (RFC 2866 §3, 5176 §3.3)."""
    expected = md5(packet[:4] + ZERO_AUTHENTICATOR + packet[20:] + secret)
    return _compare(expected, packet[4:20])


def message_authenticator_ok(
    packet: bytes, offset: int, secret: bytes, authenticator: bytes | None = None
) -> bool:
    """Check the Message-Authenticator whose 16-octet value starts at ``offset``.

    ``authenticator`` replaces the header's authenticator: zeros for Accounting, CoA and
    Disconnect requests, the request's authenticator when checking a response.
    """
    if authenticator is None:
        zeroed = packet[:offset] + ZERO_AUTHENTICATOR + packet[offset + 16 :]
    else:
        zeroed = (
            packet[:4] + authenticator + packet[20:offset] + ZERO_AUTHENTICATOR
            + packet[offset + 16 :]
        )
    return _compare(message_authenticator(secret, zeroed), packet[offset : offset + 16])


def sign_request(packet: bytearray, secret: bytes, ma_offset: int) -> None:
    """Fill in MA (if ma_offset >= 0) and the zero-based request authenticator of a CoA/acct
    request, in place. The authenticator field must hold zeros on entry."""
    if ma_offset >= 0:
        packet[ma_offset : ma_offset + 16] = message_authenticator(secret, bytes(packet))
    packet[4:20] = md5(bytes(packet) + secret)


def _xor16(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(16, "big")


def decrypt_user_password(value: bytes, secret: bytes, authenticator: bytes) -> bytes | None:
    """Undo User-Password hiding (chained MD5 blocks, up to 128 octets); None if malformed."""
    if not value or len(value) % 16 or len(value) > 128:
        return None
    if len(value) == 16:  # the common case: one block
        return _xor16(value, md5(secret + authenticator)).rstrip(b"\x00")
    plain = []
    previous = authenticator
    for i in range(0, len(value), 16):
        block = value[i : i + 16]
        plain.append(_xor16(block, md5(secret + previous)))
        previous = block
    return b"".join(plain).rstrip(b"\x00")


def salt_encrypt(plain: bytes, secret: bytes, authenticator: bytes, salt: bytes) -> bytes:
    """RFC 2548 §2.4.2 hiding for MS-MPPE keys: Salt + MD5-chained (length byte + key + pad)."""
    data = bytes([len(plain)]) + plain
    data += b"\x00" * (-len(data) % 16)
    out = [salt]
    previous = authenticator + salt
    for i in range(0, len(data), 16):
        block = _xor16(data[i : i + 16], md5(secret + previous))
        out.append(block)
        previous = block
    return b"".join(out)


def chap_ok(chap_password: bytes, password: bytes, challenge: bytes) -> bool:
    """CHAP-Password = ident + MD5(ident + password + challenge) (RFC 1994, RFC 2865 §2.2)."""
    if len(chap_password) != 17:
        return False
    return _compare(md5(chap_password[:1] + password + challenge), chap_password[1:])
