"""Leaderboards and the wall of fame, read from the ledger's totals (plain functions, no HTTP).

Every ranking is computed by the database from :class:`~app.points.tables.PointsTotal`
(one row per member and period, indexed on ``(period, points)``): the best rows of a period
in index order, ranks by ``RANK()`` (ties share a rank: 1, 2, 2, 4), and a member's own rank
as one count of the members above them. Nothing loads every member into Python.

Who is ranked: active members with more than zero earned points in the period (spending
is not earning, nor is an admin's correction: see :data:`~app.points.tables.NOT_EARNED`).
A member who opted out of being named is still ranked, as an anonymous ambassador.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any, Generic, TypeVar

from app.accounts.tables import Member
from app.candidates.tables import Candidate, Stage
from app.core.cache import TTLMap
from app.core.clock import now
from app.points import ledger
from app.points.rules import badges_shown, level_of, levels
from app.points.tables import MemberBadge, PointsTotal

V = TypeVar("V")

PERIODS = ("week", "month", "all")
SCOPES = ("everyone", "team", "site")
TOP = 50
WALL_TOP = 10
WALL_CONTENT = 5
WALL_HIRES = 24
# On the current month's wall, hires of the last days of the previous month still show.
RECENT_HIRES = timedelta(days=30)


def period_key(period: str, at: datetime | None = None) -> str:
    """The PointsTotal period of "week", "month" or "all" at an instant."""
    moment = at or now()
    return {"week": ledger.week_of(moment), "month": ledger.month_of(moment)}.get(period, "all")


# A member's total of a period is found by its key ("12:2026-W48") through the unique index,
# so a team's board starts from the team's members and reads one total per member.
# ``<group>`` is "team" or "site" (see _group); ``{}`` are the query's parameters.
_TOP_EVERYONE = """
SELECT pt.member, pt.points, RANK() OVER (ORDER BY pt.points DESC) AS rank
FROM points_total pt JOIN member m ON m.id = pt.member
WHERE pt.period = {} AND pt.points > 0 AND m.active = {}
ORDER BY pt.points DESC LIMIT {}
"""

_TOP_GROUP = """
SELECT pt.member, pt.points, RANK() OVER (ORDER BY pt.points DESC) AS rank
FROM member m JOIN points_total pt ON pt."key" = (m.id || ':' || {})
WHERE m.<group> = {} AND m.active = {} AND pt.points > 0
ORDER BY pt.points DESC LIMIT {}
"""

_ROWS = """
SELECT best.member, best.points, best.rank, m.name, m.leaderboard_anonymous AS anonymous,
       m.photo, COALESCE(life.points, 0) AS lifetime
FROM (<top>) best
JOIN member m ON m.id = best.member
LEFT JOIN points_total life ON life."key" = (best.member || ':all')
ORDER BY best.rank, best.member
"""

# Everyone's count of members above: all totals above in the index, less the inactive
# members' (few, and found through their own index), so no join over the whole period.
_ABOVE_EVERYONE = """
SELECT (SELECT COUNT(*) FROM points_total WHERE period = {} AND points > {})
     - (SELECT COUNT(*) FROM member m JOIN points_total pt ON pt."key" = (m.id || ':' || {})
        WHERE m.active = {} AND pt.points > {}) AS above
"""

_ABOVE_GROUP = """
SELECT COUNT(*) AS above FROM member m JOIN points_total pt ON pt."key" = (m.id || ':' || {})
WHERE m.<group> = {} AND m.active = {} AND pt.points > {}
"""

_TEAMS = """
SELECT t.id, t.name, COUNT(*) AS members, COALESCE(SUM(pt.points), 0) AS points
FROM member m
JOIN team t ON t.id = m.team
LEFT JOIN points_total pt ON pt."key" = (m.id || ':' || {})
WHERE m.active = {}
GROUP BY t.id, t.name
"""


@dataclass(frozen=True)
class Scope:
    """Whom a board ranks: everyone, or the members of one team or one site."""

    kind: str = "everyone"  # everyone | team | site
    id: int | None = None


def _group(scope: Scope) -> str:
    if scope.kind not in ("team", "site"):
        raise ValueError(scope.kind)
    return scope.kind  # a column name of member, from this closed list only


async def board(period: str, scope: Scope, limit: int = TOP) -> list[dict[str, Any]]:
    """The best ``limit`` members of a period ("all", "2026-W48", "2026-11") in a scope,
    best first, each with rank, points, name, whether anonymous, photo and lifetime points."""
    if scope.kind == "everyone":
        top, args = _TOP_EVERYONE, [period, True, limit]
    elif scope.id is None:
        return []
    else:
        top = _TOP_GROUP.replace("<group>", _group(scope))
        args = [period, scope.id, True, limit]
    rows = await PointsTotal.raw(_ROWS.replace("<top>", top), *args)
    return [
        {
            "member": int(r["member"]),
            "points": int(r["points"]),
            "rank": int(r["rank"]),
            "name": r["name"],
            "anonymous": bool(r["anonymous"]),
            # A member who chose not to be named shows no photo either.
            "photo": None if r["anonymous"] else r["photo"],
            "lifetime": int(r["lifetime"]),
        }
        for r in rows
    ]


_MINE = """
SELECT m.active, m.team, m.site, COALESCE(pt.points, 0) AS points
FROM member m LEFT JOIN points_total pt ON pt."key" = (m.id || ':' || {})
WHERE m.id = {}
"""


async def rank_of(member_id: int, period: str, scope: Scope) -> dict[str, int] | None:
    """The member's rank and points on a board; None when they are not on it (no points
    in the period, inactive, or not of that team or site)."""
    found = await PointsTotal.raw(_MINE, period, member_id)
    if not found:
        return None
    mine = found[0]
    points = int(mine["points"])
    if points <= 0 or not mine["active"]:
        return None
    if scope.kind == "everyone":
        rows = await PointsTotal.raw(_ABOVE_EVERYONE, period, points, period, False, points)
    elif scope.id is None or mine[_group(scope)] != scope.id:
        return None
    else:
        sql = _ABOVE_GROUP.replace("<group>", _group(scope))
        rows = await PointsTotal.raw(sql, period, scope.id, True, points)
    return {"rank": int(rows[0]["above"]) + 1, "points": points}


async def team_totals(period: str) -> list[dict[str, Any]]:
    """Every team with active members: how many, and the sum of their earned points in the
    period (negative corrections included). One aggregate over the period's totals."""
    rows = await PointsTotal.raw(_TEAMS, period, True)
    return [
        {"id": int(r["id"]), "name": r["name"], "members": int(r["members"]),
         "points": int(r["points"])}
        for r in rows
    ]  # fmt: skip


def rank_teams(totals: list[dict[str, Any]], by: str = "total") -> list[dict[str, Any]]:
    """Teams ranked by total points or by points per member ("average"), ties sharing a
    rank; exact fractions, so two teams with the same points per member tie exactly."""
    teams = [{**t, "average": Fraction(t["points"], t["members"])} for t in totals]
    key = "average" if by == "average" else "points"
    teams.sort(key=lambda t: (-t[key], t["name"]))
    for position, team in enumerate(teams):
        same = position > 0 and teams[position - 1][key] == team[key]
        team["rank"] = teams[position - 1]["rank"] if same else position + 1
    for team in teams:
        team["per_member"] = float(team.pop("average"))
    return teams


class Recomputed(Generic[V]):
    """A value per key recomputed at most every ``ttl`` seconds per process, in the background.

    A page served while the value is being recomputed shows the previous one (at most
    ``ttl`` seconds old); only a process's first request for a key waits for it, and the
    first requests for a key all wait for one computation, not one each. Nothing here is
    needed by another process: each keeps its own copy.
    """

    def __init__(self, compute: Callable[[str], Awaitable[V]], ttl: float = 60.0) -> None:
        self._compute = compute
        self._cached: TTLMap[str, V] = TTLMap(ttl)
        self._refreshing: dict[str, asyncio.Task[V]] = {}

    @property
    def ttl(self) -> float:
        return self._cached.ttl_s

    @ttl.setter
    def ttl(self, seconds: float) -> None:
        self._cached.ttl_s = seconds

    async def value(self, key: str) -> V:
        cached = self._cached.entry(key)
        if cached is None:
            return await asyncio.shield(self._start(key))
        value, fresh = cached
        if not fresh:
            self._start(key)
        return value

    def _start(self, key: str) -> asyncio.Task[V]:
        """The recomputation of a key under way, started if there is none."""
        task = self._refreshing.get(key)
        if task is None:
            task = self._refreshing[key] = asyncio.create_task(self._refresh(key))
        return task

    async def settle(self) -> None:
        """Wait for the recomputations under way (tests; a clean shutdown)."""
        await asyncio.gather(*self._refreshing.values())

    async def _refresh(self, key: str) -> V:
        try:
            return self._cached.put(key, await self._compute(key))
        finally:
            self._refreshing.pop(key, None)


class TeamRankings(Recomputed[list[dict[str, Any]]]):
    """The team ranking the page shows, recomputed at most every ``ttl`` seconds per process.

    Unlike a member's board, which reads a few index entries, a team ranking sums every
    active member's total of the period: a few hundred milliseconds with 50,000 members.
    """

    def __init__(self, ttl: float = 60.0) -> None:
        super().__init__(team_totals, ttl)

    async def get(self, period: str, by: str = "total") -> list[dict[str, Any]]:
        return rank_teams(await self.value(period), by)


class MostShared(Recomputed[list[dict[str, Any]]]):
    """The wall of fame's most shared content of a month, recomputed at most every ``ttl``
    seconds per process: it counts every share of the month (150 ms for 200,000 shares on
    SQLite), and the lobby's screen reloads the wall all day."""

    def __init__(self, ttl: float = 60.0) -> None:
        super().__init__(most_shared, ttl)


async def badges_of(member_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The badges each member earned, in the order badges are shown, with their names."""
    if not member_ids:
        return {}
    # Written out: the boards read it on every view (the builder cost more than the query).
    marks = ", ".join("{}" for _id in member_ids)
    rows = await MemberBadge.raw(
        f"SELECT member, badge FROM member_badge WHERE member IN ({marks})",  # noqa: S608 (placeholders only)
        *member_ids,
    )
    found: dict[int, set[str]] = {}
    for row in rows:
        found.setdefault(int(row["member"]), set()).add(row["badge"])
    return {
        member: [b for b in badges_shown(earned) if b["earned"]] for member, earned in found.items()
    }


async def decorate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each board row with its member's level and badges (two more queries for the page)."""
    all_levels = await levels()
    badges = await badges_of([r["member"] for r in rows])
    for row in rows:
        row["level"] = level_of(row["lifetime"], all_levels)["level"]["name"]
        row["badges"] = badges.get(row["member"], [])
    return rows


# ---------------------------------------------------------------- a member's standing


# The Me page's one statement: lifetime points, whether the member is anonymous on the
# boards, and a row per badge they earned (one row with no badge when none).
STANDING_SQL = f"""
SELECT ({ledger.EARNED_SQL}) AS lifetime, m.leaderboard_anonymous AS anonymous, b.badge AS badge
FROM member m LEFT JOIN member_badge b ON b.member = m.id
WHERE m.id = {{}}
"""  # noqa: S608 (placeholders only)


async def standing(member_id: int) -> dict[str, Any]:
    """What the profile shows: lifetime points, level and progress, badges (earned or not),
    and whether the member chose to be anonymous on the boards (:func:`set_anonymous`)."""
    rows = await MemberBadge.raw(STANDING_SQL, f"{member_id}:all", member_id)
    lifetime = int(rows[0]["lifetime"] or 0) if rows else 0
    return {
        "lifetime": lifetime,
        **level_of(lifetime, await levels()),
        "badges": badges_shown({r["badge"] for r in rows if r["badge"]}),
        "anonymous": bool(rows and rows[0]["anonymous"]),
    }


async def set_anonymous(member_id: int, anonymous: bool) -> None:
    await Member.update({Member.leaderboard_anonymous: anonymous}).where(Member.id == member_id)


# ---------------------------------------------------------------- the wall of fame


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The first instant of a "YYYY-MM" month and of the next one, in UTC."""
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def shift_month(month: str, months: int) -> str:
    start, _end = month_bounds(month)
    index = start.year * 12 + start.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


_WALL_HIRES = """
SELECT c.id, c.name, c.hired_at, i.title AS title, i.id AS item, r.id AS referrer,
  r.name AS referrer_name, r.leaderboard_anonymous AS referrer_anonymous
FROM candidate c
LEFT JOIN content_item i ON i.id = c.item
LEFT JOIN member r ON r.id = c.referrer
WHERE c.stage = {} AND c.wall_of_fame = {} AND c.referrer IS NOT NULL
  AND c.hired_at >= {} AND c.hired_at < {}
ORDER BY c.hired_at DESC
LIMIT {}
"""


async def wall_hires(month: str, at: datetime | None = None) -> list[dict[str, Any]]:
    """Referred hires of the month who agreed to appear, newest first: the new colleague's
    first name, the offer and who referred them. The current month also shows the last
    days' hires, so its wall is not empty on the first of the month."""
    start, end = month_bounds(month)
    moment = at or now()
    if start <= moment < end:
        start = min(start, moment - RECENT_HIRES)
    # Written out: the wall shows it on every view (the builder cost more than the query).
    rows = [
        dict(row)
        for row in await Candidate.raw(_WALL_HIRES, Stage.hired.value, True, start, end, WALL_HIRES)
    ]
    for row in rows:
        row["first_name"] = (row["name"].split() or [""])[0]
        row["referrer_anonymous"] = bool(row["referrer_anonymous"])
    return rows


_MOST_SHARED = """
SELECT i.id, i.title, i.kind, c.shares
FROM (
  SELECT s.item, COUNT(*) AS shares FROM share s
  WHERE s.at >= {} AND s.at < {}
  GROUP BY s.item
) c
JOIN content_item i ON i.id = c.item
WHERE i.audience_all = {} AND i.archived_at IS NULL
ORDER BY c.shares DESC, i.id
LIMIT {}
"""


async def most_shared(month: str, limit: int = WALL_CONTENT) -> list[dict[str, Any]]:
    """The month's most shared items meant for everyone (an item for one team would be a
    dead link for the rest of the company), with their number of shares."""
    start, end = month_bounds(month)
    rows = await PointsTotal.raw(_MOST_SHARED, start, end, True, limit)
    return [{**r, "shares": int(r["shares"])} for r in rows]


async def wall_of_fame(month: str, content: MostShared | None = None) -> dict[str, Any]:
    """The wall's three parts; ``content`` keeps the most shared content of a process."""
    return {
        "top": await decorate(await board(month, Scope(), limit=WALL_TOP)),
        "hires": await wall_hires(month),
        "content": await (content.value(month) if content else most_shared(month)),
    }
