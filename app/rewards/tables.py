"""The rewards shop: what admins offer for points, and the redemptions editors fulfil."""

from __future__ import annotations

from enum import StrEnum

from piccolo.columns import Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import Member
from app.core.db import NeverReusedSerial


class Reward(Table):
    """Something members can get for points.

    ``stock`` counts what is left (null: unlimited); a redemption takes one with a conditional
    update, a rejected one gives it back. A reward is switched off, never deleted: its
    redemptions keep pointing at it.
    """

    id = NeverReusedSerial(primary_key=True)

    name = Varchar(length=120)
    description = Text(default="")  # Markdown, rendered through app.content.markdown
    image = Varchar(length=40, null=True, default=None)  # a media key (app.content.media)
    cost = Integer()
    stock = Integer(null=True, default=None)
    limit_per_member = Integer(null=True, default=None)  # null: no limit
    starts_at = Timestamptz(null=True, default=None)  # available from (null: always)
    ends_at = Timestamptz(null=True, default=None)  # available until, excluded
    active = Boolean(default=True, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class RedemptionState(StrEnum):
    requested = "requested"  # points debited, stock taken, waiting for an editor
    approved = "approved"
    delivered = "delivered"  # with a note only the member sees (a gift code, pickup details)
    rejected = "rejected"  # with a reason; points refunded and stock returned


class Redemption(Table):
    """A member's request for a reward, paid when made (ledger key ``redemption:{id}``)."""

    id = NeverReusedSerial(primary_key=True)

    reward = ForeignKey(references=Reward, on_delete=OnDelete.restrict, index=True)
    member = ForeignKey(references=Member, on_delete=OnDelete.cascade, index=True)
    cost = Integer()  # what it cost then: a refund gives back exactly this
    state = Varchar(
        length=10, default=RedemptionState.requested.value, choices=RedemptionState, index=True
    )
    note = Text(default="")  # delivery note, for the member's eyes
    reason = Text(default="")  # why it was rejected
    handled_by = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    requested_at = Timestamptz(default=TimestamptzNow(), index=True)
    approved_at = Timestamptz(null=True, default=None)
    delivered_at = Timestamptz(null=True, default=None)
    rejected_at = Timestamptz(null=True, default=None)
