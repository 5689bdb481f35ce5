"""The rewards shop with a realistic volume, on SQLite and PostgreSQL.

Figures from a run (2 cores shared with other test runs, load average 5 to 10; 5 s each):
SQLite: shop 209 req/s (p50 127 ms, p99 408 ms at 32 connections, 0.06 of /ping), a
reward's page 367 req/s, My rewards 338 req/s; 200 members at once on a stock of 100:
exactly 100 made in 9.3 s (the writers queue on SQLite's busy timeout); 50 at once by one
member: 1 made in 6.7 s. PostgreSQL: shop 129 req/s (p50 214 ms, p99 684 ms, 0.05), a
reward 204 req/s, My rewards 216 req/s; 200 at once on 100: 100 made in 1.8 s; 50 at once
by one member: 1 made in 0.34 s.

    python -m bench.rewards [--seconds 8] [--connections 32] [--only sqlite|postgresql]

Seeds 50,000 members, 1,000,000 ledger lines (20 a member), 30 rewards and 100,000
redemptions with bulk inserts, then measures with wrk, for one member: the shop (/rewards),
a reward's page and My rewards, with the ratio to /ping from the same run. Then, in
process, the cost of redeeming: 200 members redeeming one reward of stock 100 at once, and
50 redemptions at once by a member whose balance affords one (each must end with exactly
the right stock and balance).
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.harness import HEADER, ROOT, RelayServer, load, on_each_database, page_bench_args

MEMBERS = 50_000
LINES_PER_MEMBER = 20
REWARDS = 30
REDEMPTIONS = 100_000
BATCH = 1_000
BROWSER = {"Accept": "text/html", "Accept-Encoding": "gzip", "Accept-Language": "fr-FR,fr;q=0.9"}


def migrate(database_url: str, data_dir: Path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "RELAY_DATA_DIR": str(data_dir)}
    subprocess.run(
        [sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True
    )


async def seed(database_url: str) -> tuple[str, int]:
    """Bulk rows; returns a session token for one member and a reward's id."""
    from app.accounts.sessions import create_session
    from app.accounts.tables import Member
    from app.core import db
    from app.org.tables import Organisation
    from app.points.tables import PointsLine
    from app.rewards.tables import Redemption, Reward

    db.use_engine(db.engine_from_url(database_url))
    await db.open_pool(4)
    rng = random.Random(6)
    await Organisation.insert(Organisation(name="Bench Corp")).run()
    now = datetime.now(UTC).replace(microsecond=0)
    for start in range(0, MEMBERS, BATCH):
        await Member.insert(
            *(
                Member(email=f"person{n}@bench.example", name=f"Person {n}", created_at=now)
                for n in range(start, min(start + BATCH, MEMBERS))
            )
        )
    members = [r["id"] for r in await Member.select(Member.id).order_by(Member.id)]
    lines = (
        PointsLine(
            member=member,
            points=rng.choice((2, 5, 10, 50)),
            reason="share",
            key=f"bench:{member}:{n}",
            at=now - timedelta(hours=n),
        )
        for member in members
        for n in range(LINES_PER_MEMBER)
    )
    batch: list[PointsLine] = []
    for line in lines:
        batch.append(line)
        if len(batch) == BATCH:
            await PointsLine.insert(*batch)
            batch = []
    rewards = [
        r["id"]
        for r in await Reward.insert(
            *(
                Reward(
                    name=f"Reward {n}",
                    description="A **reward** worth working for.",
                    cost=50 + 25 * n,
                    stock=None if n % 3 else 1_000_000,
                )
                for n in range(REWARDS)
            )
        ).returning(Reward.id)
    ]
    for start in range(0, REDEMPTIONS, BATCH):
        await Redemption.insert(
            *(
                Redemption(
                    reward=rng.choice(rewards),
                    member=rng.choice(members),
                    cost=50,
                    state=rng.choice(("requested", "approved", "delivered", "rejected")),
                    requested_at=now,
                )
                for _ in range(start, min(start + BATCH, REDEMPTIONS))
            )
        )
    token = await create_session(members[0], "bench")
    await db.close_pool()
    return token, rewards[0]


async def redeem_at_once(database_url: str) -> list[str]:
    """Concurrent redemptions, timed and checked."""
    from app.core import db
    from app.points import ledger
    from app.points.tables import Reason
    from app.rewards import service
    from app.rewards.service import Refused
    from app.rewards.tables import Reward

    db.use_engine(db.engine_from_url(database_url))
    await db.open_pool(10)
    report = []
    try:
        rows = await Reward.insert(Reward(name="Scarce", cost=100, stock=100)).returning(Reward.id)
        scarce = rows[0]["id"]
        members = list(range(1001, 1201))  # seeded members
        for member in members:  # each can afford it, whatever the seed gave them
            await ledger.credit(member, 100, Reason.correction.value, f"bench:{member}")
        started = time.monotonic()
        results = await asyncio.gather(
            *(service.redeem(m, scarce) for m in members), return_exceptions=True
        )
        took = time.monotonic() - started
        made = sum(isinstance(r, int) for r in results)
        stock = (await Reward.select(Reward.stock).where(Reward.id == scarce).first() or {})[
            "stock"
        ]
        assert made == 100 and stock == 0, (made, stock)
        assert all(isinstance(r, int | Refused) for r in results), results
        report.append(
            f"200 members at once on a stock of 100: {made} made, stock {stock}, "
            f"{took * 1000:.0f} ms ({len(members) / took:.0f} attempts/s)"
        )

        rows = await Reward.insert(Reward(name="Once", cost=1_000_000)).returning(Reward.id)
        once = rows[0]["id"]
        member = 1500
        balance = await ledger.balance(member)
        await ledger.credit(member, 1_000_000 - balance + 10, Reason.correction.value, "bench:top")
        started = time.monotonic()
        results = await asyncio.gather(
            *(service.redeem(member, once) for _ in range(50)), return_exceptions=True
        )
        took = time.monotonic() - started
        made = sum(isinstance(r, int) for r in results)
        left = await ledger.balance(member)
        assert made == 1 and left == 10, (made, left)
        report.append(
            f"50 at once by one member who affords one: {made} made, balance {left}, "
            f"{took * 1000:.0f} ms"
        )
    finally:
        await db.close_pool()
    return report


def run(label: str, database_url: str | None, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="relay-bench-rewards-") as tmp:
        data_dir = Path(tmp)
        url = database_url or f"sqlite:///{data_dir / 'relay.sqlite3'}"
        migrate(url, data_dir)
        started = time.monotonic()
        token, reward = asyncio.run(seed(url))
        print(
            f"{label}: seeded {MEMBERS:,} members, {MEMBERS * LINES_PER_MEMBER:,} ledger lines, "
            f"{REWARDS} rewards, {REDEMPTIONS:,} redemptions in {time.monotonic() - started:.1f}s"
        )
        headers = {**BROWSER, "Cookie": f"relay_session={token}"}
        with RelayServer(
            server="granian", workers=args.workers, database_url=url, data_dir=data_dir, demo=False
        ) as relay:
            figures = [
                load(
                    f"{label}: GET /ping (ceiling)",
                    f"{relay.url}/ping",
                    seconds=args.seconds,
                    connections=args.connections,
                )
            ]
            for what, path in (
                ("GET /rewards (shop, 30 rewards)", "/rewards"),
                ("GET /rewards/{id} (a reward)", f"/rewards/{reward}"),
                ("GET /me/rewards (my redemptions)", "/me/rewards"),
            ):
                figures.append(
                    load(
                        f"{label}: {what}",
                        f"{relay.url}{path}",
                        seconds=args.seconds,
                        connections=args.connections,
                        headers=headers,
                    )
                )
        print(HEADER)
        print(figures[0].row())
        for figure in figures[1:]:
            print(figure.row(figures[0]))
        for line in asyncio.run(redeem_at_once(url)):
            print(f"{label}: {line}")
        print()


def main() -> None:
    args = page_bench_args("Rewards")
    on_each_database(args, "rewards", lambda label, url: run(label, url, args))


if __name__ == "__main__":
    main()
