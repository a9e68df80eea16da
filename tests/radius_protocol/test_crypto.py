"""Authenticators, password hiding, CHAP and MS-CHAPv2 against published vectors."""

import hashlib
import hmac
import os

import pytest

from radius_server.protocol import crypto, mschap

from .helpers import hide_password, unhide_salted

AUTH_CHALLENGE = bytes.fromhex("5B5D7C7D7B3F2F3E3C2C602132262628")
PEER_CHALLENGE = bytes.fromhex("21402324255E262A28295F2B3A337C7E")
NT_RESPONSE = bytes.fromhex("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF")


@pytest.mark.parametrize("length", [1, 15, 16, 17, 31, 32, 33, 64, 100, 127, 128])
def test_user_password_round_trips_up_to_128_octets(length):
    password = bytes((i * 7 + 33) % 94 + 33 for i in range(length))
    authenticator = os.urandom(16)
    hidden = hide_password(password, b"testing123", authenticator)
    assert crypto.decrypt_user_password(hidden, b"testing123", authenticator) == password


@pytest.mark.parametrize("size", [0, 15, 17, 144])
def test_user_password_of_bad_size_is_refused(size):
    assert crypto.decrypt_user_password(b"x" * size, b"s", bytes(16)) is None


def test_message_authenticator_is_hmac_md5():
    for secret in (b"k", b"testing123", b"x" * 64, b"y" * 80):
        data = os.urandom(90)
        assert crypto.message_authenticator(secret, data) == hmac.digest(secret, data, "md5")


def test_chap_with_challenge_and_with_request_authenticator():
    challenge = os.urandom(16)
    response = hashlib.md5(b"\x07" + b"pw" + challenge).digest()
    assert crypto.chap_ok(b"\x07" + response, b"pw", challenge)
    assert not crypto.chap_ok(b"\x07" + response, b"other", challenge)
    assert not crypto.chap_ok(b"\x08" + response, b"pw", challenge)


def test_salt_encryption_layout_and_nas_side_decoding():
    key = os.urandom(16)
    authenticator = os.urandom(16)
    hidden = crypto.salt_encrypt(key, b"secret", authenticator, b"\x80\x01")
    assert hidden[:2] == b"\x80\x01" and len(hidden) == 2 + 32
    first = bytes(a ^ b for a, b in zip(
        hidden[2:18], hashlib.md5(b"secret" + authenticator + b"\x80\x01").digest(), strict=True))
    assert first[0] == 16 and first[1:] == key[:15]
    assert unhide_salted(hidden, b"secret", authenticator) == key


def test_md4_fallback_matches_rfc_1320():
    assert mschap._md4_pure(b"").hex() == "31d6cfe0d16ae931b73c59d7e0c089c0"
    assert mschap._md4_pure(b"abc").hex() == "a448017aaf21d8525fc10ae87aa6729d"
    digits = b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"
    assert mschap._md4_pure(digits).hex() == "e33b4ddc9c38f2199c3e7b164fcc0536"


def test_rfc2759_section_9_2_vectors():
    password_hash = mschap.nt_password_hash("clientPass")
    assert password_hash.hex().upper() == "44EBBA8D5312B8D611474411F56989AE"
    challenge = mschap.challenge_hash(PEER_CHALLENGE, AUTH_CHALLENGE, b"User")
    assert challenge.hex().upper() == "D02E4386BCE91226"
    assert mschap.generate_nt_response(AUTH_CHALLENGE, PEER_CHALLENGE, b"User", "clientPass") \
        == NT_RESPONSE
    assert mschap.md4(password_hash).hex().upper() == "41C00C584BD2D91C4017A2A12FA59F3F"
    assert mschap.authenticator_response(
        password_hash, NT_RESPONSE, PEER_CHALLENGE, AUTH_CHALLENGE, b"User"
    ) == b"S=407A5589115FD0D6209F510FE9C04566932CDA56"


def test_rfc3079_mppe_start_keys():
    send, receive = mschap.mppe_keys(mschap.nt_password_hash("clientPass"), NT_RESPONSE)
    assert send.hex().upper() == "8B7CDC149B993A1BA118CB153F56DCCB"
    assert receive.hex().upper() == "D5F0E9521E3EA9589645E86051C82226"


def test_freeradius_auth_mschapv2_vector():
    """src/tests/modules/mschap/auth_mschapv2.attrs: user 'example\\john', password 'secret'."""
    challenge = bytes.fromhex("16d2833f4239256dd2b2bb26f2ecb2a3")
    response = mschap.MsChapV2Response.parse(bytes.fromhex(
        "0001502feeee9495a353cddbd1efc40072820000000000000000e866286bb30d0215ed16cf425b6a29d2"
        "06667a9853e23ca4"))
    success = mschap.verify(b"example\\john", challenge, response,
                            mschap.nt_password_hash("secret"))
    assert success is not None
    assert bytes([success.ident]) + success.authenticator_response == bytes.fromhex(
        "00533d36383634394236373633333031444436354643323535394632443137323934333139364541383841")
    assert mschap.verify(b"example\\john", challenge, response,
                         mschap.nt_password_hash("Secret")) is None
