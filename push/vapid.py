"""VAPID (RFC 8292): the key pair that identifies this Relay to push services, and its tokens.

The private key is a P-256 scalar kept as base64url text, the same format as the
``web-push`` tools print, so an operator can move keys between installations. It comes from
VAPID_PRIVATE_KEY or is generated once into the data directory (mode 0600): browsers bind
every subscription to the public key, so losing or changing it orphans them all.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from app.core.settings import Settings, SettingsError

# Push services refuse tokens that expire more than 24 h ahead; 12 h tokens renewed an hour
# before they expire keep every request well inside that, with one signature per origin
# per 11 hours instead of one per message.
TOKEN_LIFETIME_S = 12 * 3600
TOKEN_RENEW_BEFORE_S = 3600


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


def check_vapid_key_pair(private_text: str, public_text: str | None) -> None:
    """Refuse, in one sentence, keys given by the environment that push cannot work with."""
    try:
        key = private_key_from_text(private_text)
    except (ValueError, TypeError) as exc:
        raise SettingsError(
            "VAPID_PRIVATE_KEY must be a base64url P-256 private key "
            "(as printed by `npx web-push generate-vapid-keys`)."
        ) from exc
    if public_text is not None:
        try:
            given = b64url_decode(public_text)
        except ValueError:
            given = b""
        if given != public_key_bytes(key):
            raise SettingsError("VAPID_PUBLIC_KEY does not match VAPID_PRIVATE_KEY.")


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


def application_server_key(settings: Settings) -> str:
    """The public key the browser needs for ``pushManager.subscribe`` (base64url)."""
    return b64url_encode(public_key_bytes(private_key_from_text(settings.vapid_private_key)))


def origin_of(endpoint: str) -> str:
    """The audience of a VAPID token: the push service's scheme, host and port."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def sign_token(key: ec.EllipticCurvePrivateKey, claims: dict[str, str | int]) -> str:
    """A compact JWS signed with ES256 (the signature as raw r‖s, as JWS requires)."""
    header = b64url_encode(json.dumps({"typ": "JWT", "alg": "ES256"}).encode())
    body = b64url_encode(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{body}".encode("ascii")
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return f"{header}.{body}.{b64url_encode(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


@dataclass
class VapidSigner:
    """Authorization headers for push requests, one token per push-service origin, reused.

    ``clock`` gives Unix seconds; tests pass their own to see tokens renewed.
    """

    private_key: ec.EllipticCurvePrivateKey
    subject: str
    clock: Callable[[], float] = time.time
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    _public_key: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self._public_key = b64url_encode(public_key_bytes(self.private_key))

    @classmethod
    def from_settings(cls, settings: Settings) -> VapidSigner:
        return cls(private_key_from_text(settings.vapid_private_key), settings.vapid_subject)

    @property
    def public_key(self) -> str:
        return self._public_key

    def authorization(self, endpoint: str) -> str:
        """The ``Authorization`` header value for a request to ``endpoint``."""
        audience = origin_of(endpoint)
        now = self.clock()
        cached = self._tokens.get(audience)
        if cached is None or cached[1] - TOKEN_RENEW_BEFORE_S <= now:
            expires = int(now) + TOKEN_LIFETIME_S
            claims: dict[str, str | int] = {"aud": audience, "exp": expires, "sub": self.subject}
            cached = (sign_token(self.private_key, claims), expires)
            self._tokens[audience] = cached
        return f"vapid t={cached[0]}, k={self.public_key}"
