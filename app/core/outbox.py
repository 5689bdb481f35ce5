"""The durable-outbox building block: rows first, then workers that claim them with a lease.

An outbox (push deliveries in :mod:`push.outbox`, mail in :mod:`app.mail.service`) writes a
row for each thing to send, in the transaction of what it is about. Any number of workers
then take due rows with :func:`claim`: a short transaction that picks them (on PostgreSQL
``FOR UPDATE SKIP LOCKED``, so concurrent claims never take the same row and none waits for
another; on SQLite the claim holds the write lock of ``BEGIN IMMEDIATE``) and marks them as
this worker's until a lease ends, by moving their next attempt to the lease's end. A worker
that dies leaves its rows claimed until then; they are due again afterwards, so nothing is
lost. Each worker records its results only on rows still claimed by its name
(:func:`new_worker_name`), and a failed attempt waits :func:`retry_delay` before the next one.

What a result means (sent, gone, worth a retry) stays with each outbox. :class:`Doorbell` is
how a process that queued rows wakes its own workers at once instead of at their next poll.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from piccolo.columns import Column
from piccolo.query import Select

from app.core.db import is_postgres, write_transaction

# Retries without the service's word (Retry-After) wait 30 s, 1 min, 2 min… up to an hour.
FIRST_RETRY_DELAY = timedelta(seconds=30)
MAX_RETRY_DELAY = timedelta(hours=1)


def retry_delay(attempts: int, retry_after_s: float | None = None) -> timedelta:
    """How long to wait after ``attempts`` failed attempts: the service's word, else backoff."""
    if retry_after_s is not None:
        return timedelta(seconds=max(1.0, retry_after_s))
    return min(MAX_RETRY_DELAY, FIRST_RETRY_DELAY * 2 ** max(0, attempts - 1))


def new_worker_name() -> str:
    """A name for this worker, unique among processes and restarts: ``host:pid:random``."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def skip_locked(query: Select) -> Select:
    """``query`` taking row locks that concurrent transactions skip (PostgreSQL); on SQLite,
    where a write transaction already keeps every other writer out, ``query`` as it is."""
    return query.lock_rows("UPDATE", skip_locked=True) if is_postgres() else query


async def claim(due: Select, claimed: Mapping[Column | str, Any]) -> list[int]:
    """Take the rows ``due`` selects (by ``id``) and write ``claimed`` to them, in one short
    transaction; returns their ids. ``claimed`` names the worker and moves the rows' next
    attempt to the end of its lease."""
    # The claim's commit need not wait for the disk: were a crash of the database to undo
    # it, the rows would be due again, as they are anyway once the lease of a worker that
    # lost its database runs out; and the worker's results are a flushed commit, which
    # flushes the claim with them. One flush per batch instead of two: on a busy disk the
    # worker waited on them, not on its CPU.
    async with write_transaction(flush=False):
        ids = [row["id"] for row in await skip_locked(due)]
        if ids:
            await due.table.update(dict(claimed)).where(due.table.id.is_in(ids))
    return ids


class Doorbell:
    """Rung by whoever queued rows in this process; calls the workers listening here.

    A worker listening is woken at once; one in another process finds the rows at its next
    poll. Listeners must be safe to call from any thread (:meth:`BackgroundTask.wake
    <app.core.tasks.BackgroundTask.wake>` is).
    """

    def __init__(self) -> None:
        self._listeners: set[Callable[[], None]] = set()

    def listen(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` at every ring; returns the function that stops listening."""
        self._listeners.add(callback)
        return lambda: self._listeners.discard(callback)

    def ring(self) -> None:
        for callback in list(self._listeners):
            callback()
