"""Daily rollups of the activity ledger, the daily headcount, and the programme's value settings.

The rollup tables hold plain ids (0 for none), never foreign keys: a past day's figures stay
as they were when a team, a site, an item or a member is deleted later.
"""

from __future__ import annotations

from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.core.db import NeverReusedSerial


class InsightDay(Table):
    """One UTC day's events for one team × site × item × network (the member's team and site)."""

    id = NeverReusedSerial(primary_key=True)

    day = Varchar(length=10, index=True)  # "2026-11-26", a UTC day
    team = Integer(default=0)
    site = Integer(default=0)
    item = Integer(default=0)
    # Shares and clicks: the network shared to, or inferred from a click's Referer
    # ("unknown" when it cannot be told); "" for the other events, which have none.
    network = Varchar(length=20, default="")
    # 1 when the events were credited to a member (a referral), 0 for applications and
    # candidates who came without one.
    referred = Integer(default=1)
    shares = Integer(default=0)
    clicks = Integer(default=0)
    applications = Integer(default=0)
    recommendations = Integer(default=0)
    interviews = Integer(default=0)
    hires = Integer(default=0)
    apply_clicks = Integer(default=0)


class InsightTotal(Table):
    """Pre-summed rows the pages read: one span (a UTC day, a week from Monday, a month or a
    year) × one dimension and key, with its referred events' figures.

    ``span`` is "d2026-11-30", "w2026-11-23" (the Monday), "m2026-11" or "y2026"; a week, a
    month and a year hold the sums of their days. ``dim`` is "all" (key 0), "team", "site",
    "item" (key: its id, 0 for none), "network" (key 0, ``network`` set) or "member" (key:
    the member; ``team`` and ``site``: theirs when the day was rolled up, so a member
    breakdown can be filtered by team and site). ``all_applications`` and ``all_hires`` count
    every application and hire, with a referrer or without.
    """

    id = NeverReusedSerial(primary_key=True)

    span = Varchar(length=11)
    dim = Varchar(length=8)
    key = Integer(default=0)
    network = Varchar(length=20, default="")
    team = Integer(default=0)
    site = Integer(default=0)
    shares = Integer(default=0)
    clicks = Integer(default=0)
    applications = Integer(default=0)
    recommendations = Integer(default=0)
    interviews = Integer(default=0)
    hires = Integer(default=0)
    apply_clicks = Integer(default=0)
    all_applications = Integer(default=0)
    all_hires = Integer(default=0)


class InsightHeadcount(Table):
    """Members who were active at the end of a UTC day, per team (``site`` -1), per site
    (``team`` -1) and in all (both -1): the participation rate of a past period stays right
    after people join and leave."""

    id = NeverReusedSerial(primary_key=True)

    day = Varchar(length=10, index=True)
    team = Integer(default=0)
    site = Integer(default=0)
    members = Integer(default=0)


class InsightState(Table):
    """How far the rollups have read the ledger: one row."""

    id = NeverReusedSerial(primary_key=True)

    last_activity = Integer(default=0)  # the highest Activity id rolled up
    refreshed_at = Timestamptz(default=TimestamptzNow())
    # A rebuild under way, a month per transaction: the first day not rebuilt yet ("" when
    # none is under way), and the highest Activity id when it began (``last_activity`` once
    # it ends: rows written meanwhile are rolled up by the rounds after it).
    rebuild_next = Varchar(length=10, default="")
    rebuild_top = Integer(default=0)
    # A new random value each time the rollups' rows change (every round, every month of a
    # rebuild): the pages' figures are kept in memory for as long as it stays the same.
    generation = Varchar(length=32, default="")


class InsightKept(Table):
    """Figures the periodic job's round read from the rollups for the pages' default views,
    under the generation they belong to, for every process to read instead of computing
    them (app.insights.service.kept): one row per figure, its value as JSON. The rows of
    older generations are deleted by the round after it."""

    id = NeverReusedSerial(primary_key=True)

    generation = Varchar(length=32, index=True)
    # The generation, a space and the figure's key (service.kept's, as its repr).
    key = Text(unique=True)
    value = Text(default="")


class InsightSettings(Table):
    """What a genuine click and a referred hire are worth, set by an admin: one row."""

    id = NeverReusedSerial(primary_key=True)

    # In cents of the currency, so that every figure is an exact integer.
    cost_per_click = Integer(default=300)
    cost_per_hire = Integer(default=470_000)
    currency = Varchar(length=3, default="EUR")
    updated_at = Timestamptz(default=TimestamptzNow())


class InsightDigest(Table):
    """An editor or admin who asked for the week's overview by email, and the last week sent."""

    id = NeverReusedSerial(primary_key=True)

    member = Integer(unique=True)
    last_week = Varchar(length=8, default="")  # "2026-W48": the week last sent
