"""What the employees' voice adds to the feed, and the FAQ search, on SQLite and PostgreSQL.

    python -m bench.voice [--members 20000] [--calls 2000] [--only sqlite]
                          [--pg postgresql://postgres@127.0.0.1:5432/postgres]

Seeds members, two proposals and two questions per member (a third of them answered or
decided, some read), 10 review sites and 200 FAQ entries, then times, in this process and
through Relay's own functions, the feed's voice panel (``app.voice.feed.feed_panel``: the
unread counts and the review sites) against a baseline measured in the same run: the feed's
own ``feed_state`` look-up, one indexed row it already reads on every first page. Then the
FAQ search (every word, over the 200 newest entries) against the same baseline. Prints the
mean and p99 per call in microseconds and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.harness import ROOT, on_each_database

BATCH = 1_000


def migrate(database_url: str, data_dir: Path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "RELAY_DATA_DIR": str(data_dir)}
    subprocess.run(
        [sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True
    )


async def seed(members: int) -> list[int]:
    from app.accounts.tables import Member
    from app.content.editing import now
    from app.content.tables import FeedState
    from app.voice.tables import Proposal, Question, ReviewSite

    rng = random.Random(13)
    moment = now()
    ids: list[int] = []
    for start in range(0, members, BATCH):
        rows = await Member.insert(
            *[
                Member(email=f"m{n}@example.com", name=f"Member {n}")
                for n in range(start, min(start + BATCH, members))
            ]
        ).returning(Member.id)
        ids.extend(r["id"] for r in rows)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        await FeedState.insert(*[FeedState(member=m, seen_at=moment) for m in chunk])
        proposals = []
        questions = []
        for member in chunk:
            for _ in range(2):
                state = rng.choice(["submitted", "published", "declined", "withdrawn"])
                proposals.append(
                    Proposal(
                        author=member,
                        title="A day in the data team",
                        body="Text " * 50,
                        state=state,
                        changed_at=moment - timedelta(days=rng.randint(0, 30)),
                        author_seen_at=moment - timedelta(days=rng.randint(0, 30))
                        if rng.random() < 0.5
                        else None,
                    )
                )
                answered = rng.random() < 0.33
                questions.append(
                    Question(
                        asker=member,
                        text="May I share job offers on TikTok?",
                        answer="Yes." if answered else "",
                        answered_at=moment - timedelta(days=rng.randint(0, 30))
                        if answered
                        else None,
                    )
                )
        await Proposal.insert(*proposals)
        await Question.insert(*questions)
    words = ["tiktok", "linkedin", "points", "rewards", "referral", "bonus", "photo", "video"]
    await Question.insert(
        *[
            Question(
                asker=ids[n],
                text="…",
                answer=f"About {rng.choice(words)} and {rng.choice(words)}. " * 20,
                answered_at=moment - timedelta(minutes=n),
                faq_text=f"How do {rng.choice(words)} and {rng.choice(words)} work?",
                in_faq=True,
                visibility="anonymous",
            )
            for n in range(200)
        ]
    )
    await ReviewSite.insert(
        *[
            ReviewSite(name=f"Site {n}", url=f"https://reviews{n}.example.com/c", position=n)
            for n in range(10)
        ]
    )
    return ids


async def timed(calls: int, work: Callable[[int], Awaitable[Any]]) -> tuple[float, float]:
    """(mean, p99) of ``calls`` calls, in microseconds."""
    spent = []
    for n in range(calls):
        start = time.perf_counter()
        await work(n)
        spent.append((time.perf_counter() - start) * 1e6)
    spent.sort()
    return sum(spent) / len(spent), spent[int(len(spent) * 0.99) - 1]


async def measure(database_url: str, members: int, calls: int) -> None:
    from app.content.feed import feed_state
    from app.core import db
    from app.voice.feed import feed_panel
    from app.voice.questions import faq

    db.use_engine(db.engine_from_url(database_url))
    await db.open_pool(4)
    try:
        started = time.perf_counter()
        ids = await seed(members)
        print(
            f"  seeded {members:,} members, {2 * members:,} proposals and questions "
            f"in {time.perf_counter() - started:.1f} s"
        )
        rng = random.Random(1)
        chosen = [rng.choice(ids) for _ in range(calls)]
        # Warm both paths first (connections, statement caches), then measure.
        await timed(50, lambda n: feed_state(chosen[n]))
        await timed(50, lambda n: feed_panel(chosen[n]))
        # Interleaved, in rounds of 50, so that the machine's load moves both alike.
        base_spent: list[tuple[float, float]] = []
        panel_spent: list[tuple[float, float]] = []
        for start in range(0, calls, 50):
            base_spent.append(await timed(50, lambda n, s=start: feed_state(chosen[s + n])))
            panel_spent.append(await timed(50, lambda n, s=start: feed_panel(chosen[s + n])))
        base = (
            sum(m for m, _p in base_spent) / len(base_spent),
            sorted(p for _m, p in base_spent)[-2],
        )
        panel = (
            sum(m for m, _p in panel_spent) / len(panel_spent),
            sorted(p for _m, p in panel_spent)[-2],
        )
        searches = ["tiktok", "points bonus", "", "nothing matches this"]
        search = await timed(calls // 4, lambda n: faq(searches[n % 4]))
        print(f"  {'':32} {'mean µs':>9} {'p99 µs':>9} {'ratio':>7}")
        for name, (mean, p99) in (
            ("baseline: feed_state", base),
            ("voice panel on the feed", panel),
            ("FAQ search (200 entries)", search),
        ):
            print(f"  {name:32} {mean:9.0f} {p99:9.0f} {mean / base[0]:6.2f}×")
    finally:
        await db.close_pool()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.1f} (1 min average)")

    def run(label: str, database_url: str | None) -> None:
        with tempfile.TemporaryDirectory() as folder:
            url = database_url or f"sqlite:///{folder}/bench.sqlite3"
            migrate(url, Path(folder))
            print(label)
            asyncio.run(measure(url, args.members, args.calls))

    on_each_database(args, "voice", run)


if __name__ == "__main__":
    main()
