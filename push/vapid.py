"""VAPID (RFC 8292): the tokens that identify this Relay to push services.

The key pair itself is configuration (``app.core.vapid_keys``: its text format, and where
it comes from); this module signs with it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from app.core.settings import Settings
from app.core.vapid_keys import b64url_encode, private_key_from_text, public_key_bytes

# Push services refuse tokens that expire more than 24 h ahead; 12 h tokens renewed an hour
# before they expire keep every request well inside that, with one signature per origin
# per 11 hours instead of one per message.
TOKEN_LIFETIME_S = 12 * 3600
TOKEN_RENEW_BEFORE_S = 3600


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
        return self.authorization_for(origin_of(endpoint))

    def authorization_for(self, audience: str) -> str:
        """The ``Authorization`` header value for requests to the origin ``audience``."""
        now = self.clock()
        cached = self._tokens.get(audience)
        if cached is None or cached[1] - TOKEN_RENEW_BEFORE_S <= now:
            expires = int(now) + TOKEN_LIFETIME_S
            claims: dict[str, str | int] = {"aud": audience, "exp": expires, "sub": self.subject}
            cached = (sign_token(self.private_key, claims), expires)
            self._tokens[audience] = cached
        return f"vapid t={cached[0]}, k={self.public_key}"
