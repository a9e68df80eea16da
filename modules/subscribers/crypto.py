"""Subscriber RADIUS passwords, encrypted at rest.

PAP, CHAP and MS-CHAPv2 all need the cleartext on the server side, so the password is kept
reversibly encrypted (Fernet, key FIELD_ENCRYPTION_KEY) instead of hashed.
"""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


@lru_cache(maxsize=1)
def _fernet() -> Fernet:
    key = settings.FIELD_ENCRYPTION_KEY
    if not key:
        # Development default derived from SECRET_KEY; production must set its own key.
        key = base64.urlsafe_b64encode(hashlib.sha256(settings.SECRET_KEY.encode()).digest())
    return Fernet(key)


def encrypt_password(cleartext: str) -> str:
    return _fernet().encrypt(cleartext.encode()).decode()


def decrypt_password(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("The stored password cannot be decrypted with this key.") from exc
