"""Visits to tracked links, the daily visitor keys, and the one table of activity."""

from __future__ import annotations

from enum import StrEnum

from piccolo.columns import Boolean, ForeignKey, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import Member
from app.content.tables import ContentItem
from app.sharing.tables import ShareLink


class VisitorKey(Table):
    """The HMAC key of one UTC day: visitors are known only by a keyed hash of address and
    user agent, and yesterday's hashes cannot be linked to today's once the key is gone."""

    id = Serial(primary_key=True)

    day = Varchar(length=10, unique=True)  # "2026-11-26"
    key = Varchar(length=64)


class Visit(Table):
    """One request to ``/r/{code}``: a preview (bot or HEAD) or a page view.

    Written in batches by :mod:`app.candidates.visits`, never on the page's path. ``own``
    marks a view by the signed-in sharer: that visitor's beacon is not a click that day.
    """

    id = Serial(primary_key=True)

    link = ForeignKey(references=ShareLink, on_delete=OnDelete.cascade, index=True)
    at = Timestamptz(default=TimestamptzNow())
    visitor = Varchar(length=32)  # keyed hash, hex; never the address
    preview = Boolean(default=False)
    own = Boolean(default=False)


class ActivityKind(StrEnum):
    click = "click"  # a genuine click on a member's link
    application = "application"  # a candidate applied (credited to the referrer, if any)
    recommendation = "recommendation"  # a recommended friend accepted to be contacted
    stage = "stage"  # a candidate moved through the pipeline


class Activity(Table):
    """What happened, once: points, notifications and reporting read these rows.

    ``key`` makes every event idempotent (one genuine click per link, visitor and day…).
    ``member`` is the employee the event is credited to, when there is one.
    """

    id = Serial(primary_key=True)

    kind = Varchar(length=20, choices=ActivityKind, index=True)
    key = Varchar(length=120, unique=True)
    member = ForeignKey(references=Member, null=True, on_delete=OnDelete.cascade, index=True)
    item = ForeignKey(references=ContentItem, null=True, on_delete=OnDelete.cascade, index=True)
    at = Timestamptz(default=TimestamptzNow(), index=True)
    detail = Text(default="{}")  # JSON: {"stage": "interview", "candidate": 12, …}
