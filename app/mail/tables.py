"""The mail outbox."""

from __future__ import annotations

from enum import StrEnum

from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.core.db import NeverReusedSerial


class MailState(StrEnum):
    pending = "pending"  # waiting for its next attempt (or claimed by a sender until then)
    sent = "sent"
    failed = "failed"  # given up: too many attempts, or refused for good by the server


class MailOutbox(Table):
    """One mail to send, written in the same transaction as what it is about.

    ``about`` names that thing ("invitation:12", "candidate:7"): pages read how its mail
    went, and a candidate's deletion deletes their mail too. The body is cleared once the mail
    is sent or given up: it may hold a single-use link.
    """

    id = NeverReusedSerial(primary_key=True)

    recipient = Varchar(length=254)
    subject = Text()
    text = Text()
    about = Varchar(length=60, default="", index=True)
    state = Varchar(length=10, default=MailState.pending.value, choices=MailState, index=True)
    attempts = Integer(default=0)
    # A sender's claim moves this to the end of its lease: a sender that dies leaves the mail
    # due again then.
    next_attempt_at = Timestamptz(default=TimestamptzNow(), index=True)
    claimed_by = Varchar(length=80, default="")
    error = Varchar(length=300, default="")
    sent_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
