"""A push service on 127.0.0.1 that checks every request the way real ones do, then decrypts it.

Each fake subscription is made as a browser makes one: its own P-256 key pair and 16-byte
auth secret, an endpoint at the sink. For every request the sink verifies the VAPID token
(ES256 signature against the key in ``k=``, ``aud`` equal to the origin it was reached at,
``exp`` in the future and at most 24 h away, a ``mailto:``/``https:`` ``sub``), the
aes128gcm encoding, the TTL and the 4096-byte limit, then decrypts the body with ``http_ece``
using the subscription's private key. The verification is written here with ``cryptography``
directly, independently of Relay's signer.

It answers 201 unless told otherwise per endpoint (410, 429 with Retry-After, 500, 413…).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import http_ece
import uvicorn
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

URGENCIES = {"very-low", "low", "normal", "high"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class FakeBrowser:
    """One browser's subscription: what pushManager.subscribe() would return, and its secrets."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @property
    def p256dh(self) -> str:
        return b64url(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)


def fcm_browser() -> FakeBrowser:
    """A subscription at FCM's address, for tests that store devices but send nothing."""
    return FakeBrowser(
        f"https://fcm.googleapis.com/fcm/send/{secrets.token_urlsafe(8)}",
        ec.generate_private_key(ec.SECP256R1()),
        secrets.token_bytes(16),
    )


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    endpoint: str
    payload: dict[str, Any]
    headers: dict[str, str]
    token: str
    claims: dict[str, Any]
    status: int
    body_size: int


class PushSink:
    def __init__(self, application_server_key: str, port: int) -> None:
        self.application_server_key = application_server_key
        self.port = port
        self.origin = f"http://127.0.0.1:{self.port}"
        self.browsers: dict[str, FakeBrowser] = {}
        self.scripts: dict[str, list[Answer]] = {}
        self.received: list[Received] = []
        self.problems: list[str] = []
        self.verified_tokens: set[str] = set()
        # Payload ids of accepted messages, counted as they arrive (cheap to wait on).
        self.accepted_ids: Counter[str] = Counter()
        self._changed = threading.Condition()
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                lifespan="off",
                interface="asgi3",
                access_log=False,
            )
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> PushSink:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the push sink did not start")
            self._thread.join(timeout=0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    # -- what tests do --------------------------------------------------------------------

    def new_browser(self, host: str = "127.0.0.1") -> FakeBrowser:
        """A subscription at this sink; ``host`` may be ``localhost``: another origin."""
        endpoint = f"http://{host}:{self.port}/push/{secrets.token_urlsafe(12)}"
        browser = FakeBrowser(
            endpoint, ec.generate_private_key(ec.SECP256R1()), secrets.token_bytes(16)
        )
        self.browsers[endpoint] = browser
        return browser

    def answer(self, endpoint: str, *answers: Answer) -> None:
        """Answer the next requests to ``endpoint`` with these, then 201 again."""
        self.scripts[endpoint] = list(answers)

    def accepted(self) -> list[Received]:
        with self._changed:
            return [r for r in self.received if r.status in (201, 202)]

    def requests_to(self, endpoint: str) -> list[Received]:
        with self._changed:
            return [r for r in self.received if r.endpoint == endpoint]

    def wait_for(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        """Block until ``condition`` holds (checked at every request), or fail after timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"push sink: condition not met in {timeout}s "
                        f"({len(self.received)} requests, problems: {self.problems[:3]})"
                    )
                self._changed.wait(timeout=min(remaining, 0.5))

    # -- the push service -----------------------------------------------------------------

    def check_token(self, authorization: str, host: str) -> tuple[str, dict[str, Any]]:
        scheme, _, params = authorization.partition(" ")
        assert scheme == "vapid", f"Authorization scheme is {scheme!r}, not vapid"
        fields = dict(part.strip().split("=", 1) for part in params.split(","))
        token, key = fields["t"], fields["k"]
        assert key == self.application_server_key, "k= is not the application server key"
        header_b64, body_b64, signature_b64 = token.split(".")
        claims: dict[str, Any] = json.loads(unb64url(body_b64))
        if token not in self.verified_tokens:
            assert json.loads(unb64url(header_b64))["alg"] == "ES256"
            signature = unb64url(signature_b64)
            assert len(signature) == 64, "ES256 signatures are 64 bytes (r‖s)"
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
            try:
                public.verify(der, f"{header_b64}.{body_b64}".encode(), ec.ECDSA(hashes.SHA256()))
            except InvalidSignature as exc:
                raise AssertionError("bad VAPID signature") from exc
            self.verified_tokens.add(token)
        assert claims["aud"] == f"http://{host}", f"aud {claims['aud']!r} is not http://{host}"
        now = time.time()
        assert now < claims["exp"] <= now + 24 * 3600, "exp must be in the next 24 h"
        assert str(claims.get("sub", "")).startswith(("mailto:", "https:")), "bad sub"
        return token, claims

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        endpoint = f"http://{headers.get('host')}{scope['path']}"
        status, extra, received = self.handle(scope["method"], endpoint, headers, body)
        with self._changed:
            if received is not None:
                self.received.append(received)
                if received.status in (201, 202):
                    self.accepted_ids[str(received.payload["id"])] += 1
            self._changed.notify_all()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in extra.items()],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    def handle(
        self, method: str, endpoint: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Received | None]:
        browser = self.browsers.get(endpoint)
        if method != "POST" or browser is None:
            return 404, {}, None
        try:
            token, claims = self.check_token(headers.get("authorization", ""), headers["host"])
            assert headers.get("content-encoding") == "aes128gcm", "not aes128gcm"
            assert headers.get("ttl", "").isdigit(), "TTL header missing"
            assert headers.get("urgency", "normal") in URGENCIES, "bad Urgency"
            assert len(body) <= 4096, f"body of {len(body)} bytes is over 4096"
            plaintext = http_ece.decrypt(
                body,
                private_key=browser.private_key,
                auth_secret=browser.auth_secret,
                version="aes128gcm",
            )
            payload = json.loads(plaintext)
        except (AssertionError, KeyError, ValueError, http_ece.ECEException) as exc:
            with self._changed:
                self.problems.append(f"{endpoint}: {exc!r}")
            return 400, {}, None
        script = self.scripts.get(endpoint)
        answer = script.pop(0) if script else Answer(201)
        return (
            answer.status,
            answer.headers,
            Received(endpoint, payload, headers, token, claims, answer.status, len(body)),
        )
