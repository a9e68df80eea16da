"""Subscriber RADIUS passwords, encrypted at rest.

PAP, CHAP and MS-CHAPv2 all need the cleartext on the server side, so the password is kept
reversibly encrypted (Fernet, key FIELD_ENCRYPTION_KEY) instead of hashed.
"""

import base64
import hashlib
import hmac
import os
import time
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings

FERNET_VERSION = b"\x80"
BLOCK = 16


@lru_cache(maxsize=1)
def _key() -> bytes:
    key = settings.FIELD_ENCRYPTION_KEY
    if not key:
        # Development default derived from SECRET_KEY; production must set its own key.
        key = base64.urlsafe_b64encode(hashlib.sha256(settings.SECRET_KEY.encode()).digest())
    return key if isinstance(key, bytes) else key.encode()


@lru_cache(maxsize=1)
def _fernet() -> Fernet:
    return Fernet(_key())


def encrypt_password(cleartext: str) -> str:
    return _fernet().encrypt(cleartext.encode()).decode()


def encrypt_passwords(cleartexts: list[str]) -> list[str]:
    """Fernet tokens for many passwords (an import), readable by `decrypt_password`.

    `Fernet.encrypt` derives its keys, builds an HMAC object and reads `os.urandom` per call
    (~50 us, most of an import row's write cost). Here the keys, the HMAC state and the
    timestamp are set up once and the IVs come from one `os.urandom` call; each token is still
    the library's AES-CBC with its own random IV, signed with HMAC-SHA256 as Fernet specifies.
    """
    if not cleartexts:
        return []
    raw = base64.urlsafe_b64decode(_key())
    algorithm = algorithms.AES(raw[16:])
    mac = hmac.new(raw[:16], digestmod=hashlib.sha256)
    header = FERNET_VERSION + int(time.time()).to_bytes(8, "big")
    ivs = os.urandom(BLOCK * len(cleartexts))
    tokens = []
    for index, cleartext in enumerate(cleartexts):
        data = cleartext.encode()
        pad = BLOCK - len(data) % BLOCK
        iv = ivs[index * BLOCK:(index + 1) * BLOCK]
        encryptor = Cipher(algorithm, modes.CBC(iv)).encryptor()
        signed = header + iv + encryptor.update(data + bytes([pad]) * pad) + encryptor.finalize()
        digest = mac.copy()
        digest.update(signed)
        tokens.append(base64.urlsafe_b64encode(signed + digest.digest()).decode())
    return tokens


def decrypt_password(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("The stored password cannot be decrypted with this key.") from exc
