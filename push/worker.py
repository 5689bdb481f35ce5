"""The worker that drains the push outbox: claim due rows with a lease, send, record, repeat.

Any number of workers may run at once (``relay worker`` processes, or the one embedded in the
app on SQLite). A claim (:func:`claim_due`, by :func:`app.core.outbox.claim`'s rules) marks a
batch of due rows as ``sending`` by this worker until a lease ends; a worker that dies leaves
its rows claimed until the lease runs out, then they are due again, so nothing is lost. A message whose request
completed but whose result was not yet recorded when the worker died is sent again: results
are recorded per small batch, as soon as its requests finish, to keep that window to a
fraction of a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from piccolo.columns import Column

from app.core.db import is_postgres, write_transaction
from app.core.outbox import new_worker_name, retry_delay, skip_locked
from app.core.settings import Settings
from app.core.tasks import BackgroundTask
from push.outbox import QUEUED, deliveries_due
from push.sender import Outcome, PushSender, PushTarget, SendResult
from push.tables import DeliveryState, PushDelivery, PushSubscription
from push.vapid import VapidSigner

log = logging.getLogger("relay.push")

DEFAULT_BATCH_SIZE = 100
DEFAULT_CONCURRENCY = 64
DEFAULT_LEASE = timedelta(minutes=2)
DEFAULT_POLL_INTERVAL_S = 1.0
# Claimed batches being sent at once: while one batch waits for its last answers the next
# is already on the wire.
DEFAULT_PIPELINE_DEPTH = 3


@dataclass(frozen=True)
class ClaimedDelivery:
    id: int
    subscription_id: int
    # None when the subscription was deactivated after the delivery was queued.
    target: PushTarget | None
    payload: str
    topic: str | None
    urgency: str
    ttl: int
    attempts: int


# The claim as one statement: the due rows (skipping, on PostgreSQL, those another worker's
# claim holds), marked this worker's until the lease ends, returned with their device's
# address and keys. The rules are app.core.outbox.claim's (the same due rows, row locks and
# relaxed commit); written out so that the claim and the read of what to send are one round
# trip instead of three (select, update, select): on PostgreSQL a worker waited on them.
CLAIM_SQL = """
UPDATE push_delivery SET state = {}, claimed_by = {}, claimed_until = {}, next_attempt_at = {}
WHERE id IN ({})
RETURNING id, subscription, payload, topic, urgency, ttl, attempts,
    (SELECT endpoint FROM push_subscription WHERE id = push_delivery.subscription) AS endpoint,
    (SELECT p256dh FROM push_subscription WHERE id = push_delivery.subscription) AS p256dh,
    (SELECT auth FROM push_subscription WHERE id = push_delivery.subscription) AS auth,
    (SELECT active FROM push_subscription WHERE id = push_delivery.subscription) AS active
"""


async def claim_due(
    worker_name: str, *, now: datetime, limit: int, lease: timedelta
) -> list[ClaimedDelivery]:
    """Take up to ``limit`` due deliveries for ``worker_name`` until ``now + lease``."""
    until = now + lease
    due = skip_locked(deliveries_due(now, limit)).querystrings[0]
    async with write_transaction(flush=False):
        rows = await PushDelivery.raw(
            CLAIM_SQL, DeliveryState.sending.value, worker_name, until, until, due
        )
    return [
        ClaimedDelivery(
            id=row["id"],
            subscription_id=row["subscription"],
            # None when the subscription was deactivated after the delivery was queued.
            target=PushTarget(row["endpoint"], row["p256dh"], row["auth"])
            if row["active"]
            else None,
            payload=row["payload"],
            topic=row["topic"],
            urgency=row["urgency"],
            ttl=row["ttl"],
            attempts=row["attempts"],
        )
        for row in rows
    ]


async def record_results(
    worker_name: str,
    results: Sequence[tuple[ClaimedDelivery, SendResult]],
    *,
    now: datetime,
    max_attempts: int,
) -> None:
    """Write what the push services answered, in one transaction for the whole batch.

    Sent rows are updated together (the common case costs a couple of statements per batch);
    retries each get their own time. Rows another worker took over (our lease ran out) are
    left to it.
    """
    sent: dict[int | None, list[int]] = defaultdict(list)
    ok_subscriptions: list[int] = []
    gone: list[tuple[ClaimedDelivery, SendResult]] = []
    troubled: list[tuple[ClaimedDelivery, SendResult]] = []
    for delivery, result in results:
        if result.outcome is Outcome.sent:
            sent[result.status_code].append(delivery.id)
            ok_subscriptions.append(delivery.subscription_id)
        elif result.outcome is Outcome.gone:
            gone.append((delivery, result))
        else:
            troubled.append((delivery, result))
    ours = PushDelivery.claimed_by == worker_name
    # claimed_by stays: it tells which worker sent the row.
    released: dict[Column | str, Any] = {PushDelivery.claimed_until: None}
    async with write_transaction():
        for status_code, ids in sent.items():
            await PushDelivery.update(
                {
                    PushDelivery.state: DeliveryState.sent.value,
                    PushDelivery.sent_at: now,
                    PushDelivery.status_code: status_code,
                    PushDelivery.attempts: PushDelivery.attempts + 1,
                    PushDelivery.error: "",
                    **released,
                }
            ).where(PushDelivery.id.is_in(ids), ours)
        if ok_subscriptions:
            await PushSubscription.update(
                {PushSubscription.last_ok_at: now, PushSubscription.failures: 0}
            ).where(PushSubscription.id.is_in(sorted(set(ok_subscriptions))))
        if gone:
            for delivery, result in gone:
                await PushDelivery.update(
                    {
                        PushDelivery.state: DeliveryState.pruned.value,
                        PushDelivery.status_code: result.status_code,
                        PushDelivery.attempts: PushDelivery.attempts
                        + (1 if result.status_code else 0),
                        PushDelivery.error: result.error,
                        **released,
                    }
                ).where(PushDelivery.id == delivery.id, ours)
            # Deactivated, not deleted: the campaign figures keep their pruned rows, and
            # deliveries still queued for the device are pruned when a worker reaches them.
            await PushSubscription.update({PushSubscription.active: False}).where(
                PushSubscription.id.is_in(sorted({d.subscription_id for d, _ in gone}))
            )
        for delivery, result in troubled:
            attempts = delivery.attempts + 1
            give_up = result.outcome is Outcome.failed or attempts >= max_attempts
            await PushDelivery.update(
                {
                    PushDelivery.state: (
                        DeliveryState.failed.value if give_up else DeliveryState.pending.value
                    ),
                    PushDelivery.attempts: attempts,
                    PushDelivery.status_code: result.status_code,
                    PushDelivery.error: result.error[:300],
                    PushDelivery.next_attempt_at: now
                    + (timedelta(0) if give_up else retry_delay(attempts, result.retry_after_s)),
                    **released,
                }
            ).where(PushDelivery.id == delivery.id, ours)
        if troubled:
            await PushSubscription.update(
                {PushSubscription.failures: PushSubscription.failures + 1}
            ).where(PushSubscription.id.is_in(sorted({d.subscription_id for d, _ in troubled})))


class PushWorker(BackgroundTask):
    """Drains the outbox: in the background from :meth:`start` to :meth:`stop`, or step by
    step with :meth:`run_once`.

    Each round claims a batch and sends it while the next rounds claim more, up to
    ``pipeline_depth`` batches at once; with nothing due it waits for ``poll_interval_s`` or
    for deliveries queued in this process. On stop it claims nothing more and finishes the
    batches it holds, so their results are recorded before the process exits.

    ``clock`` gives the current time (aware, UTC); tests pass ``now`` to :meth:`run_once` to
    walk through backoff without waiting.
    """

    description = "push worker"
    log = log  # the module's logger, for the rounds that fail
    doorbell = QUEUED

    def __init__(
        self,
        settings: Settings,
        *,
        name: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        concurrency: int = DEFAULT_CONCURRENCY,
        lease: timedelta = DEFAULT_LEASE,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
        pipeline_depth: int = DEFAULT_PIPELINE_DEPTH,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__()
        self.name = name or new_worker_name()
        self.batch_size = batch_size
        self.lease = lease
        self.interval_s = poll_interval_s
        self.pipeline_depth = pipeline_depth
        self.max_attempts = settings.push_max_attempts
        self.clock = clock or (lambda: datetime.now(UTC))
        self.sender = PushSender(
            VapidSigner.from_settings(settings),
            concurrency=concurrency,
            allowed_test_hosts=settings.push_allowed_test_hosts,
        )
        # One database write at a time from this worker on SQLite: two of our own transactions
        # competing for the file's lock would make one sleep in SQLite's busy handler (tens of
        # milliseconds); queueing here costs nothing, and claims and records are short. On
        # PostgreSQL they go at once, on two connections, and their commits share a WAL flush.
        self._sqlite_turn = asyncio.Lock()
        self._in_flight: set[asyncio.Task[None]] = set()

    def _database_turn(self) -> contextlib.AbstractAsyncContextManager[Any]:
        return contextlib.nullcontext() if is_postgres() else self._sqlite_turn

    async def _deliver(
        self, batch: Sequence[ClaimedDelivery], now: datetime | None
    ) -> list[tuple[ClaimedDelivery, SendResult]]:
        async def one(delivery: ClaimedDelivery) -> tuple[ClaimedDelivery, SendResult]:
            if delivery.target is None:
                return delivery, SendResult(Outcome.gone, error="unsubscribed")
            try:
                result = await self.sender.send(
                    delivery.target,
                    delivery.payload.encode(),
                    ttl=delivery.ttl,
                    urgency=delivery.urgency,
                    topic=delivery.topic,
                    now=now,
                )
            except Exception as exc:
                # Whatever went wrong with this one message, the batch's results must still be
                # recorded; otherwise its rows would be claimed and sent again and again.
                log.exception("Sending push delivery %s failed", delivery.id)
                result = SendResult(Outcome.retry, error=f"{type(exc).__name__}: {exc}"[:300])
            return delivery, result

        return list(await asyncio.gather(*(one(delivery) for delivery in batch)))

    async def _deliver_and_record(
        self, batch: Sequence[ClaimedDelivery], now: datetime | None = None
    ) -> None:
        results = await self._deliver(batch, now)
        async with self._database_turn():
            await record_results(
                self.name, results, now=now or self.clock(), max_attempts=self.max_attempts
            )

    async def _claim(self, now: datetime) -> list[ClaimedDelivery]:
        async with self._database_turn():
            return await claim_due(self.name, now=now, limit=self.batch_size, lease=self.lease)

    async def run_once(self, now: datetime | None = None) -> int:
        """Claim one batch due at ``now``, send it and record the results; returns its size."""
        batch = await self._claim(now or self.clock())
        if batch:
            await self._deliver_and_record(batch, now)
        return len(batch)

    async def drain(self, now: datetime | None = None) -> int:
        """Work until nothing is due at ``now``; returns how many deliveries were handled."""
        total = 0
        while handled := await self.run_once(now):
            total += handled
        return total

    async def round(self) -> bool:
        """Claim a batch and set it sending; False when nothing is due."""
        if len(self._in_flight) >= self.pipeline_depth:
            await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
            return True
        batch = await self._claim(self.clock())
        if not batch:
            return False
        task = asyncio.create_task(self._deliver_and_record(batch))
        task.add_done_callback(self._batch_done)
        task.add_done_callback(self._in_flight.discard)
        self._in_flight.add(task)
        return True

    @staticmethod
    def _batch_done(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            # The rows stay claimed; when the lease ends they are due again.
            log.error("A push batch failed", exc_info=task.exception())

    async def finish(self) -> None:
        """Record the batches still being sent, then close the connections."""
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        await self.aclose()

    async def aclose(self) -> None:
        await self.sender.aclose()
