"""The one table of activity: what happened, once, for points, notifications and reporting."""

from __future__ import annotations

from enum import StrEnum

from piccolo.columns import ForeignKey, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import Member
from app.content.tables import ContentItem
from app.core.db import NeverReusedSerial


class ActivityKind(StrEnum):
    share = "share"  # a member completed a share (once per item and network)
    click = "click"  # a genuine click on a member's link
    application = "application"  # a candidate applied (credited to the referrer, if any)
    recommendation = "recommendation"  # a recommended friend accepted to be contacted
    stage = "stage"  # a candidate moved through the pipeline
    apply_click = "apply_click"  # a candidate left for the offer's external apply URL
    event_attended = "event_attended"  # a confirmed volunteer took part in an event
    story_proposed = "story_proposed"  # a member proposed their own story (app.voice)
    story_published = "story_published"  # an editor published a member's story


class Activity(Table):
    """What happened, once: points, notifications and reporting read these rows.

    ``key`` makes every event idempotent (one genuine click per link, visitor and day…).
    ``member`` is the employee the event is credited to, when there is one.
    """

    id = NeverReusedSerial(primary_key=True)

    kind = Varchar(length=20, choices=ActivityKind, index=True)
    key = Varchar(length=120, unique=True)
    member = ForeignKey(references=Member, null=True, on_delete=OnDelete.cascade, index=True)
    item = ForeignKey(references=ContentItem, null=True, on_delete=OnDelete.cascade, index=True)
    at = Timestamptz(default=TimestamptzNow(), index=True)
    detail = Text(default="{}")  # JSON: {"stage": "interview", "candidate": 12, …}
