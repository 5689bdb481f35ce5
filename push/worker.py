"""The worker that drains the push outbox: claim due rows with a lease, send, record, repeat.

Any number of workers may run at once (``relay worker`` processes, or the one embedded in the
app on SQLite). A claim is a short transaction that marks a batch of due rows as ``sending``
by this worker until a lease ends; on PostgreSQL the rows are picked ``FOR UPDATE SKIP
LOCKED`` so concurrent claims never take the same row, on SQLite the claim holds the write
lock (BEGIN IMMEDIATE). A worker that dies leaves its rows claimed until the lease runs out;
then they are due again, so nothing is lost. A message whose request completed but whose
result was not yet recorded when the worker died is sent again: results are recorded per
small batch, as soon as its requests finish, to keep that window to a fraction of a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from piccolo.columns import Column

from app.core.db import write_transaction
from app.core.settings import Settings
from push.outbox import deliveries_due, on_enqueue
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
# Retries without Retry-After wait 30 s, 1 min, 2 min… up to an hour.
FIRST_RETRY_DELAY = timedelta(seconds=30)
MAX_RETRY_DELAY = timedelta(hours=1)


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


def default_worker_name() -> str:
    host = socket.gethostname()[:32]
    return f"{host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def retry_delay(attempt: int, retry_after_s: float | None) -> timedelta:
    """How long to wait before attempt ``attempt + 1``: the service's word, else backoff."""
    if retry_after_s is not None:
        return timedelta(seconds=max(1.0, retry_after_s))
    return min(MAX_RETRY_DELAY, FIRST_RETRY_DELAY * 2 ** max(0, attempt - 1))


async def claim_due(
    worker_name: str, *, now: datetime, limit: int, lease: timedelta
) -> list[ClaimedDelivery]:
    """Take up to ``limit`` due deliveries for ``worker_name`` until ``now + lease``."""
    until = now + lease
    async with write_transaction():
        ids = await deliveries_due(now, limit, lock=True)
        if not ids:
            return []
        await PushDelivery.update(
            {
                PushDelivery.state: DeliveryState.sending.value,
                PushDelivery.claimed_by: worker_name,
                PushDelivery.claimed_until: until,
                PushDelivery.next_attempt_at: until,
            }
        ).where(PushDelivery.id.is_in(ids))
    subscription = PushDelivery.subscription
    rows = await PushDelivery.select(
        PushDelivery.id,
        PushDelivery.subscription,
        PushDelivery.payload,
        PushDelivery.topic,
        PushDelivery.urgency,
        PushDelivery.ttl,
        PushDelivery.attempts,
        subscription.endpoint.as_alias("endpoint"),
        subscription.p256dh.as_alias("p256dh"),
        subscription.auth.as_alias("auth"),
        subscription.active.as_alias("active"),
    ).where(PushDelivery.id.is_in(ids))
    return [
        ClaimedDelivery(
            id=row["id"],
            subscription_id=row["subscription"],
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


class PushWorker:
    """Drains the outbox: :meth:`run` until stopped, or :meth:`run_once` step by step.

    ``clock`` gives the current time (aware, UTC); tests pass ``now`` to :meth:`run_once` to
    walk through backoff without waiting.
    """

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
        self.name = name or default_worker_name()
        self.batch_size = batch_size
        self.lease = lease
        self.poll_interval_s = poll_interval_s
        self.pipeline_depth = pipeline_depth
        self.max_attempts = settings.push_max_attempts
        self.clock = clock or (lambda: datetime.now(UTC))
        self.sender = PushSender(VapidSigner.from_settings(settings), concurrency=concurrency)
        # One database write at a time from this worker: on SQLite, two of our own transactions
        # competing for the file's lock would make one sleep in SQLite's busy handler (tens of
        # milliseconds); queueing here costs nothing, and claims and records are short.
        self._database_turn = asyncio.Lock()
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

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
        async with self._database_turn:
            await record_results(
                self.name, results, now=now or self.clock(), max_attempts=self.max_attempts
            )

    async def _claim(self, now: datetime) -> list[ClaimedDelivery]:
        async with self._database_turn:
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

    def _wake_soon(self) -> None:
        # enqueue() may run on another thread's loop (a sync caller): hand over safely.
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """Work until :meth:`stop` (or ``request_stop``): claim, send, record, wait for more.

        On stop it claims nothing more and finishes the batches it holds, so their results
        are recorded before the process exits.
        """
        self._loop = asyncio.get_running_loop()
        unsubscribe = on_enqueue(self._wake_soon)
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while not self._stop.is_set():
                if len(in_flight) >= self.pipeline_depth:
                    await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                    continue
                self._wake.clear()
                try:
                    batch = await self._claim(self.clock())
                except Exception:
                    log.exception("Claiming push deliveries failed; trying again shortly")
                    await self._wait_for_work()
                    continue
                if batch:
                    task = asyncio.create_task(self._deliver_and_record(batch))
                    task.add_done_callback(self._batch_done)
                    task.add_done_callback(in_flight.discard)
                    in_flight.add(task)
                else:
                    await self._wait_for_work()
        finally:
            unsubscribe()
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)

    @staticmethod
    def _batch_done(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            # The rows stay claimed; when the lease ends they are due again.
            log.error("A push batch failed", exc_info=task.exception())

    async def _wait_for_work(self) -> None:
        """Until deliveries are queued in this process, the poll interval passes, or stop."""
        waiters = [
            asyncio.ensure_future(self._wake.wait()),
            asyncio.ensure_future(self._stop.wait()),
        ]
        try:
            await asyncio.wait(
                waiters, timeout=self.poll_interval_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()

    def request_stop(self) -> None:
        """Ask :meth:`run` to finish the batches it holds and return (safe from a signal)."""
        self._stop.set()

    async def start(self) -> None:
        """Run in the background of this process (the app's embedded worker)."""
        self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        self.request_stop()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.aclose()

    async def aclose(self) -> None:
        await self.sender.aclose()
