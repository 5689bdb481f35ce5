"""Insights at scale, on SQLite and PostgreSQL.

    python -m bench.insights [--members 50000] [--rows 2000000] [--seconds 8]
                             [--connections 8] [--workers 1] [--only sqlite]
                             [--keep DIR [--keep-pg URL]]

Seeds members (in 250 teams and 12 sites), 600 items and activity rows over two years
(shares and genuine clicks with their networks, applications, accepted recommendations,
moves through the pipeline, apply clicks) with the drivers' bulk paths, then rolls them up
with Relay's own ``rebuild()`` (timed) and checks the rollups add up to the ledger.

Then, with wrk through the harness, as an editor: the overview (last 4 weeks, this year),
each breakdown for this year, and the CSV export of the year's per-item rows, each with
requests/s, p50 and p99 and the ratio to /ping measured in the same run; and, in this
process, the XLSX workbook of a year (every table): its time the first time and once kept,
and the peak Python memory of a first time.

The pages keep what they read from the rollups in memory until the next round of the
periodic job changes them (``app.insights.service.kept``; no round runs during the bench):
the first request of each page pays the rollup reads and is printed on its own, wrk's
figures are those of the requests after it. ``--keep DIR`` seeds and rolls up into DIR once
(as ``bench.insights_profile --keep`` does, PostgreSQL in ``--keep-pg``) and reuses it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.harness import HEADER, ROOT, Load, RelayServer, load, on_each_database

TEAMS = 250
SITES = 12
ITEMS = 600
DAYS = 730
BROWSER = {"Accept": "text/html", "Accept-Encoding": "gzip", "Accept-Language": "en"}
KINDS = (
    ("click", 55),
    ("share", 30),
    ("application", 5),
    ("stage", 5),
    ("apply_click", 3),
    ("recommendation", 2),
)
NETWORKS = ("linkedin", "linkedin", "unknown", "x", "whatsapp", "native", "facebook")
STAGES = ("contacted", "interview", "offer", "hired")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    parser.add_argument("--keep", type=Path, default=None, help="seed once into DIR, reuse it")
    parser.add_argument(
        "--keep-pg", default="postgresql://postgres@127.0.0.1:5432/relay_bench_insights_kept"
    )
    args = parser.parse_args()
    print(
        f"Insights benchmark: {args.members:,} members, {args.rows:,} activity rows over "
        f"{DAYS} days; granian, {args.workers} worker(s), {args.connections} connections, "
        f"{args.seconds}s per figure, wrk over loopback\n"
    )
    return args


def activity(moment: datetime, members: int, rows: int) -> list[tuple[Any, ...]]:
    """(kind, key, member, item, at, detail) rows, the same for both databases."""
    rng = random.Random(11)
    kinds = [k for k, weight in KINDS for _ in range(weight)]
    out = []
    for n in range(rows):
        kind = rng.choice(kinds)
        detail: dict[str, str] = {}
        if kind in ("share", "click"):
            detail["network"] = rng.choice(NETWORKS)
        elif kind == "stage":
            detail["stage"] = rng.choice(STAGES)
        member = (
            rng.randint(2, members) if kind in ("share", "click") or rng.random() < 0.7 else None
        )
        at = moment - timedelta(seconds=rng.randrange(DAYS * 86400))
        out.append(
            (kind, f"{kind}:bench:{n}", member, rng.randint(1, ITEMS), at, json.dumps(detail))
        )
    return out


def migrate(database_url: str, data_dir: Path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "RELAY_DATA_DIR": str(data_dir)}
    subprocess.run(
        [sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True
    )


def people(members: int, moment: datetime) -> list[tuple[Any, ...]]:
    joined = moment - timedelta(days=DAYS + 5)
    return [
        (i, f"m{i}@bench.example", f"Member {i}", "editor" if i == 1 else "employee",
         1 + i % TEAMS, 1 + i % SITES, joined, i % 17 == 0)
        for i in range(1, members + 1)
    ]  # fmt: skip


def seed_sqlite(path: Path, moment: datetime, members: int, rows: list[tuple[Any, ...]]) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    now = str(moment)
    with conn:
        conn.execute("INSERT INTO organisation (name, default_language, brand_colour, created_at)"
                     " VALUES ('Bench Corp', 'en', '#4f46e5', ?)", (now,))  # fmt: skip
        conn.executemany("INSERT INTO team (id, name, active) VALUES (?, ?, 1)",
                         [(n, f"Team {n}") for n in range(1, TEAMS + 1)])  # fmt: skip
        conn.executemany("INSERT INTO site (id, name, active) VALUES (?, ?, 1)",
                         [(n, f"Site {n}") for n in range(1, SITES + 1)])  # fmt: skip
        conn.executemany(
            "INSERT INTO member (id, email, name, role, team, site, language, active, created_at,"
            " leaderboard_anonymous) VALUES (?, ?, ?, ?, ?, ?, 'en', 1, ?, ?)",
            [(*p[:6], str(p[6]), p[7]) for p in people(members, moment)],
        )
        conn.executemany(
            "INSERT INTO content_item (id, kind, title, body, excerpt, language, tags, captions, "
            "image_alt, video_url, audience_all, pinned, publish_at, announced_at, contract, "
            "remote, bonus_text, offer_status, apply_url, created_at, updated_at) VALUES (?, ?, ?,"
            " '', '', 'en', '', '{}', '', '', 1, 0, ?, ?, '', '', '', ?, '', ?, ?)",
            [(n, "offer" if n % 3 == 1 else "story", f"Item {n}", now, now,
              "open" if n % 3 == 1 else "draft", now, now) for n in range(1, ITEMS + 1)],
        )  # fmt: skip
        # The ledger's indexes made after its rows (rows come in random order of time,
        # member and item: each went to a page of its own), as the migrations wrote them.
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'activity'"
            " AND sql IS NOT NULL"
        ).fetchall()
        for name, _sql in indexes:
            conn.execute(f"DROP INDEX {name}")
        conn.executemany(
            "INSERT INTO activity (kind, key, member, item, at, detail) VALUES (?, ?, ?, ?, ?, ?)",
            ((k, key, m, i, str(at), d) for k, key, m, i, at, d in rows),
        )
        for _name, sql in indexes:
            conn.execute(sql)
    conn.execute("ANALYZE")
    conn.close()


async def seed_postgres(
    url: str, moment: datetime, members: int, rows: list[tuple[Any, ...]]
) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("INSERT INTO organisation (name, default_language, brand_colour, "
                           "created_at) VALUES ('Bench Corp', 'en', '#4f46e5', $1)", moment)  # fmt: skip
        await conn.copy_records_to_table("team", records=[(n, f"Team {n}", True) for n in range(
            1, TEAMS + 1)], columns=["id", "name", "active"])  # fmt: skip
        await conn.copy_records_to_table("site", records=[(n, f"Site {n}", True) for n in range(
            1, SITES + 1)], columns=["id", "name", "active"])  # fmt: skip
        await conn.copy_records_to_table(
            "member",
            records=[(*p[:6], "en", True, p[6], p[7]) for p in people(members, moment)],
            columns=["id", "email", "name", "role", "team", "site", "language", "active",
                     "created_at", "leaderboard_anonymous"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "content_item",
            records=[(n, "offer" if n % 3 == 1 else "story", f"Item {n}", moment, moment,
                      "open" if n % 3 == 1 else "draft", moment, moment)
                     for n in range(1, ITEMS + 1)],
            columns=["id", "kind", "title", "publish_at", "announced_at", "offer_status",
                     "created_at", "updated_at"],
        )  # fmt: skip
        # The ledger's plain indexes made after its rows, as on SQLite (not its keys').
        indexes = await conn.fetch(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = 'activity' "
            "AND i.indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        async with conn.transaction():
            for index in indexes:
                await conn.execute(f'DROP INDEX "{index["indexname"]}"')
            await conn.copy_records_to_table(
                "activity", records=rows, columns=["kind", "key", "member", "item", "at", "detail"]
            )
            for index in indexes:
                await conn.execute(index["indexdef"])
        for table in ("team", "site", "member", "content_item"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def roll_up(database_url: str, moment: datetime) -> tuple[int, float, str]:
    """Relay's own rebuild of every rollup; (days, seconds, editor session)."""
    from app.accounts.sessions import create_session
    from app.activity.tables import Activity
    from app.core import db
    from app.insights import rollups
    from app.insights.tables import InsightDay

    db.use_engine(db.engine_from_url(database_url))
    started = time.monotonic()
    days = await rollups.rebuild(moment)
    seconds = time.monotonic() - started
    shares = await Activity.count().where(Activity.kind == "share")
    rows = await InsightDay.raw("SELECT COALESCE(SUM(shares), 0) AS s FROM insight_day")
    assert int(rows[0]["s"]) == shares, "the rollups' shares differ from the ledger's"
    return days, seconds, await create_session(1, "bench")


async def workbook(database_url: str, today: date) -> tuple[float, float, float, int, str]:
    """The XLSX workbook of this year, every table: (seconds the first time, seconds once
    its figures and sheets are kept, peak MB of Python memory of a first time, bytes, and
    a line on the first time in a process that did not run the round, its figures read
    from the shared store the round wrote)."""
    from app.core import db
    from app.insights import export, service

    db.use_engine(db.engine_from_url(database_url))
    period, _ = service.parse_period("year", None, None, today)
    shared = getattr(service, "share_kept", None)  # None: a checkout from before it
    if shared is not None:
        await service.InsightKept.delete(force=True)
    service.drop_kept()
    started = time.monotonic()
    body = await export.workbook(period, service.Filters(), viewer_is_admin=False)
    seconds = time.monotonic() - started
    started = time.monotonic()
    await export.workbook(period, service.Filters(), viewer_is_admin=False)
    kept = time.monotonic() - started
    # Memory in a first time again (nothing kept): tracing every allocation slows Python
    # down several times, so it is not the timed run.
    service.drop_kept()
    tracemalloc.start()
    await export.workbook(period, service.Filters(), viewer_is_admin=False)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    store = ""
    if shared is not None:
        started = time.monotonic()
        await shared(datetime.now(UTC))
        round_seconds = time.monotonic() - started
        service.drop_kept()
        started = time.monotonic()
        await export.workbook(period, service.Filters(), viewer_is_admin=False)
        from_store = time.monotonic() - started
        service.drop_kept()
        tracemalloc.start()
        await export.workbook(period, service.Filters(), viewer_is_admin=False)
        store_peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        store = (
            f"; {from_store:.2f}s the first time in a process that did not run the round "
            f"(its figures read from the store, {store_peak:.1f} MB peak; the round's "
            f"figures written in {round_seconds:.2f}s)"
        )
    return seconds, kept, peak, len(body), store


def run(label: str, database_url: str, data_dir: Path, args: argparse.Namespace) -> None:
    moment = datetime.now(UTC).replace(microsecond=0)
    rows = activity(moment, args.members, args.rows)
    migrate(database_url, data_dir)
    started = time.monotonic()
    if database_url.startswith("sqlite"):
        seed_sqlite(Path(database_url.removeprefix("sqlite:///")), moment, args.members, rows)
    else:
        asyncio.run(seed_postgres(database_url, moment, args.members, rows))
    seeded = time.monotonic() - started
    del rows
    days, rebuilt, session = asyncio.run(roll_up(database_url, moment))
    print(
        f"{label}: seeded {args.members:,} members and {args.rows:,} activity rows in "
        f"{seeded:.1f}s; rollups rebuilt ({days} days) in {rebuilt:.1f}s and equal the ledger"
    )
    measure_pages(label, database_url, data_dir, session, moment.date(), args)


def measure_pages(
    label: str, database_url: str, data_dir: Path, session: str, today: date, args: Any
) -> None:
    """The XLSX workbook in this process, then each page with wrk through a granian server."""
    xlsx_s, xlsx_kept, xlsx_mb, xlsx_bytes, store = asyncio.run(workbook(database_url, today))
    print(
        f"{label}: XLSX workbook of this year (every table): {xlsx_s:.2f}s the first time, "
        f"{xlsx_kept:.2f}s once kept, {xlsx_mb:.1f} MB peak Python memory (first time), "
        f"{xlsx_bytes / 1e6:.2f} MB file{store}"
    )
    with RelayServer(
        server="granian", workers=args.workers, database_url=database_url, data_dir=data_dir,
        demo=False, extra_env={"RELAY_EMBEDDED_WORKER": "off"},
    ) as relay:  # fmt: skip
        headers = {**BROWSER, "Cookie": f"relay_session={session}"}
        figures: list[Load] = []

        firsts: list[str] = []

        def measure(what: str, path: str) -> None:
            started = time.monotonic()
            status = httpx.get(relay.url + path, headers=headers, timeout=60).status_code
            firsts.append(f"{what} {(time.monotonic() - started) * 1000:,.0f} ms")
            if status != 200:
                print(f"{label}: GET {path} answers {status}: not measured")
                return
            figures.append(
                load(
                    f"{label}: {what}",
                    relay.url + path,
                    seconds=args.seconds,
                    connections=args.connections,
                    headers=headers,
                )
            )

        ceiling = load(
            f"{label}: GET /ping (ceiling)", f"{relay.url}/ping",
            seconds=args.seconds, connections=args.connections,
        )  # fmt: skip
        measure("/insights last 4 weeks", "/insights?period=4weeks")
        measure("/insights this year", "/insights?period=year")
        measure("/insights this year, one team", "/insights?period=year&team=3")
        measure("/me/impact (the editor's own)", "/me/impact")
        for by in ("team", "site", "item", "network", "member"):
            measure(f"breakdown by {by}, this year", f"/insights/breakdowns?period=year&by={by}")
        measure("breakdown by member, last 4 weeks", "/insights/breakdowns?period=4weeks&by=member")
        measure(
            "breakdown by item, this year, one site",
            "/insights/breakdowns?period=year&by=item&site=2",
        )
        measure("CSV of the year's items", "/insights/export.csv?period=year&table=item")
    print(
        f"{label}: first request of each page (before its rollup figures are kept in memory): "
        + "; ".join(firsts)
    )
    print(HEADER)
    print(ceiling.row())
    for figure in figures:
        print(figure.row(ceiling))
    print()


def kept(args: argparse.Namespace) -> None:
    """``--keep DIR``: the databases seeded and rolled up once in DIR (bench.insights_profile's
    own), measured again as often as wanted."""
    from bench.insights_profile import prepare

    for database in ("sqlite", "postgresql"):
        if args.only not in (None, database):
            continue
        label = "SQLite" if database == "sqlite" else "PostgreSQL"
        options = argparse.Namespace(
            database=database,
            pg=args.keep_pg,
            members=args.members,
            rows=args.rows,
            seed_only=False,
        )
        url, session = prepare(options, args.keep)
        print(f"{label}: seeded and rolled up in {args.keep}")
        measure_pages(label, url, args.keep, session, datetime.now(UTC).date(), args)


def main() -> None:
    args = arguments()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        kept(args)
        return

    def on(label: str, url: str | None) -> None:
        with tempfile.TemporaryDirectory(prefix="relay-bench-insights-") as tmp:
            run(label, url or f"sqlite:///{Path(tmp) / 'relay.sqlite3'}", Path(tmp), args)

    on_each_database(args, "insights", on)


if __name__ == "__main__":
    main()
