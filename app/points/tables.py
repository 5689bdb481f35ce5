"""Points: the rules HR sets, the ledger, its running totals, levels, badges and challenges."""

from __future__ import annotations

from enum import StrEnum

from piccolo.columns import Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import Member
from app.content.tables import ContentItem
from app.core.db import NeverReusedSerial


class Action(StrEnum):
    """What earns points. Stage actions are credited once per candidate when reached."""

    share = "share"
    click = "click"  # a genuine click on the member's link
    application = "application"  # a candidate applied through the member's link
    recommendation = "recommendation"  # a friend the member recommended accepted
    contacted = "contacted"
    interview = "interview"
    offer = "offer"
    hired = "hired"
    weekly_bonus = "weekly_bonus"  # the member's first share of an ISO week
    event_attended = "event_attended"  # a confirmed volunteer took part in an event
    story_proposed = "story_proposed"  # a member proposed a story (off by default)
    story_published = "story_published"  # a member's story was published


class Reason(StrEnum):
    """Why a ledger line exists when it is not an action's credit."""

    reversal = "reversal"  # a candidate moved back: the stage's points taken back
    correction = "correction"  # an admin's correction, with a note (audited)
    redemption = "redemption"  # points spent on a reward
    refund = "refund"  # a rejected redemption's points given back


# Lines that are not earnings: they move the balance but not lifetime points or leaderboards.
SPENDING = (Reason.redemption.value, Reason.refund.value)
# Lines that are not earned either: an admin's correction (a welcome bonus, a fix) changes the
# balance only, never leaderboards, levels nor the wall of fame (issue 11).
NOT_EARNED = (*SPENDING, Reason.correction.value)


class PointsRule(Table):
    """Points per action, with optional caps per day and per week (counted in credits)."""

    id = NeverReusedSerial(primary_key=True)

    action = Varchar(length=20, unique=True, choices=Action)
    points = Integer(default=0)
    enabled = Boolean(default=True)
    daily_cap = Integer(null=True, default=None)  # credits a day at most; null: no cap
    weekly_cap = Integer(null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())


class PointsLine(Table):
    """One signed line of the append-only ledger. A balance is the sum of a member's lines.

    ``key`` is unique per event: the same event never credits twice, however often or
    concurrently it is processed. ``subject`` groups the lines of one thing that can be
    reversed (``candidate:12:interview``), so its net is a sum too.
    """

    id = NeverReusedSerial(primary_key=True)

    member = ForeignKey(references=Member, on_delete=OnDelete.cascade, index=True)
    points = Integer()
    reason = Varchar(length=20, index=True)  # an Action or a Reason
    key = Varchar(length=160, unique=True)
    subject = Varchar(length=80, null=True, default=None, index=True)
    item = ForeignKey(references=ContentItem, null=True, on_delete=OnDelete.set_null)
    multiplier = Integer(default=100)  # percent applied by a challenge
    by = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    note = Text(default="")
    at = Timestamptz(default=TimestamptzNow(), index=True)


class PointsTotal(Table):
    """Earned points per member and period ("all", "2026-W48", "2026-11"), kept in the same
    transaction as each ledger line, so leaderboards read a few rows instead of summing the
    ledger. Spending (redemptions, refunds) is not earning and is not counted here."""

    id = NeverReusedSerial(primary_key=True)

    key = Varchar(length=40, unique=True)  # "member:period"
    member = ForeignKey(references=Member, on_delete=OnDelete.cascade, index=True)
    period = Varchar(length=10, index=True)
    points = Integer(default=0)


class Level(Table):
    """A level reached at ``threshold`` lifetime points."""

    id = NeverReusedSerial(primary_key=True)

    name = Varchar(length=60)
    threshold = Integer(unique=True)


class Badge(StrEnum):
    first_share = "first_share"
    first_click = "first_click"
    first_application = "first_application"
    first_hire = "first_hire"
    streak_4 = "streak_4"  # shared four weeks in a row
    streak_12 = "streak_12"


class MemberBadge(Table):
    id = NeverReusedSerial(primary_key=True)

    key = Varchar(length=60, unique=True)  # "member:badge"
    member = ForeignKey(references=Member, on_delete=OnDelete.cascade, index=True)
    badge = Varchar(length=20, choices=Badge)
    at = Timestamptz(default=TimestamptzNow())


class Challenge(Table):
    """Points multiplied on chosen items between two instants."""

    id = NeverReusedSerial(primary_key=True)

    name = Varchar(length=120)
    multiplier = Integer(default=200)  # percent: 200 doubles
    starts_at = Timestamptz(index=True)
    ends_at = Timestamptz(index=True)
    created_at = Timestamptz(default=TimestamptzNow())


class ChallengeItem(Table):
    id = NeverReusedSerial(primary_key=True)

    challenge = ForeignKey(references=Challenge, on_delete=OnDelete.cascade, index=True)
    item = ForeignKey(references=ContentItem, on_delete=OnDelete.cascade, index=True)
