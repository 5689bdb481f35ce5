"""Leaderboards, the wall of fame and the points page at scale, on SQLite and PostgreSQL.

    python -m bench.points [--seconds 8] [--connections 32] [--workers 1]
                           [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--only sqlite]

Seeds 50,000 members (in 250 teams and 12 sites) and 1,000,000 ledger lines over the last
year (shares, clicks, applications, stages, corrections, reversals, and redemptions, which
must not count), their PointsTotal rows (all time, per ISO week and per month, computed from
the same lines and checked against them with SQL), badges, 600 items with 150,000 shares,
and 60 referred hires, 40 of whom agreed to appear on the wall of fame. Rows go in with the
drivers' bulk paths (sqlite3 ``executemany``, asyncpg ``COPY``), not through Relay.

Then, with wrk through the harness, for a member in the middle of the rankings: the
leaderboard this week, all time and for their team this week, the team ranking this month,
the wall of fame, and /me/points for a member with 200 lines (when this build has that page),
each with requests/s, p50 and p99, and the ratio to /ping measured in the same run.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.harness import HEADER, ROOT, Load, RelayServer, load, on_each_database, page_bench_args

MEMBERS = 50_000
TEAMS = 250
SITES = 12
LINES = 1_000_000
HEAVY_LINES = 200  # the member whose /me/points is measured
ITEMS = 600
SHARES = 150_000
HIRES = 60
DAYS = 365
BROWSER = {"Accept": "text/html", "Accept-Encoding": "gzip", "Accept-Language": "en"}

# (reason, points, weight): mostly shares and clicks, a few big events, some spending.
REASONS = [
    ("share", 2, 40),
    ("weekly_bonus", 5, 8),
    ("click", 10, 30),
    ("application", 50, 3),
    ("recommendation", 30, 2),
    ("contacted", 20, 2),
    ("interview", 100, 1),
    ("offer", 150, 0.4),
    ("hired", 500, 0.2),
    ("reversal", -100, 0.3),
    ("correction", 25, 0.3),
    ("redemption", -150, 1.5),
    ("refund", 150, 0.2),
]
SPENDING = {"redemption", "refund"}


def periods(at: datetime) -> list[str]:
    from app.points.ledger import periods as ledger_periods

    return ledger_periods(at)


class Dataset:
    """Everything seeded, generated once with a fixed seed, identical for both databases."""

    def __init__(self, moment: datetime) -> None:
        rng = random.Random(6)
        self.moment = moment
        self.members = [
            (
                n + 1,
                f"person{n}@bench.example",
                f"Person {n}",
                rng.randrange(TEAMS) + 1,
                rng.randrange(SITES) + 1,
                n % 97 != 0,
                n % 23 == 0,
            )
            for n in range(MEMBERS)
        ]  # fmt: skip  (id, email, name, team, site, active, anonymous)
        # Activity is skewed like real programmes: a few very active ambassadors.
        weights = [1.0 / (1 + (n % 1000)) ** 0.6 for n in range(MEMBERS)]
        reasons, values, reason_weights = zip(*REASONS, strict=True)
        self.heavy = MEMBERS // 2  # an ordinary member (id) with exactly HEAVY_LINES lines
        weights[self.heavy - 1] = 0
        who = rng.choices(range(1, MEMBERS + 1), weights=weights, k=LINES - HEAVY_LINES)
        who += [self.heavy] * HEAVY_LINES
        kinds = rng.choices(range(len(reasons)), weights=reason_weights, k=LINES)
        self.lines: list[tuple[int, int, str, str, datetime]] = []
        self.totals: dict[tuple[int, str], int] = defaultdict(int)
        for n, (member, kind) in enumerate(zip(who, kinds, strict=True)):
            at = moment - timedelta(seconds=rng.randrange(DAYS * 86400))
            reason, points = reasons[kind], values[kind]
            self.lines.append((member, points, reason, f"bench:{n}", at))
            if reason not in SPENDING:
                for period in periods(at):
                    self.totals[(member, period)] += points
        self.badges = [
            (member, badge)
            for member in range(1, MEMBERS + 1, 2)
            for badge in ("first_share", "first_click", "streak_4")[: 1 + member % 3]
        ]
        self.shares = []
        seen: set[str] = set()
        while len(self.shares) < SHARES:
            member, item = rng.randrange(MEMBERS) + 1, rng.randrange(ITEMS) + 1
            network = rng.choice(["linkedin", "whatsapp", "x", "facebook", "email"])
            key = f"{member}:{item}:{network}"
            if key not in seen:
                seen.add(key)
                at = moment - timedelta(seconds=rng.randrange(DAYS * 86400))
                self.shares.append((key, member, item, network, at))
        self.hires = [
            (
                rng.randrange(ITEMS // 3) * 3 + 1,
                rng.randrange(MEMBERS) + 1,
                f"Hire{n} Person",
                moment - timedelta(days=rng.randrange(90)),
                n % 3 != 0,
            )
            for n in range(HIRES)
        ]  # fmt: skip  (offer, referrer, name, hired_at, consent)
        self.viewer = self._middle_member()

    def _middle_member(self) -> int:
        """An active member ranked in the middle of this week's board, with a team."""
        week = periods(self.moment)[1]
        ranked = sorted(
            (p, m) for (m, period), p in self.totals.items() if period == week and p > 0
        )
        return ranked[len(ranked) // 2][1]

    def total_rows(self) -> Iterator[tuple[str, int, str, int]]:
        for (member, period), points in self.totals.items():
            yield f"{member}:{period}", member, period, points


def migrate(database_url: str, data_dir: Path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "RELAY_DATA_DIR": str(data_dir)}
    subprocess.run(
        [sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True
    )


def seed_sqlite(path: Path, data: Dataset) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    iso = str  # how Piccolo writes a UTC timestamp to SQLite: "2026-11-26 18:16:17+00:00"
    now = iso(data.moment)
    with conn:
        conn.execute("INSERT INTO organisation (name, default_language, brand_colour, created_at)"
                     " VALUES ('Bench Corp', 'en', '#4f46e5', ?)", (now,))  # fmt: skip
        conn.executemany("INSERT INTO team (id, name, active) VALUES (?, ?, 1)",
                         [(n, f"Team {n}") for n in range(1, TEAMS + 1)])  # fmt: skip
        conn.executemany("INSERT INTO site (id, name, active) VALUES (?, ?, 1)",
                         [(n, f"Site {n}") for n in range(1, SITES + 1)])  # fmt: skip
        conn.executemany(
            "INSERT INTO member (id, email, name, role, team, site, language, active, "
            "created_at, leaderboard_anonymous) VALUES (?, ?, ?, 'employee', ?, ?, 'en', ?, ?, ?)",
            [(i, e, n, t, s, a, now, anon) for i, e, n, t, s, a, anon in data.members],
        )
        conn.executemany(
            "INSERT INTO points_line (member, points, reason, key, multiplier, note, at) "
            "VALUES (?, ?, ?, ?, 100, '', ?)",
            ((m, p, r, k, iso(at)) for m, p, r, k, at in data.lines),
        )
        conn.executemany(
            'INSERT INTO points_total ("key", member, period, points) VALUES (?, ?, ?, ?)',
            data.total_rows(),
        )
        conn.executemany(
            'INSERT INTO member_badge ("key", member, badge, at) VALUES (?, ?, ?, ?)',
            [(f"{m}:{b}", m, b, now) for m, b in data.badges],
        )
        conn.executemany(
            "INSERT INTO content_item (id, kind, title, body, excerpt, language, tags, captions, "
            "image_alt, video_url, audience_all, pinned, publish_at, announced_at, contract, "
            "remote, bonus_text, offer_status, apply_url, created_at, updated_at) VALUES (?, ?, ?,"
            " '', '', 'en', '', '{}', '', '', 1, 0, ?, ?, '', '', '', ?, '', ?, ?)",
            [(n, "offer" if n % 3 == 1 else "story", f"Item {n}", now, now,
              "open" if n % 3 == 1 else "draft", now, now) for n in range(1, ITEMS + 1)],
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO share (key, member, item, network, at) VALUES (?, ?, ?, ?, ?)",
            ((k, m, i, nw, iso(at)) for k, m, i, nw, at in data.shares),
        )
        conn.executemany(
            "INSERT INTO candidate (kind, item, referrer, name, email, phone, linkedin, message,"
            " cv_name, cv_type, consent_at, stage, notes, created_at, updated_at, hired_at,"
            " wall_of_fame) VALUES ('application', ?, ?, ?, 'x@example.com', '', '', '', '', '',"
            " ?, 'hired', '', ?, ?, ?, ?)",
            [(i, r, n, iso(at), iso(at), iso(at), iso(at), c) for i, r, n, at, c in data.hires],
        )
    conn.execute("ANALYZE")
    conn.close()


async def seed_postgres(url: str, data: Dataset) -> None:
    conn = await asyncpg.connect(url)
    try:
        now = data.moment
        await conn.execute("INSERT INTO organisation (name, default_language, brand_colour, "
                           "created_at) VALUES ('Bench Corp', 'en', '#4f46e5', $1)", now)  # fmt: skip
        await conn.copy_records_to_table("team", records=[(n, f"Team {n}", True) for n in range(
            1, TEAMS + 1)], columns=["id", "name", "active"])  # fmt: skip
        await conn.copy_records_to_table("site", records=[(n, f"Site {n}", True) for n in range(
            1, SITES + 1)], columns=["id", "name", "active"])  # fmt: skip
        await conn.copy_records_to_table(
            "member",
            records=[(i, e, n, "employee", t, s, "en", a, now, anon)
                     for i, e, n, t, s, a, anon in data.members],
            columns=["id", "email", "name", "role", "team", "site", "language", "active",
                     "created_at", "leaderboard_anonymous"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "points_line",
            records=[(m, p, r, k, 100, "", at) for m, p, r, k, at in data.lines],
            columns=["member", "points", "reason", "key", "multiplier", "note", "at"],
        )
        await conn.copy_records_to_table(
            "points_total", records=list(data.total_rows()),
            columns=["key", "member", "period", "points"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "member_badge", records=[(f"{m}:{b}", m, b, now) for m, b in data.badges],
            columns=["key", "member", "badge", "at"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "content_item",
            records=[(n, "offer" if n % 3 == 1 else "story", f"Item {n}", now, now,
                      "open" if n % 3 == 1 else "draft", now, now) for n in range(1, ITEMS + 1)],
            columns=["id", "kind", "title", "publish_at", "announced_at", "offer_status",
                     "created_at", "updated_at"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "share", records=data.shares, columns=["key", "member", "item", "network", "at"]
        )
        await conn.copy_records_to_table(
            "candidate",
            records=[("application", i, r, n, "x@example.com", at, "hired", at, at, at, c)
                     for i, r, n, at, c in data.hires],
            columns=["kind", "item", "referrer", "name", "email", "consent_at", "stage",
                     "created_at", "updated_at", "hired_at", "wall_of_fame"],
        )  # fmt: skip
        for table in ("team", "site", "member", "content_item"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


CHECK_SQL = """
SELECT COUNT(*) AS wrong FROM (
  SELECT member, SUM(points) AS points FROM points_line
  WHERE reason NOT IN ('redemption', 'refund') GROUP BY member
) l FULL OUTER JOIN (SELECT member, points FROM points_total WHERE period = 'all') t
  ON t.member = l.member
WHERE l.points IS NULL OR t.points IS NULL OR l.points <> t.points
"""


async def check_totals(database_url: str, data: Dataset) -> tuple[int, int]:
    """(members whose lifetime total differs from their lines' sum, lines) — in SQL."""
    from app.core import db
    from app.points.tables import PointsLine

    db.use_engine(db.engine_from_url(database_url))
    wrong = (await PointsLine.raw(CHECK_SQL))[0]["wrong"]  # FULL JOIN: SQLite 3.39+
    lines = await PointsLine.count()
    month = periods(data.moment)[2]
    start = data.moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    rows = await PointsLine.raw(
        "SELECT COALESCE(SUM(points), 0) AS s FROM points_line WHERE member = {} AND at >= {} "
        "AND reason NOT IN ('redemption', 'refund')",
        data.heavy,
        start,
    )
    assert int(rows[0]["s"]) == data.totals.get((data.heavy, month), 0), "month total differs"
    return int(wrong), int(lines)


async def sessions(database_url: str, members: list[int]) -> list[str]:
    from app.accounts.sessions import create_session
    from app.core import db

    db.use_engine(db.engine_from_url(database_url))
    return [await create_session(m, "bench") for m in members]


def run(label: str, database_url: str, data_dir: Path, data: Dataset, args: Any) -> None:
    migrate(database_url, data_dir)
    started = time.monotonic()
    if database_url.startswith("sqlite"):
        seed_sqlite(Path(database_url.removeprefix("sqlite:///")), data)
    else:
        asyncio.run(seed_postgres(database_url, data))
    seeded = time.monotonic() - started
    wrong, lines = asyncio.run(check_totals(database_url, data))
    assert wrong == 0, f"{wrong} members' totals differ from their lines"
    print(
        f"{label}: seeded {MEMBERS:,} members, {lines:,} ledger lines, {len(data.totals):,} "
        f"totals, {SHARES:,} shares in {seeded:.1f}s; totals equal the lines"
    )
    viewer, heavy = asyncio.run(sessions(database_url, [data.viewer, data.heavy]))
    # Pages only: the background jobs (nudges, summaries, purges) run in worker processes at
    # this scale, not inside the measured web process.
    with RelayServer(
        server="granian", workers=args.workers, database_url=database_url, data_dir=data_dir,
        demo=False, extra_env={"RELAY_EMBEDDED_WORKER": "off"},
    ) as relay:  # fmt: skip
        figures: list[Load] = []

        def measure(what: str, path: str, token: str = viewer) -> None:
            headers = {**BROWSER, "Cookie": f"relay_session={token}"}
            status = httpx.get(relay.url + path, headers=headers).status_code
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
        measure("/leaderboard this week", "/leaderboard?period=week&scope=everyone")
        measure("/leaderboard all time", "/leaderboard?period=all&scope=everyone")
        measure("/leaderboard my team, this week", "/leaderboard?period=week&scope=team")
        measure("/leaderboard teams, this month", "/leaderboard?period=month&scope=teams")
        measure("/wall-of-fame", "/wall-of-fame")
        measure(f"/me/points ({HEAVY_LINES} lines)", "/me/points", heavy)
    print(HEADER)
    print(ceiling.row())
    for figure in figures:
        print(figure.row(ceiling))
    print()


def main() -> None:
    args = page_bench_args("Points")
    started = time.monotonic()
    data = Dataset(datetime.now(UTC).replace(microsecond=0))
    print(f"generated the data set in {time.monotonic() - started:.1f}s\n")

    def on(label: str, url: str | None) -> None:
        with tempfile.TemporaryDirectory(prefix="relay-bench-points-") as tmp:
            run(label, url or f"sqlite:///{Path(tmp) / 'relay.sqlite3'}", Path(tmp), data, args)

    on_each_database(args, "points", on)


if __name__ == "__main__":
    main()
