"""Daily rollups of the activity ledger, kept up to date by a periodic job.

Every page of insights reads these tables, never the ledger itself:

- :class:`InsightDay`: per UTC day × team × site × item × network, the shares, genuine clicks,
  applications, accepted recommendations, moves to Interview and to Hired, apply clicks;
- :class:`InsightMemberDay`: the same per day and member (active ambassadors, the member
  breakdown, each employee's own impact);
- :class:`InsightHeadcount`: members active at the end of each day, per team, per site and
  in all.

A day's rows are always computed whole from that day's ledger rows (:func:`roll_up_day`), so
the periodic :func:`refresh` (the days of the rows written since the last round, plus today
and yesterday for rows committed late) and :func:`rebuild` (every day from the first) give
the same rows. An event counts for the team and site its member had when its day was rolled
up; a member deleted later leaves their past days as they were.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from piccolo.query.functions.aggregate import Count, Max, Min

from app.accounts.tables import Member
from app.activity.tables import Activity, ActivityKind
from app.core import db
from app.insights.tables import InsightDay, InsightHeadcount, InsightMemberDay, InsightState
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


async def insert_rows(table: Any, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Plain multi-row INSERTs, a few hundred rows each: building a Piccolo object per row
    cost far more than the database spent writing it (as in app.candidates.visits)."""
    names = ", ".join(f'"{c}"' for c in columns)
    one = "(" + ", ".join(["{}"] * len(columns)) + ")"
    for start in range(0, len(rows), 400):
        chunk = rows[start : start + 400]
        await table.raw(
            # Only placeholders and our own column names are joined in: values are bound.
            f"INSERT INTO {table._meta.tablename} ({names}) VALUES "  # noqa: S608
            + ", ".join([one] * len(chunk)),
            *(value for row in chunk for value in row),
        )


def _figure(row: dict[str, Any]) -> tuple[str | None, str]:
    """The figure a ledger row adds to, and its network ("" for events that have none)."""
    kind = row["kind"]
    detail: dict[str, Any] = {}
    if kind in (ActivityKind.share.value, ActivityKind.click.value, ActivityKind.stage.value):
        try:
            parsed = json.loads(row["detail"] or "{}")
        except ValueError:
            parsed = {}
        detail = parsed if isinstance(parsed, dict) else {}
    if kind == ActivityKind.stage.value:
        return STAGE_FIGURE.get(str(detail.get("stage", ""))), ""
    network = ""
    if kind in (ActivityKind.share.value, ActivityKind.click.value):
        network = str(detail.get("network") or UNKNOWN)[:20]
    return KIND_FIGURE.get(kind), network


async def roll_up_day(day: date) -> None:
    """Write one day's rows again from that day's ledger rows (inside the caller's transaction)."""
    start, end = day_bounds(day)
    rows = await Activity.select(
        Activity.kind,
        Activity.member,
        Activity.item,
        Activity.detail,
        Activity.member.team.as_alias("team"),
        Activity.member.site.as_alias("site"),
    ).where((Activity.at >= start) & (Activity.at < end))
    cells: dict[tuple[int, int, int, str, int], dict[str, Any]] = defaultdict(
        lambda: dict.fromkeys(DAY_FIGURES, 0)
    )
    members: dict[int, dict[str, Any]] = {}
    for row in rows:
        figure, network = _figure(row)
        if figure is None:
            continue
        team, site = row["team"] or 0, row["site"] or 0
        referred = int(row["member"] is not None)
        cells[(team, site, row["item"] or 0, network, referred)][figure] += 1
        if row["member"] is not None and figure in FIGURES:
            mine = members.setdefault(
                row["member"], {"team": team, "site": site, **dict.fromkeys(FIGURES, 0)}
            )
            mine[figure] += 1
    label = day.isoformat()
    await InsightDay.delete().where(InsightDay.day == label)
    await InsightMemberDay.delete().where(InsightMemberDay.day == label)
    await insert_rows(
        InsightDay,
        ["day", "team", "site", "item", "network", "referred", *DAY_FIGURES],
        [
            (label, team, site, item, network, referred, *(counts[f] for f in DAY_FIGURES))
            for (team, site, item, network, referred), counts in sorted(cells.items())
        ],
    )
    await insert_rows(
        InsightMemberDay,
        ["day", "member", "team", "site", *FIGURES],
        [
            (label, member, mine["team"], mine["site"], *(mine[f] for f in FIGURES))
            for member, mine in sorted(members.items())
        ],
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
    last round. One process at a time; the first round on a database rebuilds everything.
    """
    today = now.astimezone(UTC).date()
    async with db.write_transaction():
        if not await single_runner_lock("insights_refresh"):
            return 0
        state = await _state()
        top = await Activity.select(Max(Activity.id, alias="top")).first()
        top_id = int((top or {}).get("top") or 0)
        if state["last_activity"] == 0 and top_id:
            return await _rebuild(today, state["id"], top_id, now)
        stamps = await Activity.select(Activity.at).where(Activity.id > state["last_activity"])
        days = {row["at"].astimezone(UTC).date() for row in stamps}
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
            }
        ).where(InsightState.id == state["id"])
        return len(days)


async def rebuild(now: datetime) -> int:
    """Every rollup from scratch, from the ledger's first day to today; the days written."""
    today = now.astimezone(UTC).date()
    async with db.write_transaction():
        state = await _state()
        top = await Activity.select(Max(Activity.id, alias="top")).first()
        return await _rebuild(today, state["id"], int((top or {}).get("top") or 0), now)


async def _rebuild(today: date, state_id: int, top_id: int, now: datetime) -> int:
    await InsightDay.delete(force=True)
    await InsightMemberDay.delete(force=True)
    await InsightHeadcount.delete(force=True)
    first = await Activity.select(Min(Activity.at, alias="first")).first()
    joined = await Member.select(Min(Member.created_at, alias="first")).first()
    starts = [
        _as_datetime(value).astimezone(UTC).date()
        for value in ((first or {}).get("first"), (joined or {}).get("first"))
        if value is not None
    ]
    start = min([*starts, today - timedelta(days=1)])
    written = 0
    for day in _days(start, today):
        await roll_up_day(day)
        await count_heads(day)
        written += 1
    await InsightState.update(
        {InsightState.last_activity: top_id, InsightState.refreshed_at: now}
    ).where(InsightState.id == state_id)
    log.info("Insights rebuilt: %d days", written)
    return written
