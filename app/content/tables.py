"""Stories and offers, who they are for, the best-practice guides and each member's feed state."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from piccolo.columns import (
    Boolean,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import Member
from app.core.db import NeverReusedSerial
from app.core.search import folded
from app.org.tables import Site, Team


class Kind(StrEnum):
    story = "story"
    offer = "offer"
    event = "event"  # an event's item: app.events gives its time, place and sign-ups


class OfferStatus(StrEnum):
    draft = "draft"
    open = "open"
    closed = "closed"


class ContentItem(Table):
    """A story or a job offer: one table, so the feed pages through both with one query.

    An item is published when ``publish_at`` is set and in the past (a future time is a
    schedule, read by the feed query itself: no job needed), and not archived nor expired.
    Offer-only columns stay empty on stories.
    """

    id = NeverReusedSerial(primary_key=True)

    kind = Varchar(length=5, choices=Kind, index=True)
    title = Varchar(length=160)
    # The title folded for search (app.core.search), set whenever the title is.
    search_text = Varchar(length=200, default="")
    body = Text(default="")  # Markdown, rendered through app.content.markdown
    excerpt = Varchar(length=200, default="")  # plain text, computed from body on save
    language = Varchar(length=5, default="en")
    # ",tag1,tag2," so one LIKE finds a tag without matching part of another.
    tags = Varchar(length=400, default="")
    # {"linkedin": ["…", "…"], "x": [...], …} as JSON
    captions = Text(default="{}")
    image = Varchar(length=40, null=True, default=None)  # a media key (app.content.media)
    image_alt = Varchar(length=200, default="")
    video_url = Varchar(length=500, default="")
    # An uploaded video's file name, "{key}.mp4" or "{key}.webm" (app.content.video).
    video = Varchar(length=30, null=True, default=None)
    # More photos after ``image``, space-separated media keys (an employee's story has up to 4).
    gallery = Varchar(length=200, default="")
    # An employee's story: "Léa, Data team", shown in the feed; on the public page only when
    # ``byline_public`` (the author agreed to be named there).
    byline = Varchar(length=160, default="")
    byline_public = Boolean(default=False)
    # The member the byline names (their profile photo shows beside it); None for other items.
    byline_member = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    audience_all = Boolean(default=True)
    pinned = Boolean(default=False)
    publish_at = Timestamptz(null=True, default=None, index=True)
    expires_at = Timestamptz(null=True, default=None)
    archived_at = Timestamptz(null=True, default=None)
    # When members were told about it by a new-content nudge (once, by one process).
    announced_at = Timestamptz(null=True, default=None)
    # Offers
    site = ForeignKey(references=Site, null=True, on_delete=OnDelete.set_null)
    contract = Varchar(length=20, default="")
    remote = Varchar(length=20, default="")
    salary_min = Integer(null=True, default=None)
    salary_max = Integer(null=True, default=None)
    bonus_text = Varchar(length=200, default="")
    offer_status = Varchar(length=6, default=OfferStatus.draft.value, choices=OfferStatus)
    apply_url = Varchar(length=500, default="")
    created_by = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())

    def __init__(
        self,
        _data: Any = None,
        _ignore_missing: bool = False,
        _exists_in_db: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(_data, _ignore_missing, _exists_in_db, **kwargs)
        if not _exists_in_db:
            self.search_text = folded(self.title or "")


class ContentTarget(Table):
    """One team or one site an item is for, when it is not for everyone."""

    id = NeverReusedSerial(primary_key=True)

    item = ForeignKey(references=ContentItem, on_delete=OnDelete.cascade, index=True)
    team = ForeignKey(references=Team, null=True, on_delete=OnDelete.cascade, index=True)
    site = ForeignKey(references=Site, null=True, on_delete=OnDelete.cascade, index=True)


class ShareGuide(Table):
    """An editor's version of the best-practice guide for one network, in one language."""

    id = NeverReusedSerial(primary_key=True)

    key = Varchar(length=30, unique=True)  # "linkedin:fr"
    body = Text(default="")
    updated_at = Timestamptz(default=TimestamptzNow())


class ApplyHost(Table):
    """A host an admin allows offers to send candidates to (the careers site, the ATS)."""

    id = NeverReusedSerial(primary_key=True)

    host = Varchar(length=253, unique=True)


class FeedState(Table):
    """Per member: when they last opened the feed, and whether shares credit them by name."""

    id = NeverReusedSerial(primary_key=True)

    member = ForeignKey(references=Member, on_delete=OnDelete.cascade, unique=True)
    seen_at = Timestamptz(null=True, default=None)
    # The visit before the current one: "new since your last visit" compares with it.
    previous_seen_at = Timestamptz(null=True, default=None)
    credit_by_name = Boolean(default=True)
