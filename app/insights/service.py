"""The figures of the insights pages, read from the daily rollups (app.insights.rollups).

A period is a run of days (the viewer's dates; the rollups' days are UTC days); each figure
is compared with the period of the same length just before it. README.md, "Insights", says
what each figure means and how it is computed.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from piccolo.query.functions.aggregate import Count, Sum

from app.accounts.tables import Invitation
from app.activity.tables import Activity
from app.candidates.tables import Candidate, CandidateKind, Stage
from app.content.tables import ContentItem
from app.core.forms import FormResult
from app.core.i18n import _, ngettext
from app.core.validation import parse_id
from app.insights.rollups import ALL, DAY_FIGURES
from app.insights.tables import InsightDay, InsightHeadcount, InsightSettings, InsightTotal
from app.notifications.campaigns import shares_after_campaign
from app.notifications.tables import Campaign, NotificationOpen
from app.org.tables import Site, Team

PERIODS = ("week", "4weeks", "quarter", "year", "custom")
DEFAULT_PERIOD = "4weeks"
EARLIEST = date(2000, 1, 1)
LONGEST_DAYS = 3 * 366
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


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


async def parse_filters(values: dict[str, str | None]) -> tuple[Filters, list[str]]:
    """Known teams, sites and items only: an unknown one is left out, with a sentence."""
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
        if row_id is not None and await table.exists().where(table.id == row_id):
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


async def _fine_sums(period: Period, filters: Filters, **where: Any) -> dict[str, int]:
    clauses = _where_day(InsightDay, period, filters)
    for name, value in where.items():
        clauses.append(getattr(InsightDay, name) == value)
    row = (
        await InsightDay.select(*(Sum(getattr(InsightDay, f), alias=f) for f in DAY_FIGURES))
        .where(*clauses)
        .first()
    )
    return {f: int((row or {}).get(f) or 0) for f in DAY_FIGURES}


async def period_sums(period: Period, filters: Filters) -> dict[str, int]:
    """The referred events' figures in the period, and every application and hire
    (``all_applications``, ``all_hires``): one aggregate over a few spans' rows, or over the
    fine day rows with a team, site or item filter."""
    if filters.query():
        referred = await _fine_sums(period, filters, referred=1)
        everything = await _fine_sums(period, filters)
        return {
            **referred,
            "all_applications": everything["applications"],
            "all_hires": everything["hires"],
        }
    units = spans(period, await last_rolled_day())
    rows = await InsightTotal.raw(
        "SELECT "  # noqa: S608 (our own column names and placeholders only)
        + ", ".join(f"SUM({f}) AS {f}" for f in SUMMED)
        + f" FROM insight_total WHERE dim = 'all' AND span IN ({_in(units)})",
        *units,
    )
    row = rows[0] if rows else {}
    return {f: int(row.get(f) or 0) for f in SUMMED}


async def active_ambassadors(period: Period, filters: Filters) -> int | None:
    """Members who shared at least once in the period (None with an item filter: the member
    rollup is not kept per item). Distinct over the spans' member rows, so exact."""
    if filters.item:
        return None
    units = spans(period, await last_rolled_day())
    sql = (
        "SELECT COUNT(DISTINCT \"key\") AS n FROM insight_total WHERE dim = 'member' "  # noqa: S608
        f"AND span IN ({_in(units)}) AND shares > 0"
    )
    args: list[Any] = [*units]
    for name in ("team", "site"):
        if getattr(filters, name):
            sql += f" AND {name} = {{}}"
            args.append(getattr(filters, name))
    rows = await InsightTotal.raw(sql, *args)
    return int(rows[0]["n"] or 0) if rows else 0


async def average_headcount(period: Period, filters: Filters) -> float | None:
    """Members active at the end of each day of the period, on average over the days counted
    (None for a team and a site at once: the daily count is kept per team and per site)."""
    if filters.team and filters.site:
        return None
    row = (
        await InsightHeadcount.select(
            Sum(InsightHeadcount.members, alias="members"),
            Count(InsightHeadcount.id, alias="days"),
        )
        .where(
            InsightHeadcount.team == (filters.team or ALL),
            InsightHeadcount.site == (filters.site or ALL),
            InsightHeadcount.day >= period.first,
            InsightHeadcount.day <= period.last,
        )
        .first()
    )
    days = int((row or {}).get("days") or 0)
    return int((row or {}).get("members") or 0) / days if days else 0.0


def ratio(top: float, bottom: float) -> float | None:
    return top / bottom if bottom else None


async def members_joined(period: Period, filters: Filters) -> tuple[int, int]:
    """Invitations sent and used (enrolments) in the period, for the filtered team and site."""
    start, end = period.bounds()
    clauses = [Invitation.purpose == "invite"]
    if filters.team:
        clauses.append(Invitation.member.team == filters.team)
    if filters.site:
        clauses.append(Invitation.member.site == filters.site)
    invited = await Invitation.count().where(
        *clauses, Invitation.created_at >= start, Invitation.created_at < end
    )
    enrolled = await Invitation.count().where(
        *clauses, Invitation.used_at >= start, Invitation.used_at < end
    )
    return invited, enrolled


def _candidate_clauses(filters: Filters) -> list[Any]:
    # A recommendation the friend has not accepted yet is nobody's business.
    clauses: list[Any] = [
        (Candidate.kind == CandidateKind.application.value) | Candidate.consent_at.is_not_null()
    ]
    if filters.team:
        clauses.append(Candidate.referrer.team == filters.team)
    if filters.site:
        clauses.append(Candidate.referrer.site == filters.site)
    if filters.item:
        clauses.append(Candidate.item == filters.item)
    return clauses


async def candidates(period: Period, filters: Filters) -> dict[str, Any]:
    """Candidates who came in the period, by stage now; the referred ones and those of them
    hired; the median days from application to hire of those hired in the period."""
    start, end = period.bounds()
    clauses = _candidate_clauses(filters)
    came = [*clauses, Candidate.created_at >= start, Candidate.created_at < end]
    by_stage = {
        r["stage"]: int(r["n"])
        for r in await Candidate.select(Candidate.stage, Count(Candidate.id, alias="n"))
        .where(*came)
        .group_by(Candidate.stage)
    }
    referred = await Candidate.count().where(*came, Candidate.referrer.is_not_null())
    referred_hired = await Candidate.count().where(
        *came, Candidate.referrer.is_not_null(), Candidate.stage == Stage.hired.value
    )
    hired = await Candidate.select(Candidate.created_at, Candidate.hired_at).where(
        *clauses, Candidate.hired_at >= start, Candidate.hired_at < end
    )
    days = [(r["hired_at"] - r["created_at"]).total_seconds() / 86400 for r in hired]
    return {
        "by_stage": {stage.value: by_stage.get(stage.value, 0) for stage in Stage},
        "referred": referred,
        "referred_hired": referred_hired,
        "median_days": statistics.median(days) if days else None,
    }


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


@dataclass
class Overview:
    period: Period
    filters: Filters
    figures: dict[str, Any] = field(default_factory=dict)
    networks: dict[str, dict[str, int]] = field(default_factory=dict)
    by_stage: dict[str, int] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


async def figures(period: Period, filters: Filters) -> Overview:
    """Every figure of the overview for one period."""
    referred = await period_sums(period, filters)
    active = await active_ambassadors(period, filters)
    headcount = await average_headcount(period, filters)
    invited, enrolled = await members_joined(period, filters)
    people = await candidates(period, filters)
    push = await campaigns(period) if not filters.query() else None
    settings = await value_settings()
    value = (
        referred["clicks"] * settings["cost_per_click"]
        + referred["hires"] * settings["cost_per_hire"]
    )
    networks = await network_sums(period, filters)
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


async def network_sums(period: Period, filters: Filters) -> dict[str, dict[str, int]]:
    """Shares and genuine clicks by network (referred ones)."""
    if filters.query():
        rows = (
            await InsightDay.select(
                InsightDay.network,
                Sum(InsightDay.shares, alias="shares"),
                Sum(InsightDay.clicks, alias="clicks"),
            )
            .where(
                *_where_day(InsightDay, period, filters),
                InsightDay.network != "",
                InsightDay.referred == 1,
            )
            .group_by(InsightDay.network)
        )
    else:
        units = spans(period, await last_rolled_day())
        rows = await InsightTotal.raw(
            "SELECT network, SUM(shares) AS shares, SUM(clicks) AS clicks FROM insight_total "  # noqa: S608
            f"WHERE dim = 'network' AND span IN ({_in(units)}) GROUP BY network",
            *units,
        )
    return {
        row["network"]: {"shares": int(row["shares"] or 0), "clicks": int(row["clicks"] or 0)}
        for row in rows
        if row["shares"] or row["clicks"]
    }


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


async def trends(period: Period, filters: Filters) -> dict[str, Any]:
    """Each trend figure by day (periods up to 31 days) or by week (from Monday)."""
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
) -> tuple[list[dict[str, Any]], int] | None:
    """The first ``limit`` rows (all with None) of one breakdown, sorted by a column (a
    missing ratio last, ties by name) or by name, in SQL, and how many rows there are.
    Members who chose not to be named are an anonymous ambassador, except to admins (who
    need the name for rewards). None: the member rollup is not kept per item, so there is
    no member breakdown of one item."""
    grouped = await _grouped(by, period, filters)
    if grouped is None:
        return None
    query, args = grouped
    if by == "network":  # a handful of rows, named in Python
        names = network_names()
        rows = [_row(r) | {"name": names.get(r["k"], r["k"])} for r in await Team.raw(query, *args)]
        rows = sort_rows(rows, sort, descending)
        return (rows if limit is None else rows[:limit]), len(rows)
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


async def breakdown(
    by: str, period: Period, filters: Filters, viewer_is_admin: bool = False
) -> list[dict[str, Any]] | None:
    """Every row of one breakdown, most shares first (None: no member breakdown of one item)."""
    found = await breakdown_page(by, period, filters, viewer_is_admin, limit=None)
    return found[0] if found is not None else None


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
    return f"{period_name}: {text % {'num': n}}"


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
