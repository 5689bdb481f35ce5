"""Events, and the members who signed up for them."""

from __future__ import annotations

from enum import StrEnum

from piccolo.columns import ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import Member
from app.content.tables import ContentItem
from app.core.db import NeverReusedSerial


class EventKind(StrEnum):
    job_fair = "job_fair"
    school_forum = "school_forum"
    webinar = "webinar"
    open_house = "open_house"
    masterclass = "masterclass"


class SignupRole(StrEnum):
    volunteer = "volunteer"  # on the stand, or giving the talk
    attendee = "attendee"


class Event(Table):
    """An event members sign up for. Its title, text and audience are its content item's
    (kind ``event``): the feed shows it, members share it with their tracked link and the
    page behind that link credits them, like any item. Times are stored in UTC and shown in
    the event's own ``time_zone``."""

    id = NeverReusedSerial(primary_key=True)

    item = ForeignKey(references=ContentItem, on_delete=OnDelete.cascade, unique=True)
    kind = Varchar(length=12, choices=EventKind)
    place = Varchar(length=300, default="")
    online_url = Varchar(length=500, default="")
    starts_at = Timestamptz(index=True)
    ends_at = Timestamptz()
    time_zone = Varchar(length=64)
    needs = Text(default="")  # plain text: "2 engineers to talk about their work on the stand"
    capacity = Integer()  # sign-ups at most, volunteers and attendees together
    signup_deadline = Timestamptz()
    created_by = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class EventSignup(Table):
    """A member signed up for an event, once (``pair``); cancelling deletes the row.

    An editor confirms a volunteer, and ticks afterwards that they took part: that earns
    the points of the admin's rule, once (an activity row keyed by the sign-up)."""

    id = NeverReusedSerial(primary_key=True)

    pair = Varchar(length=24, unique=True)  # "event:member"
    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, index=True)
    member = ForeignKey(references=Member, on_delete=OnDelete.cascade, index=True)
    role = Varchar(length=9, choices=SignupRole)
    confirmed_at = Timestamptz(null=True, default=None)
    attended_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
