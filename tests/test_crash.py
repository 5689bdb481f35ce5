"""What a web process killed without warning (SIGKILL, the OOM killer, a power cut) loses.

Every write but one is committed before its response leaves: only visits and beacons to
``/r/{code}`` wait in the process's buffer, written every ``FLUSH_SECONDS``. So a kill loses
the visits answered in the last moments, never more (README, "What a crash loses").
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.activity.tables import Activity, ActivityKind
from app.candidates.tables import Visit
from app.candidates.visits import BATCH_ROWS
from app.core.clock import now
from tests.conftest import LiveServer
from tests.factories import shared_offer
from tests.helpers import PHONE

VISITS = 1_000
IN_FLIGHT = 16


def address_of(number: int) -> str:
    return f"203.0.{number // 250}.{number % 250 + 1}"


def agent_number(agent: str) -> int:
    return int(agent.rsplit("/", 1)[1])


@pytest.fixture
def proxied_server(env: dict[str, str], tmp_path: Path) -> Iterator[LiveServer]:
    """Relay behind a reverse proxy on 127.0.0.1 that says who each candidate is."""
    server = LiveServer({**env, "FORWARDED_ALLOW_IPS": "127.0.0.1"}, tmp_path / "server.log")
    yield server
    server.stop()


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (granian serves from a child process), children first."""
    children_file = Path(f"/proc/{pid}/task/{pid}/children")
    children = children_file.read_text().split() if children_file.exists() else []
    return [p for child in children for p in process_tree(int(child))] + [pid]


async def visit_then_kill(
    server: LiveServer, code: str
) -> tuple[list[tuple[float, str]], list[float], float]:
    """Candidates open the link and their browsers send the beacon, each one a different
    visitor, until ``VISITS`` pages were answered; then the server is killed at once.
    Returns when each page (and for whom) and each beacon was answered, and when the server
    was killed."""
    pages: list[tuple[float, str]] = []
    beacons: list[float] = []
    numbers = iter(range(VISITS * 2))
    killed = asyncio.Event()
    killed_at = 0.0

    async def candidate(http: httpx.AsyncClient) -> None:
        nonlocal killed_at
        while not killed.is_set():
            number = next(numbers)
            agent = f"{PHONE} candidate/{number}"
            # Each candidate from an address of their own, through a trusted proxy: genuine
            # clicks count once per link and address an hour.
            forwarded = {"x-forwarded-for": address_of(number)}
            try:
                page = await http.get(f"/r/{code}", headers={"user-agent": agent, **forwarded})
                if killed.is_set():
                    return
                pages.append((time.monotonic(), agent))
                if len(pages) == VISITS:
                    for pid in process_tree(server.process.pid):
                        os.kill(pid, signal.SIGKILL)
                    killed_at = time.monotonic()
                    killed.set()
                    return
                token = re.search(r'data-beacon-token="([^"]+)"', page.text)
                assert token is not None
                seen = await http.post(
                    f"/r/{code}/seen",
                    data={"token": token.group(1)},
                    headers={"user-agent": agent, "sec-fetch-site": "same-origin", **forwarded},
                )
                if not killed.is_set():
                    assert seen.status_code == 204
                    beacons.append(time.monotonic())
            except httpx.TransportError:
                assert killed.is_set()
                return

    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        await asyncio.gather(*(candidate(http) for _ in range(IN_FLIGHT)))
    return pages, beacons, killed_at


def test_a_killed_web_process_loses_only_the_visits_of_its_last_flush_interval(
    proxied_server: LiveServer, seed: Any
) -> None:
    _sharer, _item_id, code = seed(shared_offer)
    pages, beacons, killed_at = asyncio.run(visit_then_kill(proxied_server, code))
    proxied_server.process.wait(timeout=10)

    async def written() -> tuple[set[str], int]:
        from app.candidates.service import key_of_day, visitor_hash

        key = await key_of_day(now().date())
        kept = {row["visitor"] for row in await Visit.select(Visit.visitor)}
        clicks = await Activity.count().where(Activity.kind == ActivityKind.click.value)
        return {
            a for _t, a in pages if visitor_hash(key, address_of(agent_number(a)), a) not in kept
        }, clicks

    lost_agents, clicks = seed(written)
    lost_pages, lost_beacons = len(lost_agents), len(beacons) - clicks
    lost_for_s = killed_at - min((t for t, a in pages if a in lost_agents), default=killed_at)
    print(
        f"\nkilled after {len(pages)} pages and {len(beacons)} beacons answered: lost "
        f"{lost_pages} visits and {lost_beacons} clicks, those of the last {lost_for_s:.2f} s"
    )
    # Visits are written in the order they came: the lost ones are the last answered (give or
    # take the requests in flight together), what waited for the next write and the batch
    # being written. How many seconds that is depends on the load: on a saturated machine a
    # write takes several flush intervals.
    latest = {a for _t, a in pages[-(lost_pages + IN_FLIGHT) :]}
    assert lost_agents <= latest, "a visit answered before the last written one was lost"
    assert 0 <= lost_pages <= BATCH_ROWS
    assert 0 <= lost_beacons <= BATCH_ROWS
