"""The VAPID key pair as configuration: its text format, reading or creating it, checking it.

The private key is a P-256 scalar kept as base64url text, the same format as the
``web-push`` tools print, so an operator can move keys between installations. It comes from
VAPID_PRIVATE_KEY or is generated once into the data directory (mode 0600): browsers bind
every subscription to the public key, so losing or changing it orphans them all.

Settings reads the key with these functions; the push engine (``push.vapid``) signs with it.
"""

from __future__ import annotations

import base64
import contextlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def private_key_from_text(text: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key from base64url: a raw 32-byte scalar, or DER (py-vapid's format)."""
    raw = b64url_decode(text)
    if len(raw) == 32:
        return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    key = serialization.load_der_private_key(raw, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("not a P-256 key")
    return key


def private_key_to_text(key: ec.EllipticCurvePrivateKey) -> str:
    return b64url_encode(key.private_numbers().private_value.to_bytes(32, "big"))


def public_key_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def vapid_key_problem(private_text: str, public_text: str | None) -> str | None:
    """Why push cannot work with keys given by the environment (one sentence), or None."""
    try:
        key = private_key_from_text(private_text)
    except (ValueError, TypeError):
        return (
            "VAPID_PRIVATE_KEY must be a base64url P-256 private key "
            "(as printed by `npx web-push generate-vapid-keys`)."
        )
    if public_text is not None:
        try:
            given = b64url_decode(public_text)
        except ValueError:
            given = b""
        if given != public_key_bytes(key):
            return "VAPID_PUBLIC_KEY does not match VAPID_PRIVATE_KEY."
    return None


def load_or_create_vapid_key(path: Path) -> str:
    """One key per installation, readable by its owner only, safe against a concurrent start.

    The key is written to a temporary file then linked into place, so a second process starting
    at the same moment either wins the link or reads the complete key of the first.
    """
    if path.exists():
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return path.read_text().strip()
    text = private_key_to_text(ec.generate_private_key(ec.SECP256R1()))
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    try:
        os.link(temporary, path)
    except FileExistsError:
        text = path.read_text().strip()
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    return text
