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

    `Fernet.encrypt` builds a new AES-CBC cipher and HMAC object per call (~50 us, most of an
    import row's write cost). Here the AES key schedule, the HMAC key and the timestamp are
    set up once, each token gets its own random IV from one `os.urandom` call, and CBC
    chaining (C_i = AES(P_i xor C_i-1), C_0 = IV) runs over a single block encryptor.
    """
    if not cleartexts:
        return []
    raw = base64.urlsafe_b64decode(_key())
    # The raw block cipher; the CBC chaining below is what makes it CBC (Fernet's mode).
    block_cipher = Cipher(algorithms.AES(raw[16:]), modes.ECB()).encryptor()  # noqa: S305
    signing = raw[:16]
    mac = hmac.new(signing, digestmod=hashlib.sha256)
    header = FERNET_VERSION + int(time.time()).to_bytes(8, "big")
    ivs = os.urandom(BLOCK * len(cleartexts))
    tokens = []
    for index, cleartext in enumerate(cleartexts):
        data = cleartext.encode()
        pad = BLOCK - len(data) % BLOCK
        data += bytes([pad]) * pad  # PKCS7
        iv = ivs[index * BLOCK:(index + 1) * BLOCK]
        previous, blocks = int.from_bytes(iv, "big"), []
        for start in range(0, len(data), BLOCK):
            mixed = int.from_bytes(data[start:start + BLOCK], "big") ^ previous
            block = block_cipher.update(mixed.to_bytes(BLOCK, "big"))
            previous = int.from_bytes(block, "big")
            blocks.append(block)
        signed = header + iv + b"".join(blocks)
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
