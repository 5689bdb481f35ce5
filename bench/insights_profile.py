"""The insights pages timed in this process, one request at a time, to iterate on their cost.

    python -m bench.insights_profile [--members 5000] [--rows 200000] [--keep DIR]
                                     [--database sqlite|postgresql] [--repeat 15]
                                     [--profile PATH] [--seed-only]
                                     [--round] [--burst 8]

Seeds and rolls up as ``bench.insights`` does (into DIR when given, and reuses it when it is
already there: seeding is the slow part), then serves Relay's app in this process (no
server, no network) and times each page: p50 and worst of ``--repeat`` requests, and the
number of SQL queries one request runs, and the median CPU time of a request (this
process's, every thread: on a loaded machine a steadier guide than the wall clock);
"first" is the first request of a page, before the figures it reads from the rollups are
kept in memory (app.insights.service.kept).
``--round``: the periodic job's round writes the default views' figures to the shared store
first (timed), and this process forgets what it kept, as a web process that did not run
the round: "first" is then read from the store (without it, the store is emptied: "first"
computes). ``--burst N``: before the sequential requests, N requests of the page at once
on a process that kept nothing (wrk's 8 connections on a cold page): the slowest of them.
``--profile PATH`` prints cProfile's 25 costliest functions (cumulative) over ``--repeat``
requests of that page.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import os
import pstats
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.insights import BROWSER, migrate, roll_up, seed_postgres, seed_sqlite
from bench.insights import activity as ledger_rows

PAGES = (
    ("/insights last 4 weeks", "/insights?period=4weeks"),
    ("/insights this year", "/insights?period=year"),
    ("/insights this year, one team", "/insights?period=year&team=3"),
    ("/me/impact", "/me/impact"),
    ("breakdown by team, year", "/insights/breakdowns?period=year&by=team"),
    ("breakdown by network, year", "/insights/breakdowns?period=year&by=network"),
    ("breakdown by item, year", "/insights/breakdowns?period=year&by=item"),
    ("breakdown by member, year", "/insights/breakdowns?period=year&by=member"),
    ("breakdown by member, 4 weeks", "/insights/breakdowns?period=4weeks&by=member"),
    ("breakdown by item, year, one site", "/insights/breakdowns?period=year&by=item&site=2"),
    ("CSV of the year's items", "/insights/export.csv?period=year&table=item"),
)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=5_000)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/relay_bench_profile")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--seed-only", action="store_true", help="seed DIR, roll nothing up")
    parser.add_argument("--round", action="store_true", help="share the default views first")
    parser.add_argument("--burst", type=int, default=0, help="N requests at once, cold")
    return parser.parse_args()


def prepare(args: argparse.Namespace, data_dir: Path) -> tuple[str, str]:
    """(database URL, editor session): seeded and rolled up, or reused from ``--keep``.

    Seeding and the rollups' rebuild are kept apart (a marker each): a database seeded once
    is migrated again (a new migration lands on it) and rolled up again when the rollups'
    marker is missing, without seeding again."""
    seeded = data_dir / f"seeded-{args.database}"
    rolled = data_dir / f"rolled-{args.database}"
    url = f"sqlite:///{data_dir / 'relay.sqlite3'}" if args.database == "sqlite" else args.pg
    if not seeded.exists():
        moment = datetime.now(UTC).replace(microsecond=0)
        if args.database == "postgresql":
            asyncio.run(_fresh_postgres(url))
        migrate(url, data_dir)
        rows = ledger_rows(moment, args.members, args.rows)
        started = time.monotonic()
        if args.database == "sqlite":
            seed_sqlite(data_dir / "relay.sqlite3", moment, args.members, rows)
        else:
            asyncio.run(seed_postgres(url, moment, args.members, rows))
        del rows
        print(f"seeded in {time.monotonic() - started:.1f}s")
        seeded.write_text(moment.isoformat())
    migrate(url, data_dir)
    if args.seed_only:
        return url, ""
    if not rolled.exists():
        moment = datetime.fromisoformat(seeded.read_text().strip())
        days, seconds, session = asyncio.run(roll_up(url, moment))
        print(f"rolled up ({days} days, rebuild {seconds:.1f}s)")
        rolled.write_text(session)
    return url, rolled.read_text().strip()


async def _fresh_postgres(url: str) -> None:
    import asyncpg

    base, _slash, name = url.rpartition("/")
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


class QueryCount:
    """SQL statements run, counted at the engines' entry point."""

    def __init__(self) -> None:
        self.n = 0
        self.shown: list[str] | None = None  # the statements' text, while a list

    def install(self) -> None:
        from piccolo.engine.postgres import PostgresEngine
        from piccolo.engine.sqlite import SQLiteEngine

        for engine_class in (SQLiteEngine, PostgresEngine):
            original = engine_class.run_querystring

            async def counted(engine: Any, *a: Any, _original: Any = original, **kw: Any) -> Any:
                self.n += 1
                if self.shown is not None and a:
                    self.shown.append(" ".join(str(a[0]).split())[:200])
                return await _original(engine, *a, **kw)

            engine_class.run_querystring = counted  # type: ignore[method-assign, assignment]


async def measure(url: str, session: str, data_dir: Path, args: argparse.Namespace) -> None:
    from app.core.settings import Settings
    from app.main import create_app

    env = {
        "RELAY_DATA_DIR": str(data_dir),
        "DATABASE_URL": url,
        "PUBLIC_URL": "http://localhost:8000",
        "SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
        "RELAY_EMBEDDED_WORKER": "off",
    }
    app = create_app(Settings.from_env(env))
    queries = QueryCount()
    queries.install()
    headers = {**BROWSER, "Cookie": f"relay_session={session}"}
    async with (
        app.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
            base_url="http://localhost:8000",
        ) as client,
    ):
        from app.insights import service

        shared = getattr(service, "share_kept", None)  # None: a checkout from before it
        if shared is not None:
            await service.InsightKept.delete(force=True)
            if args.round:
                started, used = time.perf_counter(), time.process_time()
                written = await shared(datetime.now(UTC))
                rows = await service.InsightKept.raw(
                    "SELECT COUNT(*) AS n, SUM(LENGTH(value)) AS size FROM insight_kept"
                )
                print(
                    f"round: {written} figures shared in {time.perf_counter() - started:.2f} s "
                    f"({time.process_time() - used:.2f} s CPU), {rows[0]['n']} rows, "
                    f"{int(rows[0]['size'] or 0) / 1e6:.1f} MB of JSON"
                )
        for what, path in PAGES:
            if args.profile and path != args.profile:
                continue
            service.drop_kept()
            burst = ""
            if args.burst:

                async def one(path: str = path) -> float:
                    started = time.perf_counter()
                    await client.get(path, headers=headers)
                    return (time.perf_counter() - started) * 1000

                queries.n = 0
                used = time.process_time()
                waits = await asyncio.gather(*[one() for _n in range(args.burst)])
                burst = (
                    f"  burst of {args.burst}: slowest {max(waits):7.1f} ms, "
                    f"{(time.process_time() - used) * 1000:6.0f} ms CPU, {queries.n} queries"
                )
                service.drop_kept()
            started = time.perf_counter()
            response = await client.get(path, headers=headers)
            first = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                print(f"{what}: {response.status_code}")
                continue
            queries.n = 0
            await client.get(path, headers=headers)
            count = queries.n
            times = []
            cpu = []
            profiler = cProfile.Profile() if args.profile else None
            for _n in range(args.repeat):
                started = time.perf_counter()
                used = time.process_time()
                if profiler:
                    profiler.enable()
                await client.get(path, headers=headers)
                if profiler:
                    profiler.disable()
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - used) * 1000)
            print(
                f"{what:<36} first {first:7.1f} ms  p50 {statistics.median(times):7.1f} ms  "
                f"worst {max(times):7.1f} ms  CPU p50 {statistics.median(cpu):6.1f} ms  "
                f"{count:3d} queries{burst}"
            )
            if profiler:
                stats = pstats.Stats(profiler)
                stats.sort_stats("cumulative").print_stats(r"app/|jinja|templates", 40)
                stats.sort_stats("tottime").print_stats(20)


def main() -> None:
    args = arguments()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    os.environ.setdefault("RELAY_EMBEDDED_WORKER", "off")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        url, session = prepare(args, args.keep)
        if not args.seed_only:
            asyncio.run(measure(url, session, args.keep, args))
        return
    with tempfile.TemporaryDirectory(prefix="relay-bench-insights-") as tmp:
        url, session = prepare(args, Path(tmp))
        asyncio.run(measure(url, session, Path(tmp), args))


if __name__ == "__main__":
    main()
