"""`relay worker` processes: a crash loses nothing, two workers never send the same row twice,
and the worker embedded in the app sends what is queued."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest

from push.outbox import PushMessage, enqueue
from push.tables import PushDelivery
from tests.conftest import LiveServer
from tests.databases import ROOT, TEST_DATABASE_URL
from tests.factories import make_member, subscribe, subscribe_many
from tests.push_sink import PushSink

MESSAGE = PushMessage(title="Prime de cooptation doublée", body="Jusqu’à dimanche.", url="/offers")


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    """This module's Relay may post to the push sink on 127.0.0.1 (over http, any port)."""
    return {**env, "PUSH_ALLOWED_TEST_HOSTS": "127.0.0.1"}


class WorkerProcess:
    """`relay worker` as an operator runs it, its output kept in a log file."""

    def __init__(self, env: dict[str, str], log: Path, *options: str) -> None:
        self.log_path = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "worker", "--poll-interval", "0.2", *options],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
        )

    async def started(self, within_s: float = 30.0) -> None:
        stdout: IO[str] = self.process.stdout  # type: ignore[assignment]
        line = await asyncio.wait_for(asyncio.to_thread(stdout.readline), within_s)
        assert "is running" in line, f"{line!r}\n{self.log_path.read_text()}"

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, as a service manager stops it: it finishes its batches and exits."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def crash(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


async def states() -> dict[str, int]:
    rows = await PushDelivery.raw("SELECT state, COUNT(*) AS n FROM push_delivery GROUP BY state")
    return {row["state"]: int(row["n"]) for row in rows}


async def wait_until_all_sent(total: int, within_s: float) -> None:
    """Watch the outbox (a condition on rows another process writes) until every row is sent."""
    deadline = asyncio.get_running_loop().time() + within_s
    while (await states()).get("sent", 0) < total:
        assert asyncio.get_running_loop().time() < deadline, f"not all sent: {await states()}"
        await asyncio.sleep(0.05)


async def wait_for_sink(sink: PushSink, unique_ids: int, within_s: float) -> None:
    await asyncio.to_thread(sink.wait_for, lambda: len(sink.accepted_ids) >= unique_ids, within_s)


async def queue_for_many_devices(sink: PushSink, count: int) -> set[str]:
    member = (await make_member()).id
    await subscribe_many(member, [sink.new_browser() for _ in range(count)])
    assert await enqueue(MESSAGE, kind="campaign", campaign_id=1, member_ids=[member]) == count
    rows = await PushDelivery.select(PushDelivery.payload)
    return {row["payload"].split('"id":"')[1][:32] for row in rows}


async def test_a_worker_killed_mid_campaign_loses_nothing_once_restarted(
    database: str, env: dict[str, str], push_sink: PushSink, tmp_path: Path
) -> None:
    total = 10_000
    ids = await queue_for_many_devices(push_sink, total)
    assert len(ids) == total

    # A short lease so that the rows the dead worker held are due again within seconds.
    options = ("--batch-size", "50", "--lease", "3")
    first = WorkerProcess(env, tmp_path / "worker-1.log", *options)
    await first.started()
    await wait_for_sink(push_sink, 2_000, within_s=60)
    first.crash()
    assert first.process.returncode == -signal.SIGKILL
    assert (await states()).get("sent", 0) < total, "the worker finished before it was killed"

    second = WorkerProcess(env, tmp_path / "worker-2.log", *options)
    await second.started()
    await wait_for_sink(push_sink, total, within_s=120)
    # The rows the first worker sent but never recorded are sent again once its lease ends.
    await wait_until_all_sent(total, within_s=60)
    assert second.stop() == 0, (tmp_path / "worker-2.log").read_text()

    assert push_sink.problems == []
    assert set(push_sink.accepted_ids) == ids, "every delivery reached its device"
    assert await states() == {"sent": total}
    # Only what was on the wire when the first worker died may have gone twice:
    # at most its claimed batches (pipeline of 3, plus one being claimed, of 50).
    resent = sum(push_sink.accepted_ids.values()) - total
    assert 0 <= resent <= 4 * 50


@pytest.mark.skipif(
    TEST_DATABASE_URL is None,
    reason="several worker processes are the PostgreSQL set-up (FOR UPDATE SKIP LOCKED); "
    "on SQLite the embedded worker runs alone",
)
async def test_two_workers_on_postgresql_never_send_the_same_delivery_twice(
    database: str, env: dict[str, str], push_sink: PushSink, tmp_path: Path
) -> None:
    workers = [
        WorkerProcess(env, tmp_path / f"worker-{n}.log", "--batch-size", "25") for n in (1, 2)
    ]
    for worker in workers:
        await worker.started()

    total = 4_000
    ids = await queue_for_many_devices(push_sink, total)
    await wait_for_sink(push_sink, total, within_s=120)
    for worker in workers:
        assert worker.stop() == 0

    assert push_sink.problems == []
    assert set(push_sink.accepted_ids) == ids
    assert max(push_sink.accepted_ids.values()) == 1, "a delivery was sent twice"
    assert await states() == {"sent": total}
    senders = await PushDelivery.raw(
        "SELECT claimed_by, COUNT(*) AS n FROM push_delivery GROUP BY claimed_by"
    )
    assert len(senders) == 2, f"both workers should have taken a share: {senders}"


async def test_the_app_sends_queued_pushes_with_its_embedded_worker(
    database: str, env: dict[str, str], push_sink: PushSink, tmp_path: Path
) -> None:
    member = (await make_member()).id
    phone = push_sink.new_browser()
    await subscribe(member, phone)
    # On by default with SQLite; PostgreSQL installations switch it on explicitly.
    server = LiveServer({**env, "RELAY_EMBEDDED_WORKER": "on"}, tmp_path / "server.log")
    try:
        await enqueue(MESSAGE, kind="test", member_ids=[member])
        await wait_for_sink(push_sink, 1, within_s=30)
    finally:
        server.stop()
    assert await states() == {"sent": 1}
