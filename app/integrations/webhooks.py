"""Outbound webhooks for the applicant tracking system, as the Standard Webhooks
specification says (https://www.standardwebhooks.com): every request carries ``webhook-id``
(the same on every attempt of one message), ``webhook-timestamp`` (seconds, this attempt) and
``webhook-signature`` (``v1,`` + base64 of HMAC-SHA256 over ``id.timestamp.body``, keyed with
the endpoint's ``whsec_`` secret).

Events come from the activity ledger: :func:`on_activity_recorded` is subscribed to
:class:`~app.activity.service.ActivityRecorded` (app.wiring), which the candidates and
sharing domains publish inside the transaction of what happened, so a delivery row is
written with its cause or not at all. Deliveries are a durable outbox like push and mail
(:mod:`app.core.outbox`): claimed with a lease, retried with backoff, given up after
:data:`MAX_ATTEMPTS`; each row is also the delivery log (the receiver's last answer).

Payloads are thin: ids, the offer's ATS id, stages. Who the candidate is comes from the API
(``candidates:read``), so a webhook receiver's logs hold no one's personal data.

Endpoints must be https on a public host, the same rule as push addresses
(:func:`push.addresses.endpoint_refusal`, checked again at connect time by
:class:`push.addresses.PublicAddressResolver`); only ``WEBHOOK_ALLOWED_TEST_HOSTS`` are
exempt, for a test receiver.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from app.accounts import audit
from app.activity.service import ActivityRecorded
from app.activity.tables import ActivityKind
from app.candidates.tables import Stage
from app.content.tables import ContentItem, Kind
from app.core.clock import now as clock_now
from app.core.db import write_transaction
from app.core.forms import FormResult
from app.core.i18n import _
from app.core.outbox import Doorbell, claim, new_worker_name, retry_delay
from app.core.sealed import seal, unseal
from app.core.settings import Settings
from app.core.tasks import BackgroundTask
from app.integrations.tables import (
    ExternalOffer,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookState,
)
from push.addresses import PublicAddressResolver, Refusal, endpoint_refusal

log = logging.getLogger("relay.webhooks")

CANDIDATE_CREATED = "candidate.created"
STAGE_CHANGED = "candidate.stage_changed"
HIRED = "candidate.hired"
OFFER_SHARED = "offer.shared"
EVENT_TYPES = (CANDIDATE_CREATED, STAGE_CHANGED, HIRED, OFFER_SHARED)

# Retries wait 30 s, 1 min, 2 min… up to an hour (retry_delay): the 10th attempt comes about
# three hours after the first, then the delivery is given up.
MAX_ATTEMPTS = 10
LEASE = timedelta(minutes=5)
BATCH_SIZE = 20
TIMEOUT_S = 15
KEEP_FINISHED = timedelta(days=30)
SECRET_PREFIX = "whsec_"  # noqa: S105 (the spec's prefix, not a secret)
MAX_ENDPOINTS = 20

# Rung when this process queued deliveries (once their transaction has had time to commit).
QUEUED = Doorbell()


# --- Signing ---------------------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` header's value for one attempt."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers_for(secret: str, message_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": "Relay-Webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }


# --- Endpoints (the admin's page) -----------------------------------------------------------


def address_problem(refusal: Refusal | None) -> str | None:
    if refusal is None:
        return None
    if refusal is Refusal.malformed:
        return _("Enter the full https:// address of the receiver.")
    if refusal is Refusal.not_https:
        return _("The address must start with https://.")
    if refusal is Refusal.port:
        return _("Use the standard https port (443).")
    return _("Relay only posts to a public host name, not to a private address or an IP.")


def check_endpoint(values: dict[str, Any], settings: Settings) -> FormResult:
    form = FormResult.of(values)
    url = form.text(
        "url",
        max_length=500,
        required=_("Enter the https:// address of the receiver."),
        too_long=_("Keep the address under 500 characters."),
    )
    if url:
        problem = address_problem(endpoint_refusal(url, settings.webhook_allowed_test_hosts))
        if problem:
            form.fail("url", problem)
    form.text("description", max_length=80, too_long=_("Keep the description under 80 characters."))
    return form


SEAL_PURPOSE = "webhook signing secret"  # the key app.core.sealed derives for it


async def add_endpoint(
    settings: Settings, url: str, description: str, by: int, client: str = ""
) -> tuple[int, str]:
    """A new endpoint: its id and its secret (shown to the admin on this answer, kept sealed
    with a key derived from SECRET_KEY: signing needs it back, a copy of the database alone
    does not give it away)."""
    secret = new_secret()
    sealed = seal(settings.secret_key, SEAL_PURPOSE, secret)
    async with write_transaction():
        rows = await WebhookEndpoint.insert(
            WebhookEndpoint(url=url, description=description, sealed_secret=sealed, created_by=by)
        ).returning(WebhookEndpoint.id)
        await audit.record("webhook_endpoint_added", actor=by, client=client, url=url)
    return int(rows[0]["id"]), secret


async def endpoint_count() -> int:
    return await WebhookEndpoint.count().where(WebhookEndpoint.disabled_at.is_null())


async def remove_endpoint(endpoint_id: int, by: int, client: str = "") -> bool:
    """Stop posting there; its log stays for the admin to read."""
    async with write_transaction():
        rows = (
            await WebhookEndpoint.update({WebhookEndpoint.disabled_at: clock_now()})
            .where((WebhookEndpoint.id == endpoint_id) & WebhookEndpoint.disabled_at.is_null())
            .returning(WebhookEndpoint.url)
        )
        if not rows:
            return False
        await WebhookDelivery.update(
            {WebhookDelivery.state: WebhookState.failed.value, WebhookDelivery.last_answer: ""}
        ).where(
            (WebhookDelivery.endpoint == endpoint_id)
            & (WebhookDelivery.state == WebhookState.pending.value)
        )
        await audit.record("webhook_endpoint_removed", actor=by, client=client, url=rows[0]["url"])
    return True


async def endpoints_with_log(per_endpoint: int = 10) -> list[dict[str, Any]]:
    """Live endpoints, newest first, each with its last deliveries: never the secret."""
    endpoints = await (
        WebhookEndpoint.select(
            WebhookEndpoint.id,
            WebhookEndpoint.url,
            WebhookEndpoint.description,
            WebhookEndpoint.created_at,
        )
        .where(WebhookEndpoint.disabled_at.is_null())
        .order_by(WebhookEndpoint.id, ascending=False)
    )
    for endpoint in endpoints:
        endpoint["deliveries"] = await (
            WebhookDelivery.select(
                WebhookDelivery.id,
                WebhookDelivery.message_id,
                WebhookDelivery.event_type,
                WebhookDelivery.state,
                WebhookDelivery.attempts,
                WebhookDelivery.last_status,
                WebhookDelivery.last_answer,
                WebhookDelivery.last_attempt_at,
                WebhookDelivery.next_attempt_at,
                WebhookDelivery.created_at,
            )
            .where(WebhookDelivery.endpoint == endpoint["id"])
            .order_by(WebhookDelivery.id, ascending=False)
            .limit(per_endpoint)
        )
    return endpoints


# --- Events: rows in the transaction of their cause ------------------------------------------


async def _offer_of(item_id: int | None) -> dict[str, Any] | None:
    if item_id is None:
        return None
    row = (
        await ContentItem.select(ContentItem.id, ContentItem.kind, ContentItem.title)
        .where(ContentItem.id == item_id)
        .first()
    )
    if row is None:
        return None
    external = (
        await ExternalOffer.select(ExternalOffer.external_id)
        .where(ExternalOffer.item == item_id)
        .first()
    )
    return {
        "id": row["id"],
        "kind": row["kind"],
        "external_id": external["external_id"] if external else None,
    }


def events_of(
    activity: dict[str, Any], offer: dict[str, Any] | None
) -> list[tuple[str, dict[str, Any]]]:
    """The webhook events an activity makes: (type, data)."""
    kind = activity["kind"]
    detail = activity.get("detail") or {}
    if isinstance(detail, str):
        detail = json.loads(detail or "{}")
    if offer is None or offer["kind"] != Kind.offer.value:
        return []
    offer_ref = {"id": offer["id"], "external_id": offer["external_id"]}
    if kind in (ActivityKind.application.value, ActivityKind.recommendation.value):
        created = {"candidate": {"id": detail.get("candidate"), "source": kind}, "offer": offer_ref}
        return [(CANDIDATE_CREATED, created)]
    if kind == ActivityKind.stage.value:
        data = {
            "candidate": {"id": detail.get("candidate")},
            "offer": offer_ref,
            "stage": detail.get("stage"),
            "previous_stage": detail.get("before"),
        }
        found = [(STAGE_CHANGED, data)]
        if detail.get("stage") == Stage.hired.value:
            found.append((HIRED, data))
        return found
    if kind == ActivityKind.share.value:
        return [(OFFER_SHARED, {"offer": offer_ref, "network": detail.get("network")})]
    return []


async def enqueue(event_type: str, data: dict[str, Any], at: datetime | None = None) -> int:
    """One delivery per live endpoint; call it in the transaction of the cause."""
    endpoints = await WebhookEndpoint.select(WebhookEndpoint.id).where(
        WebhookEndpoint.disabled_at.is_null()
    )
    if not endpoints:
        return 0
    at = at or clock_now()
    rows = []
    for endpoint in endpoints:
        message_id = f"msg_{uuid.uuid4().hex}"
        payload = json.dumps(
            {"type": event_type, "timestamp": at.isoformat(), "data": data},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        rows.append(
            WebhookDelivery(
                endpoint=endpoint["id"],
                message_id=message_id,
                event_type=event_type,
                payload=payload,
                next_attempt_at=at,
            )
        )
    await WebhookDelivery.insert(*rows)
    _ring_soon()
    return len(rows)


def _ring_soon() -> None:
    """Wake this process's sender once the transaction that queued has committed (there is
    no commit hook: a moment later; the sender's poll finds what that misses)."""
    with contextlib.suppress(RuntimeError):
        asyncio.get_running_loop().call_later(0.5, QUEUED.ring)


async def on_activity_recorded(event: ActivityRecorded) -> None:
    """Candidates applied or accepted, moved, hired; offers shared: to every endpoint."""
    activity = event.activity
    if activity["kind"] not in {
        ActivityKind.application.value,
        ActivityKind.recommendation.value,
        ActivityKind.stage.value,
        ActivityKind.share.value,
    }:
        return
    if not await WebhookEndpoint.exists().where(WebhookEndpoint.disabled_at.is_null()):
        return
    offer = await _offer_of(activity.get("item"))
    for event_type, data in events_of(activity, offer):
        await enqueue(event_type, data, at=activity.get("at"))


# --- Sending ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    id: int
    message_id: str
    payload: str
    attempts: int
    url: str
    sealed_secret: str


@dataclass(frozen=True)
class Outcome:
    delivery: Claimed
    status: int | None
    answer: str
    retry_after_s: float | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


async def claim_due(sender: str, at: datetime, limit: int = BATCH_SIZE) -> list[Claimed]:
    due = (
        WebhookDelivery.select(WebhookDelivery.id)
        .where(
            WebhookDelivery.state == WebhookState.pending.value,
            WebhookDelivery.next_attempt_at <= at,
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    )
    ids = await claim(
        due, {WebhookDelivery.claimed_by: sender, WebhookDelivery.next_attempt_at: at + LEASE}
    )
    if not ids:
        return []
    rows = await WebhookDelivery.select(
        WebhookDelivery.id,
        WebhookDelivery.message_id,
        WebhookDelivery.payload,
        WebhookDelivery.attempts,
        WebhookDelivery.endpoint.url.as_alias("url"),
        WebhookDelivery.endpoint.sealed_secret.as_alias("sealed_secret"),
    ).where(WebhookDelivery.id.is_in(ids))
    return [Claimed(**row) for row in rows]


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return min(float(value.strip()), 3600.0)
    return None


async def post(session: aiohttp.ClientSession, settings: Settings, delivery: Claimed) -> Outcome:
    refusal = endpoint_refusal(delivery.url, settings.webhook_allowed_test_hosts)
    if refusal is not None:
        return Outcome(delivery, None, f"Refused address: {refusal.value}")
    secret = unseal(settings.secret_key, SEAL_PURPOSE, delivery.sealed_secret)
    if secret is None:
        return Outcome(delivery, None, "The signing secret cannot be read: SECRET_KEY changed")
    timestamp = int(time.time())  # this attempt's moment, which receivers check as recent
    headers = headers_for(secret, delivery.message_id, timestamp, delivery.payload)
    try:
        async with session.post(
            delivery.url, data=delivery.payload.encode(), headers=headers, allow_redirects=False
        ) as response:
            answer = (await response.content.read(300)).decode("utf-8", "replace")
            return Outcome(
                delivery,
                response.status,
                answer.strip()[:300],
                _retry_after(response.headers.get("retry-after"))
                if response.status in (429, 503)
                else None,
            )
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return Outcome(delivery, None, f"{type(exc).__name__}: {exc}"[:300])


async def send_batch(settings: Settings, batch: Sequence[Claimed]) -> list[Outcome]:
    resolver = PublicAddressResolver(trusted_hosts=settings.webhook_allowed_test_hosts)
    connector = aiohttp.TCPConnector(resolver=resolver, limit=10)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        return list(await asyncio.gather(*(post(session, settings, d) for d in batch)))


async def record(sender: str, outcomes: Sequence[Outcome], at: datetime) -> None:
    ours = WebhookDelivery.claimed_by == sender
    async with write_transaction():
        for outcome in outcomes:
            attempts = outcome.delivery.attempts + 1
            common: dict[Any, Any] = {
                WebhookDelivery.attempts: attempts,
                WebhookDelivery.last_status: outcome.status,
                WebhookDelivery.last_answer: outcome.answer,
                WebhookDelivery.last_attempt_at: at,
            }
            if outcome.delivered:
                changes = {
                    **common,
                    WebhookDelivery.state: WebhookState.delivered.value,
                    WebhookDelivery.delivered_at: at,
                }
            elif attempts >= MAX_ATTEMPTS:
                log.warning("Webhook %s given up: %s", outcome.delivery.id, outcome.answer)
                changes = {**common, WebhookDelivery.state: WebhookState.failed.value}
            else:
                changes = {
                    **common,
                    WebhookDelivery.next_attempt_at: at
                    + retry_delay(attempts, outcome.retry_after_s),
                }
            await WebhookDelivery.update(changes).where(
                WebhookDelivery.id == outcome.delivery.id, ours
            )


async def deliver_due(settings: Settings, at: datetime | None = None, sender: str = "") -> int:
    """Post every delivery due at ``at`` (now by default); how many were attempted."""
    at = at or clock_now()
    sender = sender or new_worker_name()
    attempted = 0
    while batch := await claim_due(sender, at):
        outcomes = await send_batch(settings, batch)
        await record(sender, outcomes, at)
        attempted += len(batch)
    await WebhookDelivery.delete().where(
        WebhookDelivery.state != WebhookState.pending.value,
        WebhookDelivery.created_at < at - KEEP_FINISHED,
    )
    return attempted


class EmbeddedWebhookSender(BackgroundTask):
    """The embedded app's sender: at once when this process queued deliveries, and every
    half-minute for retries and for what other processes queued."""

    description = "webhook sender"
    log = log
    interval_s = 30.0
    wait_first = True
    doorbell = QUEUED
    stop_timeout_s = 2 * TIMEOUT_S

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    async def round(self) -> None:
        await deliver_due(self.settings)
