"""The whole loop under Locust, as "Running at scale" deploys Relay (issue 15).

    python -m bench.loadtest [--seconds 120] [--users 40] [--pg URL] [--redis URL] [--small]

On a throwaway PostgreSQL database with the demo's content: two `relay serve` processes
(the embedded worker off) and one `relay worker`, sharing Redis; Locust (headless, on
loopback, bounded in time) drives employees signed in with session cookies made by
app.accounts.sessions through bench/locustfile.py: feed, next page, item, share, points.
Then it prints requests/s, p50 and p99 per step and the errors, and checks that nothing
was lost or doubled: every share answered "recorded" is one share row with its one
activity row, and every member's lifetime points equal a recount of their ledger. Exits
non-zero on any error or mismatch. ``make loadtest`` runs it; `.ci/run` a 20-second one
with ``--small``: sixty items seeded in this process instead of the demo (which writes
images, people and history for most of a minute), the two servers started side by side,
and the throwaway database's setup written without waiting for each commit's flush.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.feed import migrate
from bench.harness import ROOT, RelayServer, _admin

EMPLOYEES = 40


async def sessions(database_url: str, count: int) -> list[str]:
    """``count`` new employees, each signed in once (a cookie value each)."""
    from app.accounts.sessions import create_session
    from app.accounts.tables import Member
    from app.core import db

    db.use_engine(db.engine_from_url(database_url))
    await db.open_pool(4)
    try:
        rows = await Member.insert(
            *(
                Member(email=f"load{n}@bench.relay", name=f"Load Tester {n}", role="employee")
                for n in range(count)
            )
        ).returning(Member.id)
        return [await create_session(r["id"], "locust") for r in rows]
    finally:
        await db.close_pool()


async def small_seed(database_url: str, items: int = 60) -> None:
    """An organisation and ``items`` published stories and offers for everyone: what the
    simulated employees open and share (``--small``, instead of the demo)."""
    from datetime import UTC, datetime, timedelta

    from app.content.tables import ContentItem
    from app.core import db
    from app.org.tables import Organisation

    db.use_engine(db.engine_from_url(database_url))
    await db.open_pool(2)
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        await Organisation.insert(Organisation(name="Load Corp")).run()
        await ContentItem.insert(
            *(
                ContentItem(
                    kind="offer" if n % 3 == 0 else "story",
                    title=f"Item {n}: something worth sharing",
                    body="A **paragraph** of text about this, worth a share. " * 3,
                    excerpt="A paragraph of text about this, worth a share.",
                    language="fr" if n % 2 else "en",
                    tags=",culture,",
                    captions='{"linkedin": ["Proud of this #load"]}',
                    audience_all=True,
                    publish_at=now - timedelta(minutes=30 * n + 1),
                    contract="permanent" if n % 3 == 0 else "",
                    offer_status="open" if n % 3 == 0 else "draft",
                    created_at=now,
                    updated_at=now,
                )
                for n in range(items)
            )
        )
    finally:
        await db.close_pool()


async def check(database_url: str, shares_answered: list[dict[str, object]]) -> list[str]:
    """What was lost or doubled, in words (empty when nothing was)."""
    from app.core import db
    from app.points.tables import NOT_EARNED, PointsLine

    db.use_engine(db.engine_from_url(database_url))
    await db.open_pool(2)
    problems = []
    try:
        recorded = sum(1 for s in shares_answered if s["recorded"])
        rows = await PointsLine.raw(
            "SELECT COUNT(*) AS n FROM share s JOIN member m ON m.id = s.member "
            "WHERE m.email LIKE {}",
            "load%@bench.relay",
        )
        if int(rows[0]["n"]) != recorded:
            problems.append(f"{recorded} shares answered recorded, {rows[0]['n']} share rows")
        rows = await PointsLine.raw(
            "SELECT COUNT(*) AS n FROM share s WHERE (SELECT COUNT(*) FROM activity a "
            "WHERE a.key = ('share:' || s.key) AND a.kind = 'share') <> 1"
        )
        if int(rows[0]["n"]):
            problems.append(f"{rows[0]['n']} shares without exactly one activity row")
        marks = ", ".join(["{}"] * len(NOT_EARNED))
        rows = await PointsLine.raw(
            "SELECT m.id, COALESCE(t.points, 0) AS kept, "
            "COALESCE((SELECT SUM(l.points) FROM points_line l WHERE l.member = m.id "
            f"AND l.reason NOT IN ({marks})), 0) AS recount "
            "FROM member m LEFT JOIN points_total t ON t.key = (m.id || ':all')",
            *NOT_EARNED,
        )
        wrong = [r for r in rows if int(r["kept"]) != int(r["recount"])]
        if wrong:
            problems.append(f"{len(wrong)} members' lifetime points differ from the ledger")
    finally:
        await db.close_pool()
    return problems


def report(prefix: Path) -> int:
    """Locust's per-step figures; the number of failed requests."""
    with open(f"{prefix}_stats.csv") as stats:
        rows = list(csv.DictReader(stats))
    print(f"{'step':<18} {'requests':>9} {'failed':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    failures = 0
    for row in rows:
        print(
            f"{row['Name']:<18} {int(row['Request Count']):>9,} {int(row['Failure Count']):>7} "
            f"{float(row['Requests/s']):>8.1f} {row['50%']:>8} {row['99%']:>8}"
        )
        if row["Name"] == "Aggregated":
            failures = int(row["Failure Count"])
    return failures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--users", type=int, default=EMPLOYEES)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13"))
    parser.add_argument("--small", action="store_true", help="a small seed, not the demo")
    args = parser.parse_args()
    started = time.monotonic()
    database = f"relay_loadtest_{os.getpid()}"
    url = f"{args.pg.rsplit('/', 1)[0]}/{database}"
    asyncio.run(_admin(args.pg, f'CREATE DATABASE "{database}"'))
    try:
        with tempfile.TemporaryDirectory(prefix="relay-loadtest-") as tmp:
            data = Path(tmp)
            # A throwaway database: its setup (the migrations' DDL, the seed) need not wait
            # for each commit to reach the disk; the demo and the servers run with the default.
            asyncio.run(
                _admin(args.pg, f'ALTER DATABASE "{database}" SET synchronous_commit = off')
            )
            migrate(url, data)
            print(f"migrated in {time.monotonic() - started:.0f}s", flush=True)
            if args.small:
                asyncio.run(small_seed(url))
            asyncio.run(_admin(args.pg, f'ALTER DATABASE "{database}" RESET synchronous_commit'))
            env = {"REDIS_URL": args.redis, "RELAY_EMBEDDED_WORKER": "0"}
            servers = []
            worker = None
            try:
                # The demo (unless --small) runs before the first server; both then start
                # side by side and serve the same data.
                servers.append(
                    RelayServer(
                        database_url=url,
                        data_dir=data,
                        demo=not args.small,
                        extra_env=env,
                        wait=False,
                    )
                )
                servers.append(
                    RelayServer(
                        database_url=url, data_dir=data, demo=False, extra_env=env, wait=False
                    )
                )
                for server in servers:
                    server.wait_healthy()
                print(f"servers up at {time.monotonic() - started:.0f}s", flush=True)
                worker = subprocess.Popen(
                    [sys.executable, "-m", "app", "worker"],
                    env=servers[0].env,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                tokens = asyncio.run(sessions(url, args.users))
                (data / "sessions.json").write_text(json.dumps(tokens))
                locust_env = {
                    **os.environ,
                    "RELAY_LOADTEST_HOSTS": " ".join(s.url for s in servers),
                    "RELAY_LOADTEST_SESSIONS": str(data / "sessions.json"),
                    "RELAY_LOADTEST_SHARES": str(data / "shares.json"),
                }
                print(
                    f"Locust: {args.users} employees for {args.seconds}s against two relay "
                    f"serve processes and one relay worker, PostgreSQL and Redis (set up in "
                    f"{time.monotonic() - started:.0f}s)\n"
                )
                subprocess.run(
                    [
                        sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
                        "--headless", "--only-summary", "--loglevel", "WARNING",
                        "-u", str(args.users), "-r", str(args.users),
                        "-t", f"{args.seconds}s", "--stop-timeout", "2",
                        "--csv", str(data / "locust"), "--host", servers[0].url,
                    ],
                    env=locust_env,
                    cwd=ROOT,
                    check=False,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )  # fmt: skip
                failures = report(data / "locust")
                shares = json.loads((data / "shares.json").read_text())
            finally:
                if worker is not None:
                    worker.terminate()
                    worker.wait(timeout=15)
                for server in servers:
                    server.stop()
            print(f"stopped at {time.monotonic() - started:.0f}s", flush=True)
            problems = asyncio.run(check(url, shares))
    finally:
        asyncio.run(_admin(args.pg, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    print(f"\n{sum(1 for s in shares if s['recorded'])} shares recorded; errors: {failures}")
    for problem in problems:
        print(f"LOST OR DOUBLED: {problem}")
    if failures or problems:
        sys.exit(1)
    print(f"Nothing lost or doubled ({time.monotonic() - started:.0f}s in all).")


if __name__ == "__main__":
    main()
