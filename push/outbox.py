"""The outbox: push deliveries are rows first, sent later by a worker.

:func:`enqueue` is the one place that creates deliveries. It writes every row of a message in
one transaction before anything is sent, so a campaign is either wholly queued or not at all,
and a crash or restart afterwards resumes from the rows. Workers claim what
:func:`deliveries_due` selects; editors read results with :func:`campaign_stats`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum

from piccolo.columns.combination import WhereRaw
from piccolo.query import Select

from app.core.db import write_transaction
from app.core.outbox import Doorbell
from push.sender import DEFAULT_TTL_S, MAX_PAYLOAD_BYTES, URGENCIES
from push.tables import OPEN_STATES, DeliveryState, PushDelivery, PushSubscription

# Every kind of push Relay writes; a nudge of another kind is refused when it is written
# (app.notifications.nudges), and tests check that each kind the app writes is here.
KINDS = frozenset(
    {
        "campaign",
        "content",
        "referral",
        "reward",
        "redemption",
        "summary",
        "reengage",
        "event",
        "test",
        "voice",
    }
)
MAX_TTL_S = 28 * 24 * 3600
# RFC 8030 §5.4: a topic is at most 32 characters of the URL-safe base64 alphabet.
TOPIC_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")
# Rows per INSERT and ids per IN (…): well under SQLite's and asyncpg's parameter limits.
CHUNK = 500


class MessageProblem(StrEnum):
    """Why a message cannot be queued; the app words each one for the person who wrote it."""

    no_title = "no_title"
    too_long = "too_long"  # ``excess``: how many bytes too long


class PushMessageError(ValueError):
    """A message that cannot be queued, and why (``problem``, and ``excess`` when too long)."""

    def __init__(self, problem: MessageProblem, excess: int = 0) -> None:
        super().__init__(f"{problem.value} (by {excess} bytes)" if excess else problem.value)
        self.problem = problem
        self.excess = excess


@dataclass(frozen=True)
class PushMessage:
    """What the notification shows, as the service worker reads it from the payload."""

    title: str
    body: str
    url: str = "/"
    icon: str | None = None
    badge: str | None = None
    image: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class CampaignStats:
    targeted: int
    sent: int
    failed: int
    pruned: int
    pending: int


def payload_json(message: PushMessage, delivery_id: str) -> str:
    """The JSON the browser receives; ``id`` names this delivery (for clicks and receipts)."""
    fields = {key: value for key, value in asdict(message).items() if value is not None}
    return json.dumps({"id": delivery_id, **fields}, ensure_ascii=False, separators=(",", ":"))


def new_delivery_id() -> str:
    return uuid.uuid4().hex


def check_message(
    message: PushMessage, *, kind: str, topic: str | None, urgency: str, ttl: int
) -> None:
    """Refuse what push services would refuse, before any row is written."""
    if kind not in KINDS:
        raise ValueError(f"unknown push kind {kind!r}; use one of {sorted(KINDS)}")
    if urgency not in URGENCIES:
        raise ValueError(f"urgency must be one of {URGENCIES}, not {urgency!r}")
    if not 0 <= ttl <= MAX_TTL_S:
        raise ValueError(f"ttl must be from 0 to {MAX_TTL_S} seconds, not {ttl}")
    if topic is not None and not TOPIC_PATTERN.fullmatch(topic):
        raise ValueError("a topic is 1 to 32 characters of A-Z, a-z, 0-9, '-' and '_'")
    if not message.title.strip():
        raise PushMessageError(MessageProblem.no_title)
    # Every delivery id has the same length, so one measure holds for all of them.
    size = len(payload_json(message, new_delivery_id()).encode())
    if size > MAX_PAYLOAD_BYTES:
        raise PushMessageError(MessageProblem.too_long, excess=size - MAX_PAYLOAD_BYTES)


# The open states written out, not bound as parameters: only then can SQLite (and PostgreSQL's
# generic plans) see that the query matches the partial index ``push_delivery_due`` instead of
# scanning and sorting every delivery ever sent.
OPEN_ROWS = WhereRaw("state IN (" + ", ".join(f"'{state}'" for state in OPEN_STATES) + ")")

# Rung after this process queued deliveries: the workers running here send them at once.
QUEUED = Doorbell()


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


async def _active_subscription_ids(
    subscription_ids: Sequence[int] | None, member_ids: Sequence[int] | None
) -> list[int]:
    found: list[int] = []
    if subscription_ids:
        for chunk in _chunks(list(dict.fromkeys(subscription_ids))):
            rows = await PushSubscription.select(PushSubscription.id).where(
                PushSubscription.id.is_in(list(chunk)), PushSubscription.active.eq(True)
            )
            found += [row["id"] for row in rows]
    if member_ids:
        for chunk in _chunks(list(dict.fromkeys(member_ids))):
            rows = await PushSubscription.select(PushSubscription.id).where(
                PushSubscription.member.is_in(list(chunk)), PushSubscription.active.eq(True)
            )
            found += [row["id"] for row in rows]
    return sorted(set(found))


async def enqueue(
    message: PushMessage,
    *,
    kind: str,
    subscription_ids: Sequence[int] | None = None,
    member_ids: Sequence[int] | None = None,
    campaign_id: int | None = None,
    topic: str | None = None,
    urgency: str = "normal",
    ttl: int = DEFAULT_TTL_S,
    now: datetime | None = None,
) -> int:
    """Queue ``message`` for the given subscriptions and every active device of ``member_ids``.

    Returns how many deliveries were written (inactive subscriptions are skipped; a device
    named twice gets one delivery). Raises :class:`PushMessageError` for a message push cannot
    carry (too long, no title) and ValueError for a programming mistake (unknown kind…).
    Runs in the caller's transaction when there is one, so a campaign row and its deliveries
    can be written together; workers then see them at their next poll.
    """
    check_message(message, kind=kind, topic=topic, urgency=urgency, ttl=ttl)
    now = now or datetime.now(UTC)
    count = 0
    async with write_transaction():
        targets = await _active_subscription_ids(subscription_ids, member_ids)
        for chunk in _chunks(targets):
            keys = [new_delivery_id() for _ in chunk]
            await PushDelivery.insert(
                *(
                    PushDelivery(
                        subscription=subscription_id,
                        campaign=campaign_id,
                        kind=kind,
                        key=key,
                        payload=payload_json(message, key),
                        topic=topic,
                        urgency=urgency,
                        ttl=ttl,
                        state=DeliveryState.pending.value,
                        next_attempt_at=now,
                        created_at=now,
                    )
                    for subscription_id, key in zip(chunk, keys, strict=True)
                )
            )
            count += len(chunk)
    if count:
        QUEUED.ring()
    return count


def deliveries_due(now: datetime, limit: int) -> Select:
    """The ids of deliveries a worker may take at ``now``, the longest-waiting first, for
    :func:`app.core.outbox.claim`.

    That is pending rows whose time has come and claimed rows whose lease has run out (the
    claim moves ``next_attempt_at`` to the lease's end).
    """
    return (
        PushDelivery.select(PushDelivery.id)
        .where(OPEN_ROWS, PushDelivery.next_attempt_at <= now)
        .order_by(PushDelivery.next_attempt_at)
        .limit(limit)
    )


async def campaign_stats(campaign_id: int) -> CampaignStats:
    """How a campaign's deliveries stand: targeted is every row written for it."""
    rows = await PushDelivery.raw(
        "SELECT state, COUNT(*) AS n FROM push_delivery WHERE campaign = {} GROUP BY state",
        campaign_id,
    )
    by_state = {row["state"]: int(row["n"]) for row in rows}
    return CampaignStats(
        targeted=sum(by_state.values()),
        sent=by_state.get(DeliveryState.sent.value, 0),
        failed=by_state.get(DeliveryState.failed.value, 0),
        pruned=by_state.get(DeliveryState.pruned.value, 0),
        pending=by_state.get(DeliveryState.pending.value, 0)
        + by_state.get(DeliveryState.sending.value, 0),
    )


def campaign_recipients(campaign_id: int) -> Select:
    """The members a campaign's deliveries were written for, as a sub-query of member ids
    (for ``.is_in()``: the database reads it, however many recipients there are)."""
    return PushDelivery.select(PushDelivery.subscription.member).where(
        PushDelivery.campaign == campaign_id
    )


@dataclass(frozen=True)
class DeliveryOrigin:
    """What a delivery was written for: its campaign (None for a nudge) and its kind."""

    campaign: int | None
    kind: str


async def delivery_with_key(key: str) -> DeliveryOrigin | None:
    """The delivery whose payload carried ``key`` as its ``id``, or None for no delivery."""
    row = (
        await PushDelivery.select(PushDelivery.campaign, PushDelivery.kind)
        .where(PushDelivery.key == key)
        .first()
    )
    return None if row is None else DeliveryOrigin(row["campaign"], row["kind"])
