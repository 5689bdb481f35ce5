"""Tracked links and shares."""

from __future__ import annotations

from piccolo.columns import ForeignKey, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import Member
from app.content.tables import ContentItem
from app.core.db import NeverReusedSerial


class ShareLink(Table):
    """One short, unguessable code per member and item: ``{PUBLIC_URL}/r/{code}``."""

    id = NeverReusedSerial(primary_key=True)

    code = Varchar(length=16, unique=True)
    # "member:item": one unique column keeps one link per pair on SQLite and PostgreSQL alike.
    pair = Varchar(length=40, unique=True)
    member = ForeignKey(references=Member, on_delete=OnDelete.cascade, index=True)
    item = ForeignKey(references=ContentItem, on_delete=OnDelete.cascade, index=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Share(Table):
    """A completed share: recorded once per member, item and network."""

    id = NeverReusedSerial(primary_key=True)

    key = Varchar(length=60, unique=True)  # "member:item:network"
    member = ForeignKey(references=Member, on_delete=OnDelete.cascade, index=True)
    item = ForeignKey(references=ContentItem, on_delete=OnDelete.cascade, index=True)
    network = Varchar(length=20)
    at = Timestamptz(default=TimestamptzNow())
