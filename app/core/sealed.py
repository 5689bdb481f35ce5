"""Secrets Relay must read back (an identity provider's client secret, a webhook's signing
secret) are kept sealed at rest: Fernet (AES-128-CBC and HMAC-SHA256) under a key derived
from ``SECRET_KEY`` by HKDF-SHA256, one key per purpose. A copy of the database alone does not
give them away; changing ``SECRET_KEY`` makes them unreadable (``unseal`` answers None, and
the admin enters them again)."""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


@lru_cache(maxsize=16)
def _fernet(secret_key: str, purpose: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"relay {purpose}".encode()
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret_key: str, purpose: str, plain: str) -> str:
    return _fernet(secret_key, purpose).encrypt(plain.encode()).decode()


def unseal(secret_key: str, purpose: str, stored: str) -> str | None:
    try:
        return _fernet(secret_key, purpose).decrypt(stored.encode()).decode()
    except (InvalidToken, ValueError):
        return None
