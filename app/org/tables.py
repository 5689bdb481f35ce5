from piccolo.columns import Boolean, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.core.db import NeverReusedSerial


class Organisation(Table):
    """The one organisation an installation of Relay serves, and its settings."""

    id = NeverReusedSerial(primary_key=True)

    name = Varchar(length=120)
    default_language = Varchar(length=5, default="en")
    brand_colour = Varchar(length=7, default="#4f46e5")
    created_at = Timestamptz(default=TimestamptzNow())


class Team(Table):
    """A group of members (Sales, Engineering…) that content and campaigns can target."""

    id = NeverReusedSerial(primary_key=True)

    name = Varchar(length=80, unique=True)
    active = Boolean(default=True)


class Site(Table):
    """A place members work from (Paris, Lyon, Remote…), also a target for content."""

    id = NeverReusedSerial(primary_key=True)

    name = Varchar(length=80, unique=True)
    active = Boolean(default=True)
