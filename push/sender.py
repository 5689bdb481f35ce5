"""Sending one push message (RFC 8030), encrypted for its browser (RFC 8291), signed (RFC 8292).

One :class:`PushSender` per worker holds one HTTP client whose connections to each push
service stay open between messages, a semaphore that bounds how many requests are in flight,
and the VAPID signer that reuses one token per push-service origin. What a response means
for the delivery (sent, gone, retry later, failed) is decided by :func:`result_of_response`,
a plain function of the status and headers.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
import http_ece
from aiohttp.abc import AbstractResolver
from cryptography.hazmat.primitives.asymmetric import ec

from app.core.vapid_keys import b64url_decode
from push.addresses import PublicAddressResolver, RefusedAddress, endpoint_refusal
from push.vapid import VapidSigner, origin_of

# Push services accept at most 4096 bytes of encrypted body. aes128gcm adds a header
# (16-byte salt, 4-byte record size, 1-byte key id length, 65-byte key id), a 16-byte tag
# and a 1-byte padding delimiter: 103 bytes, leaving 3993 bytes of plaintext (RFC 8291 §4).
MAX_ENCRYPTED_BYTES = 4096
ENCRYPTION_OVERHEAD_BYTES = 16 + 4 + 1 + 65 + 16 + 1
MAX_PAYLOAD_BYTES = MAX_ENCRYPTED_BYTES - ENCRYPTION_OVERHEAD_BYTES

DEFAULT_TTL_S = 24 * 3600
URGENCIES = ("very-low", "low", "normal", "high")
REQUEST_TIMEOUT_S = 15.0


class Outcome(StrEnum):
    sent = "sent"  # 201/202: the push service has it
    gone = "gone"  # 404/410: the subscription expired or was revoked
    retry = "retry"  # 429, 5xx, network trouble: try again later
    failed = "failed"  # any other refusal (413, 400, 403…): trying again would not help


@dataclass(frozen=True)
class PushTarget:
    """Where a message goes and the keys its browser gave when it subscribed."""

    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    status_code: int | None = None
    # Seconds the push service asked us to wait (Retry-After), when it said.
    retry_after_s: float | None = None
    error: str = ""


def encrypt_payload(payload: bytes, target: PushTarget) -> bytes:
    """The aes128gcm body for ``target``: a fresh ephemeral key and salt per message."""
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    return bytes(
        http_ece.encrypt(
            payload,
            salt=os.urandom(16),
            private_key=ephemeral,
            dh=b64url_decode(target.p256dh),
            auth_secret=b64url_decode(target.auth),
            version="aes128gcm",
        )
    )


def check_subscription_keys(p256dh: str, auth: str) -> bool:
    """Whether a browser's keys can be encrypted to: a P-256 point and a 16-byte secret."""
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(p256dh))
        return len(b64url_decode(auth)) == 16
    except (ValueError, TypeError):
        return False


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from ``now``: it may be a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def result_of_response(status: int, retry_after: str | None, now: datetime) -> SendResult:
    """What a push service's answer means for the delivery (RFC 8030 §5, §8.4)."""
    if status in (200, 201, 202):
        return SendResult(Outcome.sent, status)
    if status in (404, 410):
        return SendResult(Outcome.gone, status, error="subscription gone")
    if status == 429 or status >= 500:
        return SendResult(
            Outcome.retry,
            status,
            retry_after_s=retry_after_seconds(retry_after, now),
            error=f"push service answered {status}",
        )
    error = "payload too large" if status == 413 else f"push service refused it ({status})"
    return SendResult(Outcome.failed, status, error=error)


class PushSender:
    """Sends encrypted pushes over one keep-alive HTTP client, ``concurrency`` at a time.

    The client is aiohttp's, not httpx's: measured on loopback with the same 300-byte
    POSTs, httpx's connection pool does 1,300 requests/s with 4 connections and falls to
    250/s with 64 (its pool rescans every connection for every request), while aiohttp keeps
    8,000 to 10,000/s. aiohttp comes with pywebpush anyway.

    Every address is checked before the request (:func:`push.addresses.endpoint_refusal`,
    once per push service) and when connecting (its resolver keeps only public addresses,
    :class:`push.addresses.PublicAddressResolver`); ``allowed_test_hosts`` are exempt, for a
    local test push service. ``dns`` replaces the system's DNS (tests use it).
    """

    def __init__(
        self,
        signer: VapidSigner,
        *,
        concurrency: int = 64,
        timeout_s: float = REQUEST_TIMEOUT_S,
        allowed_test_hosts: Collection[str] = (),
        dns: AbstractResolver | None = None,
    ) -> None:
        self.signer = signer
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.allowed_test_hosts = frozenset(allowed_test_hosts)
        self._resolver = PublicAddressResolver(self.allowed_test_hosts, dns)
        self._slots = asyncio.Semaphore(concurrency)
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, str | None] = {}
        self._refusals: dict[str, str | None] = {}

    def _refusal_of(self, endpoint: str) -> str | None:
        """Why this push service's address is refused (looked up once per origin), or None."""
        origin = origin_of(endpoint)
        if origin not in self._refusals:
            refusal = endpoint_refusal(origin, self.allowed_test_hosts)
            self._refusals[origin] = None if refusal is None else refusal.value
        return self._refusals[origin]

    def _proxy_for(self, endpoint: str) -> str | None:
        """HTTPS_PROXY/NO_PROXY, looked up once per push service rather than per message.

        (aiohttp's ``trust_env`` would do it for every request, and read ~/.netrc each time
        in a thread: measured, it costs a third of the throughput.)
        """
        origin = origin_of(endpoint)
        if origin not in self._proxies:
            parts = urlsplit(origin)
            bypass = bool(proxy_bypass(parts.hostname or ""))
            proxy = None if bypass else getproxies().get(parts.scheme)
            if proxy:
                # The proxy is ours to trust (it may well be on the private network); it
                # connects to the push service itself, named by the address checked above.
                self._resolver.trusted_hosts.add(urlsplit(proxy).hostname or "")
            self._proxies[origin] = proxy
        return self._proxies[origin]

    def _client(self) -> aiohttp.ClientSession:
        # Made on first use: an aiohttp session belongs to the event loop that runs it.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self.concurrency, keepalive_timeout=60, resolver=self._resolver
                ),
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                auto_decompress=False,
            )
        return self._session

    async def send(
        self,
        target: PushTarget,
        payload: bytes,
        *,
        ttl: int = DEFAULT_TTL_S,
        urgency: str = "normal",
        topic: str | None = None,
        now: datetime | None = None,
    ) -> SendResult:
        refusal = self._refusal_of(target.endpoint)
        if refusal is not None:
            return SendResult(Outcome.failed, error=f"refused push address: {refusal}")
        headers = {
            "Authorization": self.signer.authorization(target.endpoint),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(ttl),
            "Urgency": urgency,
        }
        if topic:
            headers["Topic"] = topic
        async with self._slots:
            # Encrypting inside the slot keeps memory bounded to `concurrency` bodies.
            try:
                body = encrypt_payload(payload, target)
            except (ValueError, TypeError, http_ece.ECEException) as exc:
                return SendResult(Outcome.failed, error=f"cannot encrypt: {exc}"[:300])
            try:
                async with self._client().post(
                    target.endpoint,
                    data=body,
                    headers=headers,
                    allow_redirects=False,
                    proxy=self._proxy_for(target.endpoint),
                ) as response:
                    await response.read()
                    status, retry_after = response.status, response.headers.get("Retry-After")
            except aiohttp.ClientConnectorError as exc:
                if isinstance(exc.os_error, RefusedAddress):
                    # Trying again would not help: the address is not one Relay posts to.
                    return SendResult(Outcome.failed, error=str(exc.os_error)[:300])
                return SendResult(Outcome.retry, error=f"{type(exc).__name__}: {exc}"[:300])
            except (aiohttp.ClientError, TimeoutError) as exc:
                return SendResult(Outcome.retry, error=f"{type(exc).__name__}: {exc}"[:300])
        return result_of_response(status, retry_after, now or datetime.now(UTC))

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
        await self._resolver.close()
