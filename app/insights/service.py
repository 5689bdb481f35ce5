"""The figures of the insights pages, read from the daily rollups (app.insights.rollups).

A period is a run of days (the viewer's dates; the rollups' days are UTC days); each figure
is compared with the period of the same length just before it. README.md, "Insights", says
what each figure means and how it is computed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import statistics
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from piccolo.query.functions.aggregate import Count, Sum

from app.accounts.tables import Invitation
from app.activity.tables import Activity
from app.candidates.tables import Candidate, CandidateKind, Stage
from app.content.tables import ContentItem
from app.core.db import is_postgres
from app.core.forms import FormResult
from app.core.i18n import _, ngettext
from app.core.validation import parse_id
from app.insights.rollups import ALL, DAY_FIGURES, refresh
from app.insights.tables import (
    InsightDay,
    InsightHeadcount,
    InsightKept,
    InsightSettings,
    InsightState,
    InsightTotal,
)
from app.notifications.campaigns import shares_after_campaign
from app.notifications.preferences import DEFAULT_TIME_ZONE, is_time_zone
from app.notifications.tables import Campaign, NotificationOpen
from app.org.tables import Site, Team

PERIODS = ("week", "4weeks", "quarter", "year", "custom")
DEFAULT_PERIOD = "4weeks"
EARLIEST = date(2000, 1, 1)
LONGEST_DAYS = 3 * 366
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
log = logging.getLogger(__name__)


def period_names() -> dict[str, str]:
    return {
        "week": _("This week"),
        "4weeks": _("Last 4 weeks"),
        "quarter": _("This quarter"),
        "year": _("This year"),
        "custom": _("Dates"),
    }


@dataclass(frozen=True)
class Period:
    key: str
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        return Period(
            self.key, self.start - timedelta(days=self.days), self.start - timedelta(days=1)
        )

    def day_labels(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range(self.days)]

    @property
    def first(self) -> str:
        return self.start.isoformat()

    @property
    def last(self) -> str:
        return self.end.isoformat()

    def bounds(self) -> tuple[datetime, datetime]:
        """The period's UTC instants, as the rollups' UTC days."""
        start = datetime.combine(self.start, datetime.min.time(), UTC)
        return start, datetime.combine(self.end, datetime.min.time(), UTC) + timedelta(days=1)


def _parse_date(value: str | None) -> date | None:
    if not value or not ISO_DATE.fullmatch(value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def parse_period(
    key: str | None, start: str | None, end: str | None, today: date
) -> tuple[Period, str | None]:
    """The period asked for, or the default with a sentence saying why."""
    if key in (None, "") and (start or end):
        key = "custom"
    if key in (None, ""):
        key = DEFAULT_PERIOD
    if key == "week":
        return Period(key, today - timedelta(days=today.weekday()), today), None
    if key == "4weeks":
        return Period(key, today - timedelta(days=27), today), None
    if key == "quarter":
        first_month = 3 * ((today.month - 1) // 3) + 1
        return Period(key, date(today.year, first_month, 1), today), None
    if key == "year":
        return Period(key, date(today.year, 1, 1), today), None
    default, _none = parse_period(DEFAULT_PERIOD, None, None, today)
    if key != "custom":
        return default, _("Unknown period: showing the last 4 weeks.")
    first, last = _parse_date(start), _parse_date(end)
    if first is None or last is None:
        return default, _("Give both dates as YYYY-MM-DD: showing the last 4 weeks.")
    if first > last:
        return default, _("The first date is after the last: showing the last 4 weeks.")
    if first < EARLIEST or last > today + timedelta(days=366):
        return default, _("Those dates are out of range: showing the last 4 weeks.")
    if (last - first).days >= LONGEST_DAYS:
        return default, _("A period is at most three years: showing the last 4 weeks.")
    return Period("custom", first, last), None


@dataclass(frozen=True)
class Filters:
    team: int | None = None
    site: int | None = None
    item: int | None = None

    def query(self) -> dict[str, int]:
        return {
            k: v for k, v in (("team", self.team), ("site", self.site), ("item", self.item)) if v
        }

    def label(self) -> str:
        return "_".join(f"{k}-{v}" for k, v in self.query().items())


FILTER_ITEMS = 300  # the newest items offered in the item filter


async def filter_choices(generation: str | None = None) -> dict[str, Any]:
    """What the filters offer (every team and site by name, the newest items) and the ids a
    filter may name, read in one query and kept until the next round: a team or an item
    added since is still found by :func:`parse_filters`, and offered a round later."""

    async def read() -> dict[str, Any]:
        rows = await Team.raw(
            "SELECT 't' AS kind, id, name FROM team UNION ALL SELECT 's', id, name FROM site "
            "UNION ALL SELECT 'i', id, title FROM content_item"
        )
        found: dict[str, list[tuple[int, str]]] = {"t": [], "s": [], "i": []}
        for row in rows:
            found[row["kind"]].append((int(row["id"]), str(row["name"])))
        return {
            "team": tuple(sorted(found["t"], key=lambda r: r[1])),
            "site": tuple(sorted(found["s"], key=lambda r: r[1])),
            "item": tuple(sorted(found["i"], reverse=True)[:FILTER_ITEMS]),
            "ids": {
                name: frozenset(r[0] for r in found[k])
                for name, k in (("team", "t"), ("site", "s"), ("item", "i"))
            },
        }

    return await kept(("filter choices",), read, generation, warm=True)


async def parse_filters(
    values: dict[str, str | None], generation: str | None = None
) -> tuple[Filters, list[str]]:
    """Known teams, sites and items only: an unknown one is left out, with a sentence."""
    if not any((values.get(name) or "").strip() for name in ("team", "site", "item")):
        return Filters(), []
    known = (await filter_choices(generation))["ids"]
    filters = Filters()
    problems = []
    tables: dict[str, Any] = {"team": Team, "site": Site, "item": ContentItem}
    messages = {
        "team": _("No such team: showing every team."),
        "site": _("No such site: showing every site."),
        "item": _("No such content item: showing every item."),
    }
    for name, table in tables.items():
        raw = (values.get(name) or "").strip()
        if not raw:
            continue
        row_id = parse_id(raw)
        if row_id is not None and (
            row_id in known[name] or await table.exists().where(table.id == row_id)
        ):
            filters = replace(filters, **{name: row_id})
        else:
            problems.append(messages[name])
    return filters, problems


def _where_day(table: Any, period: Period, filters: Filters, item: bool = True) -> list[Any]:
    clauses = [table.day >= period.first, table.day <= period.last]
    if filters.team:
        clauses.append(table.team == filters.team)
    if filters.site:
        clauses.append(table.site == filters.site)
    if item and filters.item:
        clauses.append(table.item == filters.item)
    return clauses


def _in(values: list[Any]) -> str:
    """Placeholders for an IN list; the values are bound."""
    return ", ".join("{}" for _ in values)


# --- Figures kept until the rollups change ------------------------------------------------
#
# The rollups change only when a round of the periodic job writes them (every minute), and
# each round sets a new ``insight_state.generation``. What the pages read (the rollups' and
# the live tables' figures alike: invitations, candidates, campaigns; never names) and what
# they draw from it is kept in this process under that generation, and dropped all at once
# when it changes; nothing is kept while a rebuild is under way.
#
# Three layers, so that the first viewers after a round do not each pay for the figures:
# - **in this process** (``_kept``), for as long as the generation stays the same;
# - **one computation at a time** (``_flights``): requests that ask for a figure being
#   computed await that computation instead of running their own;
# - **shared by every process** (the ``insight_kept`` table): the round computes the
#   figures of the default views (each standard period, no filter) and writes them under the
#   new generation (:func:`share_kept`); a process that did not run the round reads one row
#   instead of computing. Nothing one process keeps in memory is needed by another.

KEPT_ENTRIES = 256
T = TypeVar("T")
_kept: OrderedDict[Any, Any] = OrderedDict()
_kept_generation = ""
_flights: dict[tuple[str, Any], asyncio.Future[Any]] = {}
# Set while the round writes the shared figures: every figure read is written too.
_sharing: ContextVar[dict[str, Any] | None] = ContextVar("insights_sharing", default=None)


async def rollup_generation() -> str:
    """The rollups' current generation ("" while none, or while a rebuild is under way)."""
    row = await InsightState.select(InsightState.generation, InsightState.rebuild_next).first()
    if row is None or row["rebuild_next"]:
        return ""
    return str(row["generation"] or "")


@dataclass(frozen=True)
class Viewer:
    """What a page needs to know of the rollups and of its viewer, read in one query: the
    rollups' generation, the viewer's time zone (their notification preferences) and whether
    they get the weekly digest."""

    generation: str
    time_zone: str
    digest: bool

    def today(self, at: datetime | None = None) -> date:
        return (at or datetime.now(UTC)).astimezone(ZoneInfo(self.time_zone)).date()


async def viewer(member_id: int) -> Viewer:
    rows = await InsightState.raw(
        "SELECT (SELECT generation FROM insight_state WHERE COALESCE(rebuild_next, '') = '' "
        "ORDER BY id LIMIT 1) AS generation, "
        "(SELECT time_zone FROM notification_preference WHERE member = {}) AS zone, "
        "(SELECT COUNT(*) FROM insight_digest WHERE member = {}) AS digest",
        member_id,
        member_id,
    )
    row = rows[0] if rows else {}
    zone = row.get("zone") or DEFAULT_TIME_ZONE
    return Viewer(
        str(row.get("generation") or ""),
        zone if is_time_zone(zone) else DEFAULT_TIME_ZONE,
        bool(_n(row.get("digest"))),
    )


async def kept(
    key: Any,
    compute: Callable[[], Awaitable[T]],
    generation: str | None = None,
    warm: bool = False,
) -> T:
    """``compute()``'s value, kept under ``key`` for as long as the rollups stay the same.
    The generation is read first (or given, read by the same request just before), so a
    value is never older than the generation it is kept under. ``warm``: a figure read
    from the database (not a page drawn for one request): read from the shared store
    when the round wrote it there, and read again by :func:`warm_kept` after each round.
    Concurrent requests for the same key await one computation."""
    global _kept_generation
    if generation is None:
        generation = await rollup_generation()
    if not generation:
        return await compute()
    sharing = _sharing.get()
    if warm and sharing is None:  # a page's (the round's own are computed each round)
        _recipes[key] = compute
        _recipes.move_to_end(key)
        while len(_recipes) > WARMED_ENTRIES:
            _recipes.popitem(last=False)
    if generation != _kept_generation:
        _kept.clear()
        _kept_generation = generation
    if key in _kept:
        _kept.move_to_end(key)
        value: T = _kept[key]
        if warm and sharing is not None:
            await _share(sharing, generation, key, value)
        return value
    flight = (generation, key)
    task = _flights.get(flight)
    if task is None:
        task = asyncio.ensure_future(_produce(key, compute, generation, warm, sharing))
        _flights[flight] = task
        task.add_done_callback(lambda done: _landed(flight, done))
    found: T = await asyncio.shield(task)
    if warm and sharing is not None:  # computed for a page just before the round asked
        await _share(sharing, generation, key, found)
    return found


def _landed(flight: tuple[str, Any], task: asyncio.Future[Any]) -> None:
    if _flights.get(flight) is task:
        del _flights[flight]
    if not task.cancelled():
        task.exception()  # retrieved by the requests awaiting it; none may be left


async def _produce(
    key: Any,
    compute: Callable[[], Awaitable[T]],
    generation: str,
    warm: bool,
    sharing: dict[str, Any] | None,
) -> T:
    """The one computation of a figure (or its row in the shared store), kept."""
    value: T
    if warm and sharing is None and (stored := await _shared(generation, key)) is not None:
        value = stored[0]
    else:
        value = await compute()
        if warm and sharing is not None:
            await _share(sharing, generation, key, value)
    if generation == _kept_generation:
        _kept[key] = value
        while len(_kept) > KEPT_ENTRIES:
            _kept.popitem(last=False)
    return value


def drop_kept() -> None:
    """Forget what this process keeps (the benchmarks' first times)."""
    global _kept_generation
    _kept.clear()
    _recipes.clear()
    _flights.clear()
    _kept_generation = ""


# What this process's pages read from the database, by key, to read again after a round.
WARMED_ENTRIES = 32
_recipes: OrderedDict[Any, Callable[[], Awaitable[Any]]] = OrderedDict()


async def warm_kept() -> int:
    """After a round of the periodic job: the figures this process's pages read under the
    last generation, read again under the new one, so that the next viewer of a page does
    not pay for them (the embedded default, where the process serving pages runs the jobs;
    a process that served none warms nothing). The number of figures read."""
    generation = await rollup_generation()
    if not generation or generation == _kept_generation:
        return 0
    recipes = list(_recipes.items())
    for key, compute in recipes:
        await kept(key, compute, generation, warm=True)
    return len(recipes)


# --- The shared store ------------------------------------------------------------------------
#
# A figure is JSON: lists, and dicts with text keys, as they are; tuples, frozensets, dicts
# with other keys, dates, instants, decimals and the few dataclasses of this module tagged
# (a one-key object whose key starts with "~"), so that a figure read back equals the one
# computed (tested).


def _pack(value: Any) -> Any:
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if kind is list:
        return [_pack(v) for v in value]
    if kind is tuple:
        return {"~t": [_pack(v) for v in value]}
    if kind is dict:
        if all(type(k) is str and not k.startswith("~") for k in value):
            return {k: _pack(v) for k, v in value.items()}
        return {"~d": [[_pack(k), _pack(v)] for k, v in value.items()]}
    if kind is frozenset:
        return {"~f": [_pack(v) for v in value]}
    if kind is date:
        return {"~date": value.isoformat()}
    if kind is datetime:
        return {"~datetime": value.isoformat()}
    if kind is Decimal:
        return {"~decimal": str(value)}
    if kind in _SHARED_CLASSES.values():
        fields = {f.name: _pack(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"~" + kind.__name__: fields}
    raise TypeError(f"not kept in the shared store: {kind.__name__}")


def _unpack(value: dict[str, Any]) -> Any:
    """``json.loads``' object hook: a tagged object back to its value."""
    if len(value) != 1:
        return value
    ((tag, inner),) = value.items()
    if not tag.startswith("~"):
        return value
    if tag == "~t":
        return tuple(inner)
    if tag == "~d":
        return {k: v for k, v in inner}
    if tag == "~f":
        return frozenset(inner)
    if tag == "~date":
        return date.fromisoformat(inner)
    if tag == "~datetime":
        return datetime.fromisoformat(inner)
    if tag == "~decimal":
        return Decimal(inner)
    return _SHARED_CLASSES[tag[1:]](**inner)


# The shape of the figures written: a release that changes what a figure holds changes
# it, so that a process of the release before (a rolling restart) and this one never read
# each other's rows.
STORE_FORMAT = 1


def _store_key(generation: str, key: Any) -> str:
    return f"{generation} {STORE_FORMAT} {key!r}"


async def _shared(generation: str, key: Any) -> tuple[Any] | None:
    """The figure the round wrote for this generation, as (value,); None when it did not
    (or when it cannot be read back: computed instead)."""
    rows = await InsightKept.raw(
        'SELECT value FROM insight_kept WHERE "key" = {}', _store_key(generation, key)
    )
    if not rows:
        return None
    try:
        return (json.loads(rows[0]["value"], object_hook=_unpack),)
    except (ValueError, TypeError, KeyError):
        log.exception("Insights: a shared figure could not be read: %r", key)
        return None


async def _share(sharing: dict[str, Any], generation: str, key: Any, value: Any) -> None:
    """Write a figure to the shared store (once per round and key)."""
    stored = _store_key(generation, key)
    if stored in sharing["written"]:
        return
    sharing["written"].add(stored)
    try:
        text = json.dumps(_pack(value), separators=(",", ":"))
    except TypeError:
        log.exception("Insights: a figure could not be shared: %r", key)
        return
    await InsightKept.raw(
        'INSERT INTO insight_kept (generation, "key", value) VALUES ({}, {}, {}) '
        'ON CONFLICT ("key") DO NOTHING',
        generation,
        stored,
        text,
    )


def default_periods(today: date) -> list[Period]:
    """The periods a page opens on: each standard period ending ``today``."""
    return [parse_period(name, None, None, today)[0] for name in PERIODS if name != "custom"]


async def share_kept(now: datetime) -> int:
    """After a round: the figures of the pages' default views (each standard period, in the
    default time zone's dates and in UTC's, without filters: the overview, its trends, each
    breakdown's first page in its default order, and every row of each breakdown of the
    year for its exports: other periods' member rows took a round longer than the rest)
    and the figures this process's pages read (:func:`warm_kept`), written to the
    shared store under the new generation; the older generations' rows deleted. Nothing to
    do when the generation's rows are there already. The number of figures written."""
    generation = await rollup_generation()
    if not generation:
        return 0
    already = await InsightKept.raw(
        "SELECT 1 AS one FROM insight_kept WHERE generation = {} LIMIT 1", generation
    )
    if already:
        await warm_kept()
        return 0
    sharing: dict[str, Any] = {"written": set()}
    token = _sharing.set(sharing)
    try:
        todays = sorted({now.astimezone(ZoneInfo(DEFAULT_TIME_ZONE)).date(), now.date()})
        await filter_choices(generation)
        for today in todays:
            none = Filters()
            for period in default_periods(today):
                await compared(period, none, generation)
                await trends(period, none, generation)
                for by in BREAKDOWNS:
                    await breakdown_page(by, period, none, generation=generation)
                    if period.key == "year":  # the year's exports (a member row each)
                        await breakdown_rows(by, period, none, generation=generation)
        for key, compute in list(_recipes.items()):
            await kept(key, compute, generation, warm=True)
    finally:
        _sharing.reset(token)
    # The rows of every generation but the current one (read again: another round may
    # have begun since, and its rows are not this one's to delete).
    current = await rollup_generation()
    await InsightKept.delete().where(InsightKept.generation != (current or generation))
    return len(sharing["written"])


async def roll_up(now: datetime) -> int:
    """The periodic job's round: the rollups brought up to date
    (:func:`app.insights.rollups.refresh`), then the figures of the pages' default views
    and those this process's pages showed computed and shared (:func:`share_kept`)."""
    days = await refresh(now)
    await share_kept(now)
    return days


async def last_rolled_day() -> date | None:
    """The last day with any event rolled up (a span may reach past a period's end when
    nothing happened after it)."""
    rows = await InsightTotal.raw(
        "SELECT MAX(span) AS last FROM insight_total WHERE dim = 'all' "
        "AND span >= 'd' AND span < 'e'"
    )
    last = rows[0]["last"] if rows else None
    return date.fromisoformat(last[1:]) if last else None


def _month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def spans(period: Period, last_day: date | None) -> list[str]:
    """The fewest rollup spans that add up to the period: a year from 1 January, a month
    from its 1st, a week from Monday (within one month), days otherwise. A span may end
    after the period when no event was rolled up after the period's end ("this year" is one
    year's rows)."""
    cap = date.max if last_day is not None and period.end >= last_day else period.end
    found = []
    day = period.start
    while day <= period.end:
        if day.month == 1 and day.day == 1 and date(day.year, 12, 31) <= cap:
            found.append(f"y{day.year:04d}")
            day = date(day.year, 12, 31) + timedelta(days=1)
        elif day.day == 1 and _month_end(day) <= cap:
            found.append(f"m{day.year:04d}-{day.month:02d}")
            day = _month_end(day) + timedelta(days=1)
        elif (
            day.weekday() == 0
            and day + timedelta(days=6) <= cap
            and (day + timedelta(days=6)).month == day.month
        ):
            found.append(f"w{day.isoformat()}")
            day += timedelta(days=7)
        else:
            found.append(f"d{day.isoformat()}")
            day += timedelta(days=1)
    return found


SUMMED = (*DAY_FIGURES, "all_applications", "all_hires")


def _n(value: Any) -> int:
    return int(value or 0)


def _span_case(unit_lists: list[list[str]]) -> tuple[str, list[str]]:
    """Which period (0, 1…) a span row belongs to; the periods' spans never overlap."""
    sql = " ".join(f"WHEN span IN ({_in(units)}) THEN {n}" for n, units in enumerate(unit_lists))
    return f"CASE {sql} END", [unit for units in unit_lists for unit in units]


def _day_case(column: str, periods: list[Period]) -> tuple[str, list[str]]:
    """Which period a day row belongs to, and the values to bind."""
    sql = " ".join(
        f"WHEN {column} >= {{}} AND {column} <= {{}} THEN {n}" for n in range(len(periods))
    )
    return f"CASE {sql} END", [d for p in periods for d in (p.first, p.last)]


def _instant_case(column: str, periods: list[Period]) -> tuple[str, list[datetime]]:
    """Which period an instant belongs to (-1: none), and the values to bind."""
    sql = " ".join(
        f"WHEN {column} >= {{}} AND {column} < {{}} THEN {n}" for n in range(len(periods))
    )
    return f"CASE {sql} ELSE -1 END", [b for p in periods for b in p.bounds()]


def _day_range(periods: list[Period]) -> tuple[str, str]:
    return min(p.first for p in periods), max(p.last for p in periods)


def _instant_range(periods: list[Period]) -> tuple[datetime, datetime]:
    return min(p.bounds()[0] for p in periods), max(p.bounds()[1] for p in periods)


def _fine_filters(filters: Filters, alias: str = "") -> tuple[str, list[int]]:
    sql, args = "", []
    for name, value in filters.query().items():
        sql += f" AND {alias}{name} = {{}}"
        args.append(value)
    return sql, args


async def period_sums(
    periods: list[Period], filters: Filters, units: list[list[str]]
) -> list[dict[str, int]]:
    """The referred events' figures of each period, and every application and hire
    (``all_applications``, ``all_hires``): one aggregate over the periods' spans' rows, or
    over the fine day rows with a team, site or item filter."""
    if filters.query():
        case, args = _day_case("day", periods)
        where, more = _fine_filters(filters)
        referred = ", ".join(
            f"SUM(CASE WHEN referred = 1 THEN {f} ELSE 0 END) AS {f}" for f in DAY_FIGURES
        )
        sql = (
            f"SELECT {case} AS period_n, {referred}, SUM(applications) AS all_applications, "  # noqa: S608
            "SUM(hires) AS all_hires FROM insight_day WHERE day >= {} AND day <= {}"
            f"{where} GROUP BY period_n"
        )
        rows = await InsightDay.raw(sql, *args, *_day_range(periods), *more)
    else:
        case, args = _span_case(units)
        rows = await InsightTotal.raw(
            f"SELECT {case} AS period_n, "  # noqa: S608 (our own column names and placeholders)
            + ", ".join(f"SUM({f}) AS {f}" for f in SUMMED)
            + f" FROM insight_total WHERE dim = 'all' AND span IN ({_in(args)}) GROUP BY period_n",
            *args,
            *args,
        )
    found = {r["period_n"]: r for r in rows}
    return [{f: _n(found.get(n, {}).get(f)) for f in SUMMED} for n in range(len(periods))]


async def active_ambassadors(
    periods: list[Period], filters: Filters, units: list[list[str]]
) -> list[int | None]:
    """Members who shared at least once in each period (None with an item filter: the
    member rollup is not kept per item). Distinct over the spans' member rows, so exact."""
    if filters.item:
        return [None for _p in periods]
    # Each period's distinct members on their own (a sort or hash of one period's keys, in
    # key order already for one span), from the index of the rows with shares; SQLite's
    # planner prefers the wider (dim, span) index unless told.
    hint = "" if is_postgres() else " INDEXED BY insight_total_sharers"
    where, more = "", []
    for name in ("team", "site"):
        if getattr(filters, name):
            where += f" AND {name} = {{}}"
            more.append(getattr(filters, name))
    parts, args = [], []
    for n, period_units in enumerate(units):
        parts.append(
            f'SELECT {n} AS period_n, COUNT(*) AS n FROM (SELECT DISTINCT "key" '  # noqa: S608
            f"FROM insight_total{hint} WHERE dim = 'member' AND shares > 0 "
            f"AND span IN ({_in(period_units)}){where}) p{n}"
        )
        args += [*period_units, *more]
    rows = await InsightTotal.raw(" UNION ALL ".join(parts), *args)
    found = {r["period_n"]: _n(r["n"]) for r in rows}
    return [found.get(n, 0) for n in range(len(periods))]


async def average_headcount(periods: list[Period], filters: Filters) -> list[float | None]:
    """Members active at the end of each day of each period, on average over the days
    counted (None for a team and a site at once: the daily count is kept per team and per
    site)."""
    if filters.team and filters.site:
        return [None for _p in periods]
    case, args = _day_case("day", periods)
    rows = await InsightHeadcount.raw(
        f"SELECT {case} AS period_n, SUM(members) AS members, COUNT(*) AS days "  # noqa: S608
        "FROM insight_headcount WHERE team = {} AND site = {} AND day >= {} AND day <= {} "
        "GROUP BY period_n",
        *args,
        filters.team or ALL,
        filters.site or ALL,
        *_day_range(periods),
    )
    found = {r["period_n"]: r for r in rows}
    result: list[float | None] = []
    for n in range(len(periods)):
        row = found.get(n, {})
        result.append(_n(row.get("members")) / _n(row["days"]) if _n(row.get("days")) else 0.0)
    return result


def ratio(top: float, bottom: float) -> float | None:
    return top / bottom if bottom else None


def _member_filters(filters: Filters, alias: str) -> tuple[str, list[int]]:
    sql, args = "", []
    for name in ("team", "site"):
        if getattr(filters, name):
            sql += f" AND {alias}.{name} = {{}}"
            args.append(getattr(filters, name))
    return sql, args


async def members_joined(periods: list[Period], filters: Filters) -> list[tuple[int, int]]:
    """Invitations sent and used (enrolments) in each period, for the filtered team and site."""
    created, created_args = _instant_case("i.created_at", periods)
    used, used_args = _instant_case("i.used_at", periods)
    start, end = _instant_range(periods)
    where, more = _member_filters(filters, "m")
    rows = await Invitation.raw(
        f"SELECT created_n, used_n, COUNT(*) AS n FROM (SELECT {created} AS created_n, "  # noqa: S608
        f"{used} AS used_n FROM invitation i{' JOIN member m ON m.id = i.member' if more else ''} "
        "WHERE i.purpose = 'invite' AND ((i.created_at >= {} AND i.created_at < {}) "
        f"OR (i.used_at >= {{}} AND i.used_at < {{}})){where}) x GROUP BY created_n, used_n",
        *created_args,
        *used_args,
        start,
        end,
        start,
        end,
        *more,
    )
    invited = [0 for _p in periods]
    enrolled = [0 for _p in periods]
    for row in rows:
        if row["created_n"] >= 0:
            invited[row["created_n"]] += _n(row["n"])
        if row["used_n"] >= 0:
            enrolled[row["used_n"]] += _n(row["n"])
    return list(zip(invited, enrolled, strict=True))


def _candidate_filters(filters: Filters) -> tuple[str, list[int]]:
    # A recommendation the friend has not accepted yet is nobody's business.
    sql = f" AND (c.kind = '{CandidateKind.application.value}' OR c.consent_at IS NOT NULL)"
    where, args = _member_filters(filters, "m")
    if filters.item:
        where += " AND c.item = {}"
        args.append(filters.item)
    return sql + where, args


async def candidates(periods: list[Period], filters: Filters) -> list[dict[str, Any]]:
    """Candidates who came in each period, by stage now; the referred ones and those of them
    hired; the median days from application to hire of those hired in the period."""
    case, args = _instant_case("c.created_at", periods)
    start, end = _instant_range(periods)
    where, more = _candidate_filters(filters)
    # A team or site filter is on the referrer: candidates without one are left out.
    join = " JOIN member m ON m.id = c.referrer" if filters.team or filters.site else ""
    came = await Candidate.raw(
        f"SELECT {case} AS period_n, c.stage AS stage, "  # noqa: S608
        "CASE WHEN c.referrer IS NULL THEN 0 ELSE 1 END AS referred, COUNT(*) AS n "
        f"FROM candidate c{join} "
        "WHERE c.created_at >= {} AND c.created_at < {}"
        f"{where} GROUP BY period_n, c.stage, referred",
        *args,
        start,
        end,
        *more,
    )
    hired_case, hired_args = _instant_case("c.hired_at", periods)
    hired = await Candidate.raw(
        f"SELECT {hired_case} AS period_n, c.created_at AS created_at, "  # noqa: S608
        f"c.hired_at AS hired_at FROM candidate c{join} "
        "WHERE c.hired_at >= {} AND c.hired_at < {}" + where,
        *hired_args,
        start,
        end,
        *more,
    )
    result = []
    for n in range(len(periods)):
        by_stage: dict[str, int] = defaultdict(int)
        referred = referred_hired = 0
        for row in came:
            if row["period_n"] != n:
                continue
            by_stage[row["stage"]] += _n(row["n"])
            if row["referred"]:
                referred += _n(row["n"])
                if row["stage"] == Stage.hired.value:
                    referred_hired += _n(row["n"])
        days = [
            (_instant(r["hired_at"]) - _instant(r["created_at"])).total_seconds() / 86400
            for r in hired
            if r["period_n"] == n
        ]
        result.append(
            {
                "by_stage": {stage.value: by_stage.get(stage.value, 0) for stage in Stage},
                "referred": referred,
                "referred_hired": referred_hired,
                "median_days": statistics.median(days) if days else None,
            }
        )
    return result


def _instant(value: Any) -> datetime:
    """A timestamp as a raw query returns it (a string on SQLite)."""
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


async def campaigns(period: Period) -> dict[str, int]:
    """Push campaigns sent in the period, the opens of their notifications, and the shares of
    their item by their recipients within 48 hours (the campaign report's figures)."""
    start, end = period.bounds()
    sent = await Campaign.select(Campaign.id, Campaign.sent_at).where(
        Campaign.sent_at >= start, Campaign.sent_at < end
    )
    ids = [r["id"] for r in sent]
    opened = (
        await NotificationOpen.count().where(NotificationOpen.campaign.is_in(ids)) if ids else 0
    )
    shares = 0
    for row in sent:
        shares += await shares_after_campaign(row["id"], row["sent_at"])
    return {"sent": len(sent), "opened": opened, "shares": shares}


async def value_settings() -> dict[str, Any]:
    row = await InsightSettings.select().first()
    if row is None:
        await InsightSettings.insert(InsightSettings())
        row = await InsightSettings.select().first()
    assert row is not None
    return row


async def save_value_settings(cost_per_click: int, cost_per_hire: int, currency: str) -> None:
    row = await value_settings()
    await InsightSettings.update(
        {
            InsightSettings.cost_per_click: cost_per_click,
            InsightSettings.cost_per_hire: cost_per_hire,
            InsightSettings.currency: currency,
            InsightSettings.updated_at: datetime.now(UTC),
        }
    ).where(InsightSettings.id == row["id"])
    # The estimated value is drawn into kept pages: a new generation drops them, in every
    # process, so the next page shows the new worth at once.
    await InsightState.update({InsightState.generation: uuid.uuid4().hex}, force=True).where(
        InsightState.generation != ""
    )


@dataclass
class Overview:
    period: Period
    filters: Filters
    figures: dict[str, Any] = field(default_factory=dict)
    networks: dict[str, dict[str, int]] = field(default_factory=dict)
    by_stage: dict[str, int] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


# The dataclasses a figure kept in the shared store may hold, by name.
_SHARED_CLASSES: dict[str, type] = {"Period": Period, "Filters": Filters, "Overview": Overview}


async def figures(period: Period, filters: Filters) -> Overview:
    """Every figure of the overview for one period."""
    return (await overviews([period], filters))[0]


async def compared(
    period: Period, filters: Filters, generation: str | None = None
) -> tuple[Overview, Overview]:
    """The period's overview and the previous period's, read together: each figure group is
    one query for both."""
    current, before = await overviews([period, period.previous()], filters, generation)
    return current, before


async def overviews(
    periods: list[Period], filters: Filters, generation: str | None = None
) -> list[Overview]:
    """Every figure of the overview for each period (periods that do not overlap), kept
    until the next round of the periodic job: the rollups' figures and the live tables'
    (invitations, candidates, campaigns) alike, so a page's figures are all as of the same
    moment, at most a round old."""
    return await kept(
        ("overview", tuple(periods), filters),
        lambda: _overviews(periods, filters),
        generation,
        warm=True,
    )


async def _overviews(periods: list[Period], filters: Filters) -> list[Overview]:
    sums, active, headcount, networks = await rolled_up(periods, filters)
    joined = await members_joined(periods, filters)
    people = await candidates(periods, filters)
    settings = await value_settings()
    found = []
    for n, period in enumerate(periods):
        push = await campaigns(period) if not filters.query() else None
        found.append(
            _overview(
                period,
                filters,
                settings,
                sums[n],
                active[n],
                headcount[n],
                joined[n],
                people[n],
                networks[n],
                push,
            )
        )
    return found


async def rolled_up(periods: list[Period], filters: Filters) -> tuple[Any, Any, Any, Any]:
    """The overview's figures read from the rollups, for each period: the referred events'
    sums, active ambassadors, the average headcount and the sums by network."""
    last_day = await last_rolled_day()
    units = [spans(p, last_day) for p in periods]
    return (
        await period_sums(periods, filters, units),
        await active_ambassadors(periods, filters, units),
        await average_headcount(periods, filters),
        await network_sums(periods, filters, units),
    )


def _overview(
    period: Period,
    filters: Filters,
    settings: dict[str, Any],
    referred: dict[str, int],
    active: int | None,
    headcount: float | None,
    joined: tuple[int, int],
    people: dict[str, Any],
    networks: dict[str, dict[str, int]],
    push: dict[str, int] | None,
) -> Overview:
    value = (
        referred["clicks"] * settings["cost_per_click"]
        + referred["hires"] * settings["cost_per_hire"]
    )
    invited, enrolled = joined
    result = {
        "invited": invited,
        "enrolled": enrolled,
        "active": active,
        "headcount": headcount,
        "participation": (
            ratio(active, headcount) if active is not None and headcount is not None else None
        ),
        "shares": referred["shares"],
        "clicks": referred["clicks"],
        "clicks_per_share": ratio(referred["clicks"], referred["shares"]),
        "applications": referred["applications"],
        "all_applications": referred["all_applications"],
        "recommendations": referred["recommendations"],
        "interviews": referred["interviews"],
        "hires": referred["hires"],
        "all_hires": referred["all_hires"],
        "apply_clicks": referred["apply_clicks"],
        "referred_candidates": people["referred"],
        "referral_to_hire": ratio(people["referred_hired"], people["referred"]),
        "median_days_to_hire": people["median_days"],
        "value": value,
        "campaigns_sent": push["sent"] if push else None,
        "campaigns_opened": push["opened"] if push else None,
        "campaign_shares": push["shares"] if push else None,
    }
    return Overview(
        period,
        filters,
        result,
        dict(sorted(networks.items(), key=lambda kv: -kv[1]["shares"] - kv[1]["clicks"])),
        people["by_stage"],
        settings,
    )


async def network_sums(
    periods: list[Period], filters: Filters, units: list[list[str]]
) -> list[dict[str, dict[str, int]]]:
    """Shares and genuine clicks by network (referred ones), for each period."""
    if filters.query():
        case, args = _day_case("day", periods)
        where, more = _fine_filters(filters)
        rows = await InsightDay.raw(
            f"SELECT {case} AS period_n, network, SUM(shares) AS shares, "  # noqa: S608
            "SUM(clicks) AS clicks FROM insight_day WHERE day >= {} AND day <= {} "
            f"AND network != '' AND referred = 1{where} GROUP BY period_n, network",
            *args,
            *_day_range(periods),
            *more,
        )
    else:
        case, args = _span_case(units)
        rows = await InsightTotal.raw(
            f"SELECT {case} AS period_n, network, SUM(shares) AS shares, "  # noqa: S608
            "SUM(clicks) AS clicks FROM insight_total "
            f"WHERE dim = 'network' AND span IN ({_in(args)}) GROUP BY period_n, network",
            *args,
            *args,
        )
    found: list[dict[str, dict[str, int]]] = [{} for _p in periods]
    for row in rows:
        if row["shares"] or row["clicks"]:
            found[row["period_n"]][row["network"]] = {
                "shares": _n(row["shares"]),
                "clicks": _n(row["clicks"]),
            }
    return found


def change(now: float | None, before: float | None) -> dict[str, Any] | None:
    """The change against the previous period: the difference, and the percentage when the
    previous figure was not zero."""
    if now is None or before is None:
        return None
    diff = now - before
    return {"diff": diff, "percent": (diff / before * 100) if before else None}


FUNNEL = ("shares", "clicks", "applications", "interviews", "hires")


def funnel_names() -> dict[str, str]:
    return {
        "shares": _("Shares"),
        "clicks": _("Genuine clicks"),
        "applications": _("Applications"),
        "interviews": _("Interviews"),
        "hires": _("Hires"),
    }


TRENDS = ("shares", "clicks", "applications", "hires")


def trend_names() -> dict[str, str]:
    names = funnel_names()
    return {key: names[key] for key in TRENDS}


def network_names() -> dict[str, str]:
    """Networks as people call them; the share sheet's and the Referer's names alike."""
    return {
        "native": _("Share sheet"),
        "native_image": _("Share sheet (with image)"),
        "native_video": _("Share sheet (with video)"),
        "linkedin": "LinkedIn",
        "x": "X",
        "facebook": "Facebook",
        "instagram": "Instagram",
        "tiktok": "TikTok",
        "whatsapp": "WhatsApp",
        "telegram": "Telegram",
        "threads": "Threads",
        "bluesky": "Bluesky",
        "reddit": "Reddit",
        "xing": "XING",
        "teams": "Microsoft Teams",
        "slack": "Slack",
        "email": _("Email"),
        "copy": _("Copied link"),
        "unknown": _("Unknown"),
    }


async def trends(period: Period, filters: Filters, generation: str | None = None) -> dict[str, Any]:
    """Each trend figure by day (periods up to 31 days) or by week (from Monday)."""
    return await kept(
        ("trends", period, filters), lambda: _trends(period, filters), generation, warm=True
    )


async def _trends(period: Period, filters: Filters) -> dict[str, Any]:
    weekly = period.days > 31
    if filters.query():
        rows = (
            await InsightDay.select(
                InsightDay.day, *(Sum(getattr(InsightDay, f), alias=f) for f in TRENDS)
            )
            .where(*_where_day(InsightDay, period, filters), InsightDay.referred == 1)
            .group_by(InsightDay.day)
        )
    else:
        # The period's day rows of everything: at most a few hundred.
        rows = [
            {**row, "day": row["span"][1:]}
            for row in await InsightTotal.raw(
                f"SELECT span, {', '.join(TRENDS)} FROM insight_total "  # noqa: S608
                "WHERE dim = 'all' AND span >= {} AND span <= {}",
                "d" + period.first,
                "d" + period.last,
            )
        ]
    by_day = {r["day"]: r for r in rows}
    buckets: dict[date, dict[str, int]] = {}
    for day in period.day_labels():
        bucket = day - timedelta(days=day.weekday()) if weekly else day
        counts = buckets.setdefault(bucket, dict.fromkeys(TRENDS, 0))
        row = by_day.get(day.isoformat())
        if row:
            for f in TRENDS:
                counts[f] += int(row[f] or 0)
    return {
        "weekly": weekly,
        "points": [{"start": start, **counts} for start, counts in sorted(buckets.items())],
    }


# --- Breakdowns ------------------------------------------------------------------------------

BREAKDOWNS = ("team", "site", "item", "network", "member")
COLUMNS = ("shares", "clicks", "clicks_per_share", "applications", "interviews", "hires")
SHOWN_ROWS = 100


def breakdown_names() -> dict[str, str]:
    return {
        "team": _("By team"),
        "site": _("By site"),
        "item": _("By content item"),
        "network": _("By network"),
        "member": _("By member"),
    }


def column_names() -> dict[str, str]:
    return {
        "shares": _("Shares"),
        "clicks": _("Genuine clicks"),
        "clicks_per_share": _("Clicks per share"),
        "applications": _("Applications"),
        "interviews": _("Interviews"),
        "hires": _("Hires"),
    }


BREAKDOWN_FIGURES = ("shares", "clicks", "applications", "interviews", "hires", "recommendations")
# Where a breakdown's names are: table and column.
NAMED = {
    "team": ("team", "name"),
    "site": ("site", "name"),
    "item": ("content_item", "title"),
    "member": ("member", "name"),
}


async def _grouped(by: str, period: Period, filters: Filters) -> tuple[str, list[Any]] | None:
    """The breakdown's rows as one SQL query (key ``k`` and each figure) and the values to
    bind: from the totals of the period's spans, or from the fine day rows with a filter."""
    args: list[Any]
    if by == "member" or not filters.query():
        if by == "member" and filters.item:
            return None
        units = spans(period, await last_rolled_day())
        source = f"FROM insight_total t WHERE t.dim = {{}} AND t.span IN ({_in(units)})"
        args = [by, *units]
        for name in ("team", "site") if by == "member" else ():
            if getattr(filters, name):
                source += f" AND t.{name} = {{}}"
                args.append(getattr(filters, name))
        # "key" + 0: SQLite would otherwise walk the (key, dim, span) index to group by it.
        key = "t.network" if by == "network" else 't."key" + 0'
    else:
        source = "FROM insight_day t WHERE t.day >= {} AND t.day <= {} AND t.referred = 1"
        args = [period.first, period.last]
        for name, value in filters.query().items():
            source += f" AND t.{name} = {{}}"
            args.append(value)
        if by == "network":
            source += " AND t.network != ''"
        key = f"t.{by}"
    figures = ", ".join(f"SUM(t.{f}) AS {f}" for f in BREAKDOWN_FIGURES)
    some = " + ".join(f"SUM(t.{f})" for f in BREAKDOWN_FIGURES)
    return f"SELECT {key} AS k, {figures} {source} GROUP BY {key} HAVING {some} > 0", args


def _row(row: dict[str, Any]) -> dict[str, Any]:
    counts = {f: int(row[f] or 0) for f in BREAKDOWN_FIGURES}
    return {
        "key": row["k"],
        **counts,
        "clicks_per_share": ratio(counts["clicks"], counts["shares"]),
        "name": row.get("name"),
    }


async def breakdown_page(
    by: str,
    period: Period,
    filters: Filters,
    viewer_is_admin: bool = False,
    sort: str = "shares",
    descending: bool = True,
    limit: int | None = SHOWN_ROWS,
    generation: str | None = None,
) -> tuple[list[dict[str, Any]], int] | None:
    """The first ``limit`` rows (all with None) of one breakdown, sorted by a column (a
    missing ratio last, ties by name) or by name, in SQL, and how many rows there are.
    Members who chose not to be named are an anonymous ambassador, except to admins (who
    need the name for rewards). None: the member rollup is not kept per item, so there is
    no member breakdown of one item."""
    if by == "member" and filters.item:
        return None
    if by != "network" and sort != "name" and limit is not None:
        return await _named_page(
            by, period, filters, viewer_is_admin, sort, descending, limit, generation
        )
    if by == "network":  # a handful of rows, named in Python, their figures kept

        async def read() -> list[dict[str, Any]]:
            grouped = await _grouped(by, period, filters)
            assert grouped is not None
            return [dict(r) for r in await Team.raw(grouped[0], *grouped[1])]

        names = network_names()
        found = await kept(("networks", period, filters), read, generation, warm=True)
        rows = [_row(r) | {"name": names.get(r["k"], r["k"])} for r in found]
        rows = sort_rows(rows, sort, descending)
        return (rows if limit is None else rows[:limit]), len(rows)
    grouped = await _grouped(by, period, filters)
    if grouped is None:
        return None
    query, args = grouped
    table, column = NAMED[by]
    hidden = by == "member" and not viewer_is_admin
    name = (
        "CASE WHEN g.k = 0 THEN {} WHEN n.id IS NULL THEN {} "
        + ("WHEN n.leaderboard_anonymous THEN {} " if hidden else "")
        + f"ELSE n.{column} END"
    )
    labels = [_("None"), _("Deleted"), *([_("Anonymous ambassador")] if hidden else [])]
    direction = "DESC" if descending else "ASC"
    limited = " LIMIT {}" if limit is not None else ""
    if sort == "name":
        order = f"LOWER(x.name) {direction}, x.k"
        source = f"(SELECT q.*, COUNT(*) OVER () AS total_rows FROM ({query}) q) g"  # noqa: S608
    else:

        def value(alias: str) -> str:
            if sort == "clicks_per_share":
                return (
                    f"CASE WHEN {alias}.shares > 0 THEN {alias}.clicks * 1.0 / {alias}.shares END"
                )
            return f"{alias}.{sort if sort in BREAKDOWN_FIGURES else 'shares'}"

        order = f"({value('x')}) IS NULL, {value('x')} {direction}, LOWER(x.name), x.k"
        # The first rows by the figure, before their names are looked up (a member
        # breakdown has as many rows as members who did something).
        source = (
            f"(SELECT f.*, COUNT(*) OVER () AS total_rows FROM ({query}) f "  # noqa: S608
            f"ORDER BY ({value('f')}) IS NULL, "
            f"{value('f')} {direction}, f.k{limited}) g"
        )
        limited = ""
    rows = await Team.raw(
        f"SELECT * FROM (SELECT g.*, {name} AS name FROM {source} "  # noqa: S608
        f"LEFT JOIN {table} n ON n.id = g.k) x ORDER BY {order}{limited}",
        *labels,
        *args,
        *([limit] if limit is not None else []),
    )
    # How many rows there are in all, counted by the window over the grouped rows.
    return [_row(r) for r in rows], int(rows[0]["total_rows"]) if rows else 0


def _sort_value(alias: str, sort: str) -> str:
    """The SQL of a breakdown's sort column (a ratio is NULL without shares)."""
    if sort == "clicks_per_share":
        return f"CASE WHEN {alias}.shares > 0 THEN {alias}.clicks * 1.0 / {alias}.shares END"
    return f"{alias}.{sort if sort in BREAKDOWN_FIGURES else 'shares'}"


async def _top_figures(
    by: str, period: Period, filters: Filters, sort: str, descending: bool, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """The first ``limit`` rows of a breakdown by a figure (ties by key), without names, and
    how many rows there are."""
    grouped = await _grouped(by, period, filters)
    assert grouped is not None
    query, args = grouped
    value = _sort_value("f", sort)
    rows = await Team.raw(
        f"SELECT f.*, COUNT(*) OVER () AS total_rows FROM ({query}) f "  # noqa: S608
        f"ORDER BY ({value}) IS NULL, {value} {'DESC' if descending else 'ASC'}, f.k LIMIT {{}}",
        *args,
        limit,
    )
    return [dict(r) for r in rows], int(rows[0]["total_rows"]) if rows else 0


async def _named_page(
    by: str,
    period: Period,
    filters: Filters,
    viewer_is_admin: bool,
    sort: str,
    descending: bool,
    limit: int,
    generation: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """A page of a breakdown sorted by a figure: its rows' figures kept until the rollups
    change (:func:`kept`), their names looked up now (a rename, a member's choice not to be
    named, shows at once), the page sorted as the SQL of :func:`breakdown_page` sorts it."""
    found, total = await kept(
        ("breakdown", by, period, filters, sort, descending, limit),
        lambda: _top_figures(by, period, filters, sort, descending, limit),
        generation,
        warm=True,
    )
    table, column = NAMED[by]
    hidden = by == "member" and not viewer_is_admin
    ids = sorted({r["k"] for r in found if r["k"]})
    names: dict[int, str] = {}
    if ids:
        anonymous = ", n.leaderboard_anonymous AS hide" if hidden else ""
        for row in await Team.raw(
            f"SELECT n.id AS id, n.{column} AS name{anonymous} FROM {table} n "  # noqa: S608
            f"WHERE n.id IN ({_in(ids)})",
            *ids,
        ):
            names[row["id"]] = _("Anonymous ambassador") if row.get("hide") else row["name"]
    rows = []
    for row in found:
        name = _("None") if not row["k"] else names.get(row["k"], _("Deleted"))
        rows.append(_row({**row, "name": name}))

    def order(row: dict[str, Any]) -> tuple[Any, ...]:
        value = row[sort if sort in (*BREAKDOWN_FIGURES, "clicks_per_share") else "shares"]
        if value is None:
            return (1, 0, str(row["name"]).lower(), row["key"])
        return (0, -value if descending else value, str(row["name"]).lower(), row["key"])

    return sorted(rows, key=order), total


async def breakdown(
    by: str, period: Period, filters: Filters, viewer_is_admin: bool = False
) -> list[dict[str, Any]] | None:
    """Every row of one breakdown, most shares first (None: no member breakdown of one item)."""
    found = await breakdown_page(by, period, filters, viewer_is_admin, limit=None)
    return found[0] if found is not None else None


async def breakdown_rows(
    by: str,
    period: Period,
    filters: Filters,
    viewer_is_admin: bool = False,
    generation: str | None = None,
) -> list[tuple[str, tuple[int, ...]]] | None:
    """Every row of one breakdown as (name, figures in ``BREAKDOWN_FIGURES``' order), most
    shares first, then by name, for the exports: the figures kept until the next round,
    the names read now (a member who chose not to be named is anonymous at once). None: no
    member breakdown of one item."""
    if by == "member" and filters.item:
        return None

    async def read() -> list[list[Any]]:
        # Lists, not tuples: 50,000 rows read back from the shared store as JSON as they are.
        grouped = await _grouped(by, period, filters)
        assert grouped is not None
        return [
            [r["k"], [int(r[f] or 0) for f in BREAKDOWN_FIGURES]]
            for r in await Team.raw(grouped[0], *grouped[1])
        ]

    found = await kept(("every row", by, period, filters), read, generation, warm=True)
    if by == "network":
        labels = network_names()
        names = {k: labels.get(k, k) for k, _f in found}
    else:
        names = await _names(by, [k for k, _f in found if k], viewer_is_admin)
    none, deleted = _("None"), _("Deleted")
    named = [(names.get(k, deleted) if k else none, tuple(figures), k) for k, figures in found]
    named.sort(key=lambda r: (-r[1][0], r[0].lower(), r[2]))
    return [(name, figures) for name, figures, _k in named]


async def _names(by: str, ids: list[int], viewer_is_admin: bool) -> dict[Any, str]:
    """The names of a breakdown's rows, now: a few hundred by id, or the whole table."""
    table, column = NAMED[by]
    hidden = by == "member" and not viewer_is_admin
    anonymous = ", n.leaderboard_anonymous AS hide" if hidden else ""
    sql = f"SELECT n.id AS id, n.{column} AS name{anonymous} FROM {table} n"  # noqa: S608
    if len(ids) <= 500:
        if not ids:
            return {}
        rows = await Team.raw(f"{sql} WHERE n.id IN ({_in(ids)})", *ids)
    else:
        rows = await Team.raw(sql)
    label = _("Anonymous ambassador")
    return {row["id"]: label if row.get("hide") else row["name"] for row in rows}


def sort_rows(rows: list[dict[str, Any]], column: str, descending: bool) -> list[dict[str, Any]]:
    """Rows by a column (a missing ratio last), then by name."""
    rows = sorted(rows, key=lambda r: str(r["name"]).lower())
    if column == "name":
        return rows if not descending else rows[::-1]
    present = [r for r in rows if r.get(column) is not None]
    missing = [r for r in rows if r.get(column) is None]
    return sorted(present, key=lambda r: r[column], reverse=descending) + missing


# --- My impact -------------------------------------------------------------------------------

IMPACT = ("shares", "clicks", "applications", "hires")


async def member_totals(member_id: int, period: Period | None) -> dict[str, int]:
    """The member's own figures, in a period or all time, from the member rollup."""
    if period is None:  # every year's rows
        where, args = "span >= 'y' AND span < 'z'", []
    else:
        units = spans(period, await last_rolled_day())
        where, args = f"span IN ({_in(units)})", units
    rows = await InsightTotal.raw(
        "SELECT "  # noqa: S608 (our own column names and placeholders only)
        + ", ".join(f"SUM({f}) AS {f}" for f in IMPACT)
        + " FROM insight_total WHERE dim = 'member' AND \"key\" = {} AND "
        + where,
        member_id,
        *args,
    )
    row = rows[0] if rows else {}
    return {f: int(row.get(f) or 0) for f in IMPACT}


async def best_item(member_id: int) -> dict[str, Any] | None:
    """The member's item whose links got the most genuine clicks (then applications), all time."""
    # The member's own ledger rows, by their indexed member column: a few hundred at most.
    from_ledger = (
        await Activity.select(Activity.item, Activity.kind, Count(Activity.id, alias="n"))
        .where(
            Activity.member == member_id,
            Activity.kind.is_in(["click", "application", "share"]),
            Activity.item.is_not_null(),
        )
        .group_by(Activity.item, Activity.kind)
    )
    scores: dict[int, dict[str, int]] = defaultdict(
        lambda: {"click": 0, "application": 0, "share": 0}
    )
    for row in from_ledger:
        scores[row["item"]][row["kind"]] = int(row["n"])
    if not scores:
        return None
    item_id, counts = max(
        scores.items(),
        key=lambda kv: (kv[1]["click"], kv[1]["application"], kv[1]["share"], -kv[0]),
    )
    item = (
        await ContentItem.select(ContentItem.id, ContentItem.title)
        .where(ContentItem.id == item_id)
        .first()
    )
    if item is None:
        return None
    return {
        "id": item_id,
        "title": item["title"],
        "clicks": counts["click"],
        "applications": counts["application"],
    }


def impact_sentence(figures: dict[str, int], period_name: str) -> str:
    """One concrete sentence about the member's period."""
    n = 0
    if figures["hires"]:
        n = figures["hires"]
        text = ngettext("your links brought %(num)d hire.", "your links brought %(num)d hires.", n)
    elif figures["applications"]:
        n = figures["applications"]
        text = ngettext(
            "your links brought %(num)d candidate.", "your links brought %(num)d candidates.", n
        )
    elif figures["clicks"]:
        n = figures["clicks"]
        text = ngettext(
            "%(num)d real person opened your links.", "%(num)d real people opened your links.", n
        )
    elif figures["shares"]:
        n = figures["shares"]
        text = ngettext(
            "you shared %(num)d time; the clicks will come.",
            "you shared %(num)d times; the clicks will come.",
            n,
        )
    else:
        return _("%(period)s: nothing shared yet. Share an item from the feed to start.") % {
            "period": period_name
        }
    # Through the catalogue, so French puts its no-break space before the colon.
    return _("%(period)s: %(what)s") % {"period": period_name, "what": text % {"num": n}}


# --- What a click and a hire are worth -------------------------------------------------------

MONEY = re.compile(r"\d{1,9}([.,]\d{1,2})?")
CURRENCY = re.compile(r"[A-Z]{3}")


def parse_money(text: str | None) -> int | None:
    """An amount such as "3", "2.50" or "4 700,00" as cents; None when it is not one."""
    cleaned = (text or "").strip().replace(" ", "").replace("\u202f", "").replace("\xa0", "")
    if not MONEY.fullmatch(cleaned):
        return None
    whole, _sep, cents = cleaned.replace(",", ".").partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


def check_value_settings(form: dict[str, str]) -> FormResult:
    """The form checked: amounts in cents and the currency code, or a sentence per field."""
    result = FormResult.of(form)
    for name, message in (
        ("cost_per_click", _("Give an amount such as 3 or 2.50.")),
        ("cost_per_hire", _("Give an amount such as 4700.")),
    ):
        cents = parse_money(result.raw(name))
        if cents is None:
            result.fail(name, message)
        result.values[name] = cents
    currency = result.raw("currency").upper()
    if not CURRENCY.fullmatch(currency):
        result.fail("currency", _("Give a three-letter currency code such as EUR or USD."))
    result.values["currency"] = currency
    return result
