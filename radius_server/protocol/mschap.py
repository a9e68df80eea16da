"""MS-CHAPv2 for RADIUS (RFC 2759, RFC 2548, RFC 3079).

OpenSSL 3 builds often lack MD4, so a small pure-Python MD4 backs ``hashlib``. Single DES comes
from ``cryptography``'s TripleDES with the key repeated three times (K1 = K2 = K3 is DES).
"""

import hashlib
import hmac
import struct
from dataclasses import dataclass

try:
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # cryptography < 43 keeps it in the main namespace
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

_MAGIC1 = b"Magic server to client signing constant"
_MAGIC2 = b"Pad to make it do more than one iteration"
_MASTER_MAGIC = b"This is the MPPE Master Key"
_SERVER_SEND_MAGIC = (
    b"On the client side, this is the receive key; on the server side, it is the send key."
)
_SERVER_RECV_MAGIC = (
    b"On the client side, this is the send key; on the server side, it is the receive key."
)
_SHS_PAD1 = b"\x00" * 40
_SHS_PAD2 = b"\xf2" * 40


def _md4_pure(data: bytes) -> bytes:
    """RFC 1320 MD4, used when the OpenSSL build has no MD4."""
    mask = 0xFFFFFFFF

    def rotl(x: int, n: int) -> int:
        return ((x << n) | (x >> (32 - n))) & mask

    message = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack("<Q", len(data) * 8)
    a, b, c, d = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476
    for offset in range(0, len(message), 64):
        x = struct.unpack("<16I", message[offset : offset + 64])
        aa, bb, cc, dd = a, b, c, d
        for i in (0, 4, 8, 12):
            a = rotl((a + ((b & c) | (~b & d)) + x[i]) & mask, 3)
            d = rotl((d + ((a & b) | (~a & c)) + x[i + 1]) & mask, 7)
            c = rotl((c + ((d & a) | (~d & b)) + x[i + 2]) & mask, 11)
            b = rotl((b + ((c & d) | (~c & a)) + x[i + 3]) & mask, 19)
        for i in (0, 1, 2, 3):
            a = rotl((a + ((b & c) | (b & d) | (c & d)) + x[i] + 0x5A827999) & mask, 3)
            d = rotl((d + ((a & b) | (a & c) | (b & c)) + x[i + 4] + 0x5A827999) & mask, 5)
            c = rotl((c + ((d & a) | (d & b) | (a & b)) + x[i + 8] + 0x5A827999) & mask, 9)
            b = rotl((b + ((c & d) | (c & a) | (d & a)) + x[i + 12] + 0x5A827999) & mask, 13)
        for i in (0, 2, 1, 3):
            a = rotl((a + (b ^ c ^ d) + x[i] + 0x6ED9EBA1) & mask, 3)
            d = rotl((d + (a ^ b ^ c) + x[i + 8] + 0x6ED9EBA1) & mask, 9)
            c = rotl((c + (d ^ a ^ b) + x[i + 4] + 0x6ED9EBA1) & mask, 11)
            b = rotl((b + (c ^ d ^ a) + x[i + 12] + 0x6ED9EBA1) & mask, 15)
        a, b, c, d = (a + aa) & mask, (b + bb) & mask, (c + cc) & mask, (d + dd) & mask
    return struct.pack("<4I", a, b, c, d)


def md4(data: bytes) -> bytes:
    try:
        return hashlib.new("md4", data, usedforsecurity=False).digest()
    except ValueError:
        return _md4_pure(data)


def _sha1(*parts: bytes) -> bytes:
    return hashlib.sha1(b"".join(parts), usedforsecurity=False).digest()


def nt_password_hash(password: str) -> bytes:
    """NtPasswordHash = MD4(UTF-16LE password) (RFC 2759 §8.3)."""
    return md4(password.encode("utf-16-le"))


def _des_key(seven: bytes) -> bytes:
    """Spread 56 key bits over 8 octets (parity bits are ignored by DES)."""
    bits = int.from_bytes(seven, "big")
    return bytes(((bits >> (49 - 7 * i)) & 0x7F) << 1 for i in range(8))


def _des_encrypt(seven: bytes, block: bytes) -> bytes:
    key = _des_key(seven) * 3
    encryptor = Cipher(TripleDES(key), modes.ECB()).encryptor()  # noqa: S305
    return encryptor.update(block) + encryptor.finalize()


def challenge_hash(peer_challenge: bytes, authenticator_challenge: bytes, username: bytes) -> bytes:
    """ChallengeHash (RFC 2759 §8.2); username is without the domain part."""
    return _sha1(peer_challenge, authenticator_challenge, username)[:8]


def challenge_response(challenge: bytes, password_hash: bytes) -> bytes:
    """24-octet response: DES of the 8-octet challenge under three 7-octet key slices."""
    key = password_hash + b"\x00" * 5
    return b"".join(_des_encrypt(key[i : i + 7], challenge) for i in (0, 7, 14))


def strip_domain(username: bytes) -> bytes:
    """RFC 2759 hashes the bare user name: drop a leading ``DOMAIN\\``."""
    return username.rsplit(b"\\", 1)[-1]


def generate_nt_response(
    authenticator_challenge: bytes, peer_challenge: bytes, username: bytes, password: str
) -> bytes:
    """GenerateNTResponse (RFC 2759 §8.1), what the peer sends."""
    challenge = challenge_hash(peer_challenge, authenticator_challenge, strip_domain(username))
    return challenge_response(challenge, nt_password_hash(password))


def authenticator_response(
    password_hash: bytes,
    nt_response: bytes,
    peer_challenge: bytes,
    authenticator_challenge: bytes,
    username: bytes,
) -> bytes:
    """GenerateAuthenticatorResponse (RFC 2759 §8.7): ``S=`` + 40 uppercase hex digits."""
    digest = _sha1(md4(password_hash), nt_response, _MAGIC1)
    challenge = challenge_hash(peer_challenge, authenticator_challenge, strip_domain(username))
    return b"S=" + _sha1(digest, challenge, _MAGIC2).hex().upper().encode()


def mppe_keys(password_hash: bytes, nt_response: bytes) -> tuple[bytes, bytes]:
    """Server (send, receive) 128-bit MPPE start keys (RFC 3079 §3.3-3.4)."""
    master = _sha1(md4(password_hash), nt_response, _MASTER_MAGIC)[:16]
    send = _sha1(master, _SHS_PAD1, _SERVER_SEND_MAGIC, _SHS_PAD2)[:16]
    receive = _sha1(master, _SHS_PAD1, _SERVER_RECV_MAGIC, _SHS_PAD2)[:16]
    return send, receive


@dataclass(frozen=True, slots=True)
class MsChapV2Response:
    """MS-CHAP2-Response (RFC 2548 §2.3.2): Ident, Flags, Peer-Challenge, Reserved, Response."""

    ident: int
    peer_challenge: bytes
    nt_response: bytes

    @classmethod
    def parse(cls, value: bytes) -> "MsChapV2Response | None":
        if len(value) != 50:
            return None
        return cls(value[0], value[2:18], value[26:50])


@dataclass(frozen=True, slots=True)
class MsChapV2Success:
    """What a successful check hands the engine to build MS-CHAP2-Success and MPPE keys."""

    ident: int
    authenticator_response: bytes
    send_key: bytes
    recv_key: bytes


def verify(
    username: bytes,
    authenticator_challenge: bytes,
    response: MsChapV2Response,
    password_hash: bytes,
) -> MsChapV2Success | None:
    """Check the peer's NT-Response against a known NT password hash."""
    challenge = challenge_hash(
        response.peer_challenge, authenticator_challenge, strip_domain(username)
    )
    expected = challenge_response(challenge, password_hash)
    if not hmac.compare_digest(expected, response.nt_response):
        return None
    send, receive = mppe_keys(password_hash, response.nt_response)
    return MsChapV2Success(
        ident=response.ident,
        authenticator_response=authenticator_response(
            password_hash,
            response.nt_response,
            response.peer_challenge,
            authenticator_challenge,
            username,
        ),
        send_key=send,
        recv_key=receive,
    )
