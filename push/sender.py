"""Sending one push message (RFC 8030), encrypted for its browser (RFC 8291), signed (RFC 8292).

One :class:`PushSender` per worker holds one HTTP client whose connections to each push
service stay open between messages, a semaphore that bounds how many requests are in flight,
and the VAPID signer that reuses one token per push-service origin. What a response means
for the delivery (sent, gone, retry later, failed) is decided by :func:`result_of_response`,
a plain function of the status and headers.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from urllib.parse import quote, urlsplit
from urllib.request import getproxies, proxy_bypass

from aiohttp.abc import AbstractResolver
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.core.vapid_keys import b64url_decode
from push.addresses import PublicAddressResolver, RefusedAddress, endpoint_refusal
from push.client import PushClient, Service
from push.vapid import VapidSigner

# Push services accept at most 4096 bytes of encrypted body. aes128gcm adds a header
# (16-byte salt, 4-byte record size, 1-byte key id length, 65-byte key id), a 16-byte tag
# and a 1-byte padding delimiter: 103 bytes, leaving 3993 bytes of plaintext (RFC 8291 §4).
MAX_ENCRYPTED_BYTES = 4096
ENCRYPTION_OVERHEAD_BYTES = 16 + 4 + 1 + 65 + 16 + 1
MAX_PAYLOAD_BYTES = MAX_ENCRYPTED_BYTES - ENCRYPTION_OVERHEAD_BYTES

DEFAULT_TTL_S = 24 * 3600
URGENCIES = ("very-low", "low", "normal", "high")
REQUEST_TIMEOUT_S = 15.0
# A request target sent as it is: printable ASCII without spaces; anything else is quoted.
PLAIN_TARGET = re.compile(r"[!-~]+")


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


# RFC 8291 §3.4 and RFC 8188 §2.2: the labels of the HKDF steps.
KEY_INFO_LABEL = b"WebPush: info\x00"
CEK_INFO = b"Content-Encoding: aes128gcm\x00\x01"
NONCE_INFO = b"Content-Encoding: nonce\x00\x01"
# One record holds the largest payload push services take (3993 + 1 + 16 <= 4096).
RECORD_SIZE = (4096).to_bytes(4, "big")
P256 = ec.SECP256R1()


def _hkdf_one_block(salt: bytes, ikm: bytes, info: bytes) -> bytes:
    """HKDF-SHA-256 (RFC 5869) for outputs of at most 32 bytes: extract, then the one
    block of expand (``info`` already ends with its 0x01 counter)."""
    return hmac.digest(hmac.digest(salt, ikm, "sha256"), info, "sha256")


def encrypt_payload(payload: bytes, target: PushTarget) -> bytes:
    """The aes128gcm body for ``target`` (RFC 8291 §3.4, RFC 8188): a fresh ephemeral key and
    salt per message, the whole payload in one record.

    Written out with the primitives rather than through ``http_ece.encrypt`` (which the test
    push service decrypts with): the same bytes for ~30 % less CPU, since http_ece builds
    HKDF and cipher objects for every step of a format it handles in all its versions.
    """
    receiver = b64url_decode(target.p256dh)
    ephemeral = ec.generate_private_key(P256)
    sender = ephemeral.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    shared = ephemeral.exchange(
        ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(P256, receiver)
    )
    ikm = _hkdf_one_block(
        b64url_decode(target.auth), shared, KEY_INFO_LABEL + receiver + sender + b"\x01"
    )
    salt = os.urandom(16)
    prk = hmac.digest(salt, ikm, "sha256")
    key = hmac.digest(prk, CEK_INFO, "sha256")[:16]
    nonce = hmac.digest(prk, NONCE_INFO, "sha256")[:12]
    # The 0x02 delimiter marks the last (here the only) record, without padding.
    sealed = AESGCM(key).encrypt(nonce, payload + b"\x02", None)
    return b"".join((salt, RECORD_SIZE, bytes((len(sender),)), sender, sealed))


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
    """Sends encrypted pushes over kept-alive connections, ``concurrency`` at a time.

    The HTTP client is Relay's own (:class:`push.client.PushClient`, HTTP/1.1 on asyncio with
    llhttp's parser): aiohttp's request machinery cost 330–460 µs of CPU per request, more
    than the encryption, where every push request is the same small POST. (httpx's pool was
    slower still: it rescans every connection for every request.)

    Every address is checked before the request (:func:`push.addresses.endpoint_refusal`,
    once per push service) and when connecting (the client's resolver keeps only public
    addresses, :class:`push.addresses.PublicAddressResolver`); ``allowed_test_hosts`` are
    exempt, for a local test push service. ``dns`` replaces the system's DNS (tests use it).
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
        self._client = PushClient(self._resolver, timeout_s=timeout_s, limit=concurrency)
        self._services: dict[str, tuple[str | None, Service]] = {}

    def _service(self, origin: str) -> tuple[str | None, Service]:
        """What this push service's origin needs, looked up once per origin rather than per
        message: why its address is refused (or None), and how to reach it (through the
        proxy HTTPS_PROXY/HTTP_PROXY name unless NO_PROXY exempts it).
        """
        service = self._services.get(origin)
        if service is None:
            refusal = endpoint_refusal(origin, self.allowed_test_hosts)
            parts = urlsplit(origin)
            bypass = bool(proxy_bypass(parts.hostname or ""))
            proxy = None if bypass else getproxies().get(parts.scheme)
            if proxy:
                # The proxy is ours to trust (it may well be on the private network); it
                # connects to the push service itself, named by the address checked above.
                self._resolver.trusted_hosts.add(
                    urlsplit(proxy if "://" in proxy else f"http://{proxy}").hostname or ""
                )
            service = self._services[origin] = (
                None if refusal is None else refusal.value,
                Service.of(origin, proxy) if refusal is None else Service(False, "", 0),
            )
        return service

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
        parts = urlsplit(target.endpoint)
        origin = f"{parts.scheme}://{parts.netloc}"
        refusal, service = self._service(origin)
        if refusal is not None:
            return SendResult(Outcome.failed, error=f"refused push address: {refusal}")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if not PLAIN_TARGET.fullmatch(path):
            path = quote(path, safe="/?=&%:@!$'()*+,;-._~")
        if urgency not in URGENCIES or not (topic is None or topic.isprintable()):
            return SendResult(Outcome.failed, error="invalid urgency or topic")
        headers = b"".join(
            (
                b"Authorization: ",
                self.signer.authorization_for(origin).encode(),
                b"\r\nContent-Encoding: aes128gcm\r\nContent-Type: application/octet-stream"
                b"\r\nTTL: %d\r\nUrgency: %s\r\n" % (ttl, urgency.encode()),
                b"Topic: %s\r\n" % topic.encode() if topic else b"",
            )
        )
        async with self._slots:
            # Encrypting inside the slot keeps memory bounded to `concurrency` bodies.
            try:
                body = encrypt_payload(payload, target)
            except (ValueError, TypeError) as exc:
                return SendResult(Outcome.failed, error=f"cannot encrypt: {exc}"[:300])
            try:
                response = await self._client.post(service, path, headers, body)
            except RefusedAddress as exc:
                # Trying again would not help: the address is not one Relay posts to.
                return SendResult(Outcome.failed, error=str(exc)[:300])
            except (OSError, TimeoutError) as exc:
                # ConnectorError, ResponseError, a reset connection, the deadline.
                return SendResult(Outcome.retry, error=f"{type(exc).__name__}: {exc}"[:300])
        return result_of_response(response.status, response.retry_after, now or datetime.now(UTC))

    async def aclose(self) -> None:
        await self._client.aclose()
        await self._resolver.close()
