"""Daily rollups of the activity ledger, kept up to date by a periodic job.

Every page of insights reads these tables, never the ledger itself:

- :class:`InsightTotal`: per span (a UTC day, a week from Monday, a month, a year) and per
  dimension (everything, team, site, content item, network, member), the referred events'
  shares, genuine clicks, applications, accepted recommendations, moves to Interview and to
  Hired, apply clicks, and every application and hire: a period is read as a few spans (a
  year is one row per key, not 365), each breakdown from its own dimension's rows;
- :class:`InsightDay`: per UTC day × team × site × item × network × referred, the same
  counts, for the pages filtered by a team, a site or an item (one dimension crossed with
  another);
- :class:`InsightHeadcount`: members active at the end of each day, per team, per site and
  in all.

A day's rows are always computed whole from that day's ledger rows (:func:`roll_up_day`),
and the change to them added to its week's, month's and year's rows, so the periodic
:func:`refresh` (the days of the rows written since the last round, plus today
and yesterday for rows committed late) and :func:`rebuild` (every day from the first) give
the same rows. An event counts for the team and site its member had when its day was rolled
up; a member deleted later leaves their past days as they were.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from piccolo.query.functions.aggregate import Count, Max, Min

from app.accounts.tables import Member
from app.activity.tables import Activity, ActivityKind
from app.core import db
from app.insights.tables import InsightDay, InsightHeadcount, InsightState, InsightTotal
from app.notifications.campaigns import single_runner_lock

log = logging.getLogger("relay.insights")

FIGURES = ("shares", "clicks", "applications", "recommendations", "interviews", "hires")
DAY_FIGURES = (*FIGURES, "apply_clicks")
# The ledger's kinds and the figure each adds to; a stage row adds to the stage it reached.
KIND_FIGURE = {
    ActivityKind.share.value: "shares",
    ActivityKind.click.value: "clicks",
    ActivityKind.application.value: "applications",
    ActivityKind.recommendation.value: "recommendations",
    ActivityKind.apply_click.value: "apply_clicks",
}
STAGE_FIGURE = {"interview": "interviews", "hired": "hires"}
UNKNOWN = "unknown"
ALL = -1  # the headcount's "every team" or "every site"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, datetime.min.time(), UTC)
    return start, start + timedelta(days=1)


def _driver() -> Any:
    """The driver's connection of the transaction under way (aiosqlite or asyncpg)."""
    engine = db.current_engine()
    transaction = engine.current_transaction.get()
    if transaction is None:  # pragma: no cover - the rollups always write in a transaction
        raise RuntimeError("The insights rollups write inside a transaction.")
    return transaction.connection


async def execute_many(sql: str, rows: list[tuple[Any, ...]]) -> None:
    """One statement with ``?`` placeholders, run for each row by the driver itself inside
    the transaction under way: building a Piccolo query per few hundred rows cost far more
    than the database spent writing them (most of a rebuild's time, measured)."""
    if not rows:
        return
    if db.is_postgres():
        count = iter(range(1, sql.count("?") + 1))
        await _driver().executemany(re.sub(r"\?", lambda _m: f"${next(count)}", sql), rows)
    else:
        await _driver().executemany(sql, rows)


async def insert_rows(table: Any, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Rows written in bulk: PostgreSQL's COPY, SQLite's executemany (inside the caller's
    transaction)."""
    if not rows:
        return
    name = table._meta.tablename
    if db.is_postgres():
        await _driver().copy_records_to_table(name, records=rows, columns=columns)
        return
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    # Only our own table and column names are joined in: values are bound.
    await execute_many(f"INSERT INTO {name} ({names}) VALUES ({marks})", rows)  # noqa: S608


SHARE, CLICK, STAGE = ActivityKind.share.value, ActivityKind.click.value, ActivityKind.stage.value
WITH_DETAIL = (SHARE, CLICK, STAGE)


@functools.lru_cache(maxsize=4096)
def _figure_of(kind: str, text: str | None) -> tuple[str | None, str]:
    """The figure a ledger row of ``kind`` with ``detail`` text adds to, and its network (""
    for events that have none). Kept per (kind, detail): a ledger's details repeat (a share's
    or a click's is its network), and parsing them was much of a rebuild's Python time."""
    try:
        parsed = json.loads(text or "{}")
    except ValueError:
        parsed = {}
    detail = parsed if isinstance(parsed, dict) else {}
    if kind == STAGE:
        return STAGE_FIGURE.get(str(detail.get("stage", ""))), ""
    return KIND_FIGURE.get(kind), str(detail.get("network") or UNKNOWN)[:20]


def _figure(kind: str, detail: str | None) -> tuple[str | None, str]:
    """The figure a ledger row adds to, and its network ("" for events that have none); the
    detail is read for shares, clicks and moves through the pipeline only."""
    if kind in WITH_DETAIL:
        return _figure_of(kind, detail)
    return KIND_FIGURE.get(kind), ""


# The totals' columns: a span and a cell (dimension, key, network, team, site), then figures.
TOTAL_FIGURES = (*DAY_FIGURES, "all_applications", "all_hires")
TOTAL_CELL = ("dim", "key", "network", "team", "site")
DIMENSIONS = ("all", "team", "site", "item", "network", "member")
FIGURE_AT = {figure: n for n, figure in enumerate(TOTAL_FIGURES)}
Cell = tuple[str, int, str, int, int]
Counts = dict[Any, list[int]]


def spans_of(day: date) -> tuple[str, str, str, str]:
    """The day's span and those of its week (from Monday), month and year."""
    monday = day - timedelta(days=day.weekday())
    return (
        f"d{day.isoformat()}",
        f"w{monday.isoformat()}",
        f"m{day.year:04d}-{day.month:02d}",
        f"y{day.year:04d}",
    )


def day_cells(rows: Iterable[Any]) -> tuple[Counts, Counts]:
    """One day's ledger rows (kind, member, item, at, detail, team, site) counted: the fine
    rows (team × site × item × network × referred) and the totals per dimension (referred
    events; ``all`` also counts every application and hire, with a referrer or without)."""
    fine: Counts = defaultdict(lambda: [0] * len(DAY_FIGURES))
    totals: Counts = defaultdict(lambda: [0] * len(TOTAL_FIGURES))
    everything: Cell = ("all", 0, "", 0, 0)
    for kind, member, item, _at, detail, team, site in rows:
        figure, network = _figure(kind, detail)
        if figure is None:
            continue
        team, site, item = team or 0, site or 0, item or 0
        at = FIGURE_AT[figure]
        fine[(team, site, item, network, int(member is not None))][at] += 1
        if figure in ("applications", "hires"):
            totals[everything][FIGURE_AT["all_" + figure]] += 1
        if member is None:
            continue
        for cell in (everything, ("team", team, "", 0, 0), ("site", site, "", 0, 0)):
            totals[cell][at] += 1
        totals[("item", item, "", 0, 0)][at] += 1
        if network:
            totals[("network", 0, network, 0, 0)][at] += 1
        if figure in FIGURES:
            totals[("member", member, "", team, site)][at] += 1
    return fine, totals


LEDGER_SQL = (
    "SELECT a.kind, a.member, a.item, {at} AS at, a.detail, m.team, m.site FROM activity a "
    "LEFT JOIN member m ON m.id = a.member WHERE a.at >= {start} AND a.at < {end}"
)


async def ledger_rows_by_day(first: date, last: date) -> dict[date, list[Any]]:
    """The ledger's rows from ``first`` to ``last`` by UTC day, with their member's team and
    site now: one literal query through the driver (Piccolo building a dict per row of a
    month cost more than counting it), inside the caller's transaction."""
    start, end = day_bounds(first)[0], day_bounds(last)[1]
    by_day: dict[date, list[Any]] = defaultdict(list)
    if db.is_postgres():
        sql = LEDGER_SQL.format(at="a.at", start="$1", end="$2")
        for row in await _driver().fetch(sql, start, end):
            by_day[row[3].astimezone(UTC).date()].append(row)
        return by_day
    # SQLite keeps a timestamp as text in UTC as Piccolo writes it ("2026-11-30
    # 15:00:00+00:00"): read as text (the driver's conversion to a datetime is skipped).
    sql = LEDGER_SQL.format(at="CAST(a.at AS TEXT)", start="?", end="?")
    connection = _driver()
    factory, connection.row_factory = connection.row_factory, None  # tuples, not dicts
    try:
        cursor = await connection.execute(sql, (str(start), str(end)))
    finally:
        connection.row_factory = factory
    try:
        rows = await cursor.fetchall()
    finally:
        await cursor.close()
    days: dict[str, date] = {}
    for row in rows:
        at = row[3]
        if at.endswith("+00:00"):  # its day is its first ten characters
            day = days.get(at[:10]) or days.setdefault(at[:10], date.fromisoformat(at[:10]))
        else:
            day = _as_datetime(at).astimezone(UTC).date()
        by_day[day].append(row)
    return by_day


def _fine_rows(label: str, fine: Counts) -> list[tuple[Any, ...]]:
    return [(label, *cell, *counts) for cell, counts in sorted(fine.items())]


def _total_rows(span: str, totals: Counts) -> list[tuple[Any, ...]]:
    return [(span, *cell, *counts) for cell, counts in sorted(totals.items()) if any(counts)]


FINE_COLUMNS = ["day", "team", "site", "item", "network", "referred", *DAY_FIGURES]
TOTAL_COLUMNS = ["span", *TOTAL_CELL, *TOTAL_FIGURES]


async def add_to_totals(rows: list[tuple[Any, ...]]) -> None:
    """Add each row's figures to its span and cell's row, creating it when missing (INSERT …
    ON CONFLICT DO UPDATE, on SQLite and PostgreSQL alike)."""
    table = InsightTotal._meta.tablename
    names = ", ".join(f'"{c}"' for c in TOTAL_COLUMNS)
    marks = ", ".join("?" for _ in TOTAL_COLUMNS)
    updates = ", ".join(f'"{f}" = {table}."{f}" + excluded."{f}"' for f in TOTAL_FIGURES)
    conflict = ", ".join(f'"{c}"' for c in ("dim", "span", "key", "network", "team", "site"))
    await execute_many(
        # Only our own table and column names are joined in: values are bound.
        f"INSERT INTO {table} ({names}) VALUES ({marks}) "  # noqa: S608
        f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}",
        rows,
    )


def _in(values: Iterable[Any]) -> str:
    return ", ".join("{}" for _ in values)


async def roll_up_day(day: date) -> None:
    """Write one day's rows again from that day's ledger rows, and add the change to its
    week's, month's and year's totals (inside the caller's transaction)."""
    fine, totals = day_cells((await ledger_rows_by_day(day, day)).get(day, ()))
    label = day.isoformat()
    day_span, *wider = spans_of(day)
    kept = await InsightTotal.raw(
        f"SELECT {', '.join(TOTAL_CELL + TOTAL_FIGURES)} FROM insight_total "  # noqa: S608
        f"WHERE dim IN ({_in(DIMENSIONS)}) AND span = {{}}",
        *DIMENSIONS,
        day_span,
    )
    change: Counts = {cell: list(counts) for cell, counts in totals.items()}
    for row in kept:
        cell = tuple(row[c] for c in TOTAL_CELL)
        counts = change.setdefault(cell, [0] * len(TOTAL_FIGURES))
        for n, figure in enumerate(TOTAL_FIGURES):
            counts[n] -= int(row[figure])
    change = {cell: counts for cell, counts in change.items() if any(counts)}
    await InsightDay.delete().where(InsightDay.day == label)
    await insert_rows(InsightDay, FINE_COLUMNS, _fine_rows(label, fine))
    if not change:
        return
    await InsightTotal.delete().where(
        InsightTotal.dim.is_in(list(DIMENSIONS)), InsightTotal.span == day_span
    )
    await insert_rows(InsightTotal, TOTAL_COLUMNS, _total_rows(day_span, totals))
    await add_to_totals(
        [(span, *cell, *counts) for span in wider for cell, counts in change.items()]
    )
    if any(n < 0 for counts in change.values() for n in counts):
        # A row whose figures all went back to zero goes, as a rebuild would not write it.
        await InsightTotal.raw(
            f"DELETE FROM insight_total WHERE dim IN ({_in(DIMENSIONS)}) "  # noqa: S608
            f"AND span IN ({_in(wider)}) AND " + " AND ".join(f"{f} = 0" for f in TOTAL_FIGURES),
            *DIMENSIONS,
            *wider,
        )


async def count_heads(day: date) -> None:
    """Members active at the end of ``day`` (joined before it ended, not deactivated by then),
    per team, per site and in all; written again whole (inside the caller's transaction)."""
    _, end = day_bounds(day)
    rows = (
        await Member.select(Member.team, Member.site, Count(Member.id, alias="members"))
        .where(
            (Member.created_at < end)
            & (
                (Member.active.eq(True) & Member.deactivated_at.is_null())
                | (Member.deactivated_at >= end)
            )
        )
        .group_by(Member.team, Member.site)
    )
    label = day.isoformat()
    await InsightHeadcount.delete().where(InsightHeadcount.day == label)
    # One row per team (site -1), one per site (team -1) and one for everyone (-1, -1): a
    # few hundred rows a day however teams and sites cross (0 is "none").
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for row in rows:
        team, site, members = row["team"] or 0, row["site"] or 0, int(row["members"])
        counts[(team, ALL)] += members
        counts[(ALL, site)] += members
        counts[(ALL, ALL)] += members
    await insert_rows(
        InsightHeadcount,
        ["day", "team", "site", "members"],
        [(label, team, site, members) for (team, site), members in sorted(counts.items())],
    )


async def _state() -> dict[str, Any]:
    row = await InsightState.select().first()
    if row is None:
        await InsightState.insert(InsightState(last_activity=0))
        row = await InsightState.select().first()
    assert row is not None
    return row


def _as_datetime(value: datetime | str) -> datetime:
    """An aggregate's timestamp: SQLite returns MIN() of a timestamp column as its text."""
    if isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _days(first: date, last: date) -> Iterable[date]:
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


async def refresh(now: datetime) -> int:
    """Roll up what the ledger got since the last round; the number of days written.

    The days of ledger rows with a higher id than last time, and today and yesterday in any
    case (a row may commit after a higher id was read); the headcount of every day since the
    last round. One process at a time. The first round on a database rebuilds everything,
    and a rebuild under way (interrupted by a crash or a restart) goes on where it stopped.
    """
    today = now.astimezone(UTC).date()
    async with db.write_transaction():
        if not await single_runner_lock("insights_refresh"):
            return 0
        state = await _state()
        top = await Activity.select(Max(Activity.id, alias="top")).first()
        top_id = int((top or {}).get("top") or 0)
        rebuilding = bool(state["rebuild_next"])
        if not rebuilding and state["last_activity"] == 0 and top_id:
            await _begin_rebuild(today, state["id"], top_id)
            rebuilding = True
        if not rebuilding:
            stamps = await Activity.select(Activity.at).where(Activity.id > state["last_activity"])
            days = {_as_datetime(row["at"]).astimezone(UTC).date() for row in stamps}
            days |= {today, today - timedelta(days=1)}
            for day in sorted(d for d in days if d <= today):
                await roll_up_day(day)
            since = min(state["refreshed_at"].astimezone(UTC).date(), today - timedelta(days=1))
            for day in _days(since, today):
                await count_heads(day)
            await InsightState.update(
                {
                    InsightState.last_activity: max(top_id, state["last_activity"]),
                    InsightState.refreshed_at: now,
                    InsightState.generation: uuid.uuid4().hex,
                }
            ).where(InsightState.id == state["id"])
            return len(days)
    return await continue_rebuild(now)


async def rebuild(now: datetime) -> int:
    """Every rollup from scratch, from the ledger's first day to today; the days written.

    Begun in one short transaction (the rollups emptied, the first day noted in
    ``insight_state``), then a month per transaction (:func:`continue_rebuild`): a rebuild of
    millions of rows never holds the write lock for long, and one stopped half-way (a crash,
    a restart) goes on from its next month at the next round of the periodic job."""
    today = now.astimezone(UTC).date()
    async with db.write_transaction():
        state = await _state()
        top = await Activity.select(Max(Activity.id, alias="top")).first()
        await _begin_rebuild(today, state["id"], int((top or {}).get("top") or 0))
    return await continue_rebuild(now)


FLUSH_ROWS = 20_000
SQLITE_CACHE_KB = 131_072  # a rebuild's page cache on SQLite, per month's transaction
# Indexes a rebuild drops when it begins and creates again in its last transaction: the
# rows it writes come in the order of their day, and these indexes' keys lead with a
# member, a team, a site or an item, so each row was written into a page of its own
# (most of a rebuild's time on both databases, measured). The rebuild's own reads use
# ``insight_total_cell`` and the ``day`` indexes, which it keeps. As the migration that
# made them (piccolo_migrations/relay_2026_12_01t07_30_01_000000.py) wrote them; a test
# checks a rebuild leaves the same indexes.
REBUILD_INDEXES = {
    "insight_total_member": "insight_total (key, dim, span)",
    "insight_day_team": "insight_day (team, day)",
    "insight_day_site": "insight_day (site, day)",
    "insight_day_item": "insight_day (item, day)",
}


async def _begin_rebuild(today: date, state_id: int, top_id: int) -> None:
    """Empty the rollups and note the first day to rebuild: the ledger's first day or the
    first member's (inside the caller's transaction)."""
    for name in REBUILD_INDEXES:
        await InsightTotal.raw(f"DROP INDEX IF EXISTS {name}")  # our own index names
    if db.is_postgres():
        await InsightTotal.raw("TRUNCATE insight_day, insight_total, insight_headcount")
    else:
        await InsightDay.delete(force=True)
        await InsightTotal.delete(force=True)
        await InsightHeadcount.delete(force=True)
    first = await Activity.select(Min(Activity.at, alias="first")).first()
    joined = await Member.select(Min(Member.created_at, alias="first")).first()
    starts = [
        _as_datetime(value).astimezone(UTC).date()
        for value in ((first or {}).get("first"), (joined or {}).get("first"))
        if value is not None
    ]
    start = min([*starts, today - timedelta(days=1)])
    await InsightState.update(
        {
            InsightState.rebuild_next: start.isoformat(),
            InsightState.rebuild_top: top_id,
            InsightState.generation: uuid.uuid4().hex,
        }
    ).where(InsightState.id == state_id)


async def continue_rebuild(now: datetime) -> int:
    """The rebuild under way, a month per transaction, to today; the days written (0 when
    none is under way or another process holds it)."""
    today = now.astimezone(UTC).date()
    written = 0
    while True:
        async with db.write_transaction():
            if not await single_runner_lock("insights_refresh"):
                return written
            state = await _state()
            if not state["rebuild_next"]:
                return written
            first = date.fromisoformat(state["rebuild_next"])
            last = min(_month_end(first), today)
            if first <= today:
                written += await rebuild_month(first, last, today)
            following = last + timedelta(days=1)
            if following <= today:
                await InsightState.update(
                    {
                        InsightState.rebuild_next: following.isoformat(),
                        InsightState.generation: uuid.uuid4().hex,
                    }
                ).where(InsightState.id == state["id"])
                continue
            # The indexes dropped when it began, in the transaction that ends it: a rebuild
            # is never seen done without them.
            for name, target in REBUILD_INDEXES.items():
                await InsightTotal.raw(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")
            await InsightState.update(
                {
                    InsightState.rebuild_next: "",
                    InsightState.last_activity: state["rebuild_top"],
                    InsightState.refreshed_at: now,
                    InsightState.generation: uuid.uuid4().hex,
                }
            ).where(InsightState.id == state["id"])
            log.info("Insights rebuilt to %s", today.isoformat())
            break
    # The planner's statistics of the tables just filled (autovacuum would get there later;
    # until then PostgreSQL guessed 64 rows for a year's 50,000 member rows, measured).
    for table in ("insight_total", "insight_day", "insight_headcount"):
        await InsightTotal.raw(f"ANALYZE {table}")  # our own table names
    return written


def _month_end(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1) - timedelta(days=1)


async def rebuild_month(first: date, last: date, today: date) -> int:
    """The days from ``first`` to ``last`` (within one month) computed from the ledger, read
    in one query and written in bulk; then the spans that end in them summed from rows
    already written: each week whose Sunday is among them from its days, the month from its
    days, the year (in December, or when ``last`` is today) from its months; the spans that
    hold today are summed when ``last`` is today. The headcount of those days. Inside the
    caller's transaction; the days written."""
    fine_rows: list[tuple[Any, ...]] = []
    total_rows: list[tuple[Any, ...]] = []

    async def flush(everything: bool = False) -> None:
        if everything or len(fine_rows) + len(total_rows) >= FLUSH_ROWS:
            await insert_rows(InsightDay, FINE_COLUMNS, fine_rows)
            await insert_rows(InsightTotal, TOTAL_COLUMNS, total_rows)
            fine_rows.clear()
            total_rows.clear()

    if not db.is_postgres():
        # This transaction's own connection: a bigger page cache for its writes and for the
        # week's and month's sums (SQLite's default, 2 MB, missed on every other page).
        await _driver().execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")
    by_day = await ledger_rows_by_day(first, last)
    for day in _days(first, last):
        fine, totals = day_cells(by_day.pop(day, ()))
        fine_rows.extend(_fine_rows(day.isoformat(), fine))
        total_rows.extend(_total_rows(spans_of(day)[0], totals))
        await flush()
    await flush(everything=True)
    ends_now = last == today
    for day in _days(first, last):
        if day.weekday() == 6 or (ends_now and day == last):
            monday = day - timedelta(days=day.weekday())
            await sum_spans(
                f"w{monday.isoformat()}",
                [f"d{d.isoformat()}" for d in _days(monday, monday + timedelta(days=6))],
            )
    if last == _month_end(last) or ends_now:
        month = last.replace(day=1)
        await sum_spans(spans_of(last)[2], [f"d{d.isoformat()}" for d in _days(month, last)])
        if last.month == 12 or ends_now:
            await sum_spans(
                spans_of(last)[3], [f"m{last.year:04d}-{m:02d}" for m in range(1, last.month + 1)]
            )
    await count_heads_between(first, last)
    return (last - first).days + 1


async def sum_spans(span: str, parts: list[str]) -> None:
    """The rows of ``span`` written as the sums of its parts' rows, cell by cell (the parts
    are already written, all of them non-zero rows)."""
    figures = ", ".join(f'SUM("{f}")' for f in TOTAL_FIGURES)
    cell = ", ".join(f'"{c}"' for c in TOTAL_CELL)
    names = ", ".join(f'"{c}"' for c in TOTAL_COLUMNS)
    await InsightTotal.raw(
        f"INSERT INTO insight_total ({names}) SELECT {{}}, {cell}, {figures} "  # noqa: S608
        f"FROM insight_total WHERE dim IN ({_in(DIMENSIONS)}) AND span IN ({_in(parts)}) "
        f"GROUP BY {cell}",
        span,
        *DIMENSIONS,
        *parts,
    )


async def count_heads_between(first: date, last: date) -> None:
    """:func:`count_heads` for every day from ``first`` to ``last`` at once: each member
    counts from the day they joined to the day before they left. Members there all along
    (joined before ``first``, still there after ``last``) are counted per team and site in
    SQL; only those who joined or left in between are read one by one (a rebuild of two
    years no longer reads every member once a month)."""
    start, _ = day_bounds(first)
    _, end = day_bounds(last)
    stayed = (
        await Member.select(Member.team, Member.site, Count(Member.id, alias="members"))
        .where(
            (Member.created_at < start)
            & (
                (Member.active.eq(True) & Member.deactivated_at.is_null())
                | (Member.deactivated_at >= end)
            )
        )
        .group_by(Member.team, Member.site)
    )
    moved = await Member.select(
        Member.team, Member.site, Member.created_at, Member.active, Member.deactivated_at
    ).where(
        (Member.created_at < end)
        & (
            (Member.created_at >= start)
            | ((Member.deactivated_at >= start) & (Member.deactivated_at < end))
        )
    )
    span = (last - first).days + 1
    steps: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0] * (span + 1))

    def count(team: int, site: int, since: int, until: int, members: int) -> None:
        for key in ((team, ALL), (ALL, site), (ALL, ALL)):
            steps[key][since] += members
            steps[key][until] -= members

    for row in stayed:
        count(row["team"] or 0, row["site"] or 0, 0, span, int(row["members"]))
    for member in moved:
        left = member["deactivated_at"]
        if left is None and not member["active"]:
            continue  # never counted (as count_heads' condition says)
        joined = _as_datetime(member["created_at"]).astimezone(UTC).date()
        since = max((joined - first).days, 0)
        until = span
        if left is not None:
            until = min((_as_datetime(left).astimezone(UTC).date() - first).days, span)
        if since >= until:
            continue
        count(member["team"] or 0, member["site"] or 0, since, until, 1)
    rows = []
    running = dict.fromkeys(steps, 0)
    for offset, day in enumerate(_days(first, last)):
        label = day.isoformat()
        for key in sorted(steps):
            running[key] += steps[key][offset]
            if running[key]:
                rows.append((label, *key, running[key]))
    await insert_rows(InsightHeadcount, ["day", "team", "site", "members"], rows)
