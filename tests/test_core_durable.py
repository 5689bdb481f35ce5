"""The building blocks of durable and background work (app/core): a time-limited map, a
background task, the outbox's backoff."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from app.core.cache import TTLMap
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
