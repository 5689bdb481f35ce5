"""The building blocks of durable and background work (app/core): a time-limited map, a
background task, the outbox's backoff, PostgreSQL's pool served in turn."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from app.core.cache import TTLMap, forget_everything
from app.core.db import FairPool
from app.core.outbox import Doorbell, retry_delay
from app.core.tasks import BackgroundTask


def test_a_kept_value_is_fresh_for_its_ttl_and_the_oldest_goes_first_when_full() -> None:
    moment = [100.0]
    kept: TTLMap[str, int] = TTLMap(ttl_s=5.0, max_size=2, clock=lambda: moment[0])
    kept.put("a", 1)
    moment[0] += 4.9
    assert kept.get("a") == 1
    moment[0] += 0.1
    assert kept.get("a") is None
    assert kept.entry("a") == (1, False), "the old value stays readable while a new one is made"
    kept.put("b", 2)
    kept.put("c", 3)
    assert len(kept) == 2 and kept.entry("a") is None and kept.get("c") == 3


def test_every_kept_value_is_forgotten_when_the_process_turns_to_another_database() -> None:
    kept: TTLMap[str, int] = TTLMap(ttl_s=60.0)
    kept.put("levels", 5)
    forget_everything()  # what app.core.db.use_engine does
    assert kept.get("levels") is None


def test_retries_wait_thirty_seconds_doubling_to_an_hour_unless_the_service_says() -> None:
    assert [retry_delay(n) for n in (1, 2, 3)] == [timedelta(seconds=s) for s in (30, 60, 120)]
    assert retry_delay(20) == timedelta(hours=1)
    assert retry_delay(3, retry_after_s=7.0) == timedelta(seconds=7)


class Counting(BackgroundTask):
    """Counts its rounds; the first one fails."""

    interval_s = None  # only when woken
    doorbell = Doorbell()

    def __init__(self) -> None:
        super().__init__()
        self.rounds = 0
        self.finished = False
        self.round_done = asyncio.Event()

    async def round(self) -> None:
        self.rounds += 1
        self.round_done.set()
        if self.rounds == 1:
            raise RuntimeError("the first round fails")

    async def finish(self) -> None:
        self.finished = True


async def test_a_background_task_survives_a_failed_round_wakes_on_its_doorbell_and_stops() -> None:
    task = Counting()
    async with task:
        await task.round_done.wait()  # the first round ran at start, and failed
        task.round_done.clear()
        Counting.doorbell.ring()
        await task.round_done.wait()
        assert task.rounds == 2
    assert task.finished and task.rounds == 2


class _Connections:
    """A pool that always has a connection at once: what FairPool puts in order is who asks."""

    async def acquire(self) -> object:
        return object()

    async def release(self, connection: object) -> None:
        pass


async def _queued(fair: FairPool, count: int) -> None:
    await asyncio.sleep(0)  # one turn of the loop: each new task queues on its first step
    assert len(fair._waiting) == count


async def test_a_connection_given_back_goes_to_the_longest_waiter_not_back_to_its_giver() -> None:
    fair = FairPool(_Connections(), size=1)
    served: list[str] = []

    async def query(name: str) -> None:
        async with fair.acquire():
            served.append(name)

    held = await fair.acquire()
    waiting = [asyncio.create_task(query(name)) for name in ("second", "third")]
    await _queued(fair, 2)
    await fair.release(held)
    await query("first, again")  # a page's next query, asked for at once
    await asyncio.gather(*waiting)
    assert served == ["second", "third", "first, again"]
    assert fair._free == 1 and not fair._waiting


@pytest.mark.parametrize("handed_first", [False, True])
async def test_a_waiter_cancelled_in_the_queue_leaves_its_turn_to_the_next(
    handed_first: bool,
) -> None:
    fair = FairPool(_Connections(), size=1)
    held = await fair.acquire()
    gone = asyncio.create_task(fair._take())
    later = asyncio.create_task(fair._take())
    await _queued(fair, 2)
    if handed_first:  # the turn reaches it, and it is cancelled before it runs
        await fair.release(held)
        gone.cancel()
    else:
        gone.cancel()
        await fair.release(held)
    with pytest.raises(asyncio.CancelledError):
        await gone
    await fair.release(await later)
    assert fair._free == 1 and not fair._waiting
