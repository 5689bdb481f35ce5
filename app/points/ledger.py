"""The points ledger: :func:`credit` is the one writer of :class:`PointsLine`.

A line is never updated nor deleted (a member's deletion takes theirs with them); a
correction or a reversal is another line. A balance is the sum of a member's lines.
Every line is written in a write transaction that first takes the member's lock
(:func:`lock_member`), so read-then-write work on one member's points (caps, a balance that
must cover a redemption) never races, on SQLite or PostgreSQL. The earned totals per period
(:class:`PointsTotal`) are kept in the same transaction, so leaderboards read exact figures.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from piccolo.query.functions.aggregate import Sum

from app.accounts.tables import Member
from app.core import db
from app.core.clock import now
from app.points.tables import NOT_EARNED, PointsLine, PointsTotal


def periods(at: datetime) -> list[str]:
    """The leaderboard periods an instant belongs to: all time, its ISO week, its month."""
    year, week, _day = at.isocalendar()
    return ["all", f"{year}-W{week:02d}", at.strftime("%Y-%m")]


def week_of(at: datetime) -> str:
    return periods(at)[1]


def month_of(at: datetime) -> str:
    return periods(at)[2]


async def lock_member(member_id: int) -> None:
    """Serialise points work on one member until the transaction ends.

    SQLite's write transactions already run one at a time (BEGIN IMMEDIATE); on PostgreSQL
    the member's row is locked ``FOR NO KEY UPDATE``, which does not conflict with the key
    share locks that inserting rows referencing the member takes (``FOR UPDATE`` would
    deadlock two transactions that both inserted such a row first).
    """
    if db.is_postgres():
        await Member.raw("SELECT id FROM member WHERE id = {} FOR NO KEY UPDATE", member_id)


async def credit(
    member_id: int,
    points: int,
    reason: str,
    key: str,
    *,
    at: datetime | None = None,
    subject: str | None = None,
    item: int | None = None,
    multiplier: int = 100,
    by: int | None = None,
    note: str = "",
) -> int | None:
    """Append a line of ``points`` (negative to take back) once per ``key``.

    Returns the new line's id, or None when a line with this key exists already. Runs in the
    caller's transaction when there is one (it should then have called :func:`lock_member`).
    """
    at = at or now()
    async with db.write_transaction():
        await lock_member(member_id)
        rows = (
            await PointsLine.insert(
                PointsLine(
                    member=member_id,
                    points=points,
                    reason=reason,
                    key=key[:160],
                    subject=subject,
                    item=item,
                    multiplier=multiplier,
                    by=by,
                    note=note,
                    at=at,
                )
            )
            .on_conflict(target=PointsLine.key, action="DO NOTHING")
            .returning(PointsLine.id)
        )
        if not rows:
            return None
        if reason not in NOT_EARNED and points:
            for period in periods(at):
                await PointsTotal.raw(
                    'INSERT INTO points_total ("key", member, period, points) '
                    'VALUES ({}, {}, {}, {}) ON CONFLICT ("key") '
                    "DO UPDATE SET points = points_total.points + excluded.points",
                    f"{member_id}:{period}",
                    member_id,
                    period,
                    points,
                )
        return int(rows[0]["id"])


# A member's balance (bound: the member) and what they earned in a period (bound: the
# "member:period" key of points_total), for balance(), earned() and standing().
BALANCE_SQL = "SELECT SUM(points) FROM points_line WHERE member = {}"
EARNED_SQL = "SELECT points FROM points_total WHERE key = {}"


async def balance(member_id: int) -> int:
    """What the member can spend: the sum of all their lines."""
    # Written out, as are earned() and history(): the points pages read them on every view.
    rows = await PointsLine.raw(f"SELECT ({BALANCE_SQL}) AS total", member_id)
    return int(rows[0]["total"] or 0) if rows else 0


async def points_of(line_ids: list[int]) -> int:
    """The sum of these lines' points."""
    row = (
        await PointsLine.select(Sum(PointsLine.points, alias="total"))
        .where(PointsLine.id.is_in(line_ids))
        .first()
    )
    return int(row["total"] or 0) if row else 0


async def earned(member_id: int, period: str = "all") -> int:
    """Points earned (spending aside) in a period; ``all`` is lifetime points, for levels."""
    rows = await PointsTotal.raw(f"SELECT ({EARNED_SQL}) AS points", f"{member_id}:{period}")
    return int(rows[0]["points"] or 0) if rows else 0


async def standing(member_id: int) -> tuple[int, int]:
    """(balance, lifetime points) in one query: what :func:`balance` and ``earned(member,
    "all")`` give, for the pages that show both on every view."""
    rows = await PointsLine.raw(
        f"SELECT ({BALANCE_SQL}) AS balance, ({EARNED_SQL}) AS lifetime",
        member_id,
        f"{member_id}:all",
    )
    row = rows[0] if rows else {}
    return int(row.get("balance") or 0), int(row.get("lifetime") or 0)


async def net(subject: str) -> int:
    """What a reversible subject has credited so far, reversals deducted."""
    row = (
        await PointsLine.select(Sum(PointsLine.points, alias="total"))
        .where(PointsLine.subject == subject)
        .first()
    )
    return int(row["total"] or 0) if row else 0


async def history(
    member_id: int, *, before: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The member's lines, newest first, with the title of the item each was for."""
    older = "AND l.id < {} " if before is not None else ""
    sql = (
        "SELECT l.id, l.member, l.points, l.reason, l.key, l.subject, l.item, l.multiplier, "  # noqa: S608 (placeholders only)
        'l."by", l.note, l.at, i.title AS item_title, b.name AS by_name '
        "FROM points_line l LEFT JOIN content_item i ON i.id = l.item "
        'LEFT JOIN member b ON b.id = l."by" '
        f"WHERE l.member = {{}} {older}ORDER BY l.id DESC LIMIT {{}}"
    )
    args = [member_id, *([before] if before is not None else []), limit]
    return [dict(r) for r in await PointsLine.raw(sql, *args)]
