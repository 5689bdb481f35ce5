"""Random tokens for links and cookies; only their hashes are stored."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> tuple[str, str]:
    """A 256-bit URL-safe token and the hash to store in its place."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
