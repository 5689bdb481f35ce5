"""Notification preferences, nudges waiting to go out, HR campaigns, and notification opens."""

from enum import StrEnum

from piccolo.columns import Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import Member
from app.core.db import NeverReusedSerial


class NotificationPreference(Table):
    """What a member wants to be told, when, and in which time zone (one row per member).

    No row means the defaults: every kind on, quiet from 21:00 to 08:00 in Europe/Paris
    until the browser tells us the member's zone.
    """

    id = NeverReusedSerial(primary_key=True)
    member = ForeignKey(references=Member, on_delete=OnDelete.cascade, unique=True)
    content = Boolean(default=True)
    referral = Boolean(default=True)
    reward = Boolean(default=True)
    campaign = Boolean(default=True)
    event = Boolean(default=True)  # reminders of the events the member signed up for
    # Minutes after local midnight; start == end means no quiet hours.
    quiet_start = Integer(default=21 * 60)
    quiet_end = Integer(default=8 * 60)
    time_zone = Varchar(length=64, default="Europe/Paris")
    updated_at = Timestamptz(default=TimestamptzNow())


class NudgeState(StrEnum):
    waiting = "waiting"  # due at due_at (quiet hours and caps push it later)
    sent = "sent"  # queued in the push outbox
    dropped = "dropped"  # the member turned the kind off meanwhile
    failed = "failed"  # could not be queued, MAX_ATTEMPTS times (see nudges.send_due_nudges)


class Nudge(Table):
    """One automatic notification for one member: a row first, queued for push when due.

    ``key`` makes each event nudge at most once (``reward:12:7``: reward 7 for member 12),
    whichever process or retry writes it. Content nudges of a member that are due together
    go out as one notification.
    """

    id = NeverReusedSerial(primary_key=True)
    member = ForeignKey(references=Member, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=16)
    key = Varchar(length=120, unique=True)
    title = Varchar(length=200)
    body = Varchar(length=400, default="")
    url = Varchar(length=500, default="/")
    state = Varchar(length=8, default=NudgeState.waiting.value, choices=NudgeState, index=True)
    due_at = Timestamptz(default=TimestamptzNow(), index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    sent_at = Timestamptz(null=True, default=None)
    # Failed attempts at queueing it; each one moves ``due_at`` later (backoff).
    attempts = Integer(default=0)
    # The publications a content nudge stands for (one nudge per member for a round's
    # publications with the same audience: app.notifications.nudges.nudge_audience).
    items = Integer(default=1)


class CampaignState(StrEnum):
    scheduled = "scheduled"
    sent = "sent"
    cancelled = "cancelled"


class Campaign(Table):
    """A push message HR sends to an audience, now or at ``scheduled_at``.

    ``audience`` is JSON (see ``app.notifications.campaigns.Audience``); ``targeted`` is how
    many members it reached when it was sent, deliveries are in the push outbox.
    """

    id = NeverReusedSerial(primary_key=True)
    title = Varchar(length=120)
    body = Varchar(length=400, default="")
    url = Varchar(length=500, default="/")
    image = Varchar(length=500, default="")
    audience = Text(default="{}")
    state = Varchar(length=10, default=CampaignState.scheduled.value, choices=CampaignState)
    scheduled_at = Timestamptz(default=TimestamptzNow(), index=True)
    created_by = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    sent_at = Timestamptz(null=True, default=None)
    members_targeted = Integer(default=0)


class NotificationOpen(Table):
    """A notification the member tapped: counted once per delivery."""

    id = NeverReusedSerial(primary_key=True)
    delivery_key = Varchar(length=32, unique=True)
    campaign = Integer(null=True, default=None, index=True)
    kind = Varchar(length=16, default="")
    opened_at = Timestamptz(default=TimestamptzNow())
