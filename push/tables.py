"""Push subscriptions (one per device) and the outbox of deliveries to them."""

from enum import StrEnum

from piccolo.columns import Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

from app.core.db import NeverReusedSerial

# Each subscription belongs to a member of the app that hosts the engine. The table is named,
# not imported: the engine imports nothing of the app but app.core, and Piccolo resolves the
# name on first use (the schema, a foreign key to ``member``, is the same).
MEMBER = LazyTableReference("Member", module_path="app.accounts.tables")


class DeliveryState(StrEnum):
    pending = "pending"  # due at next_attempt_at
    sending = "sending"  # claimed by a worker until claimed_until
    sent = "sent"  # the push service accepted it (201/202)
    failed = "failed"  # refused for good, or out of attempts
    pruned = "pruned"  # the subscription is gone (404/410): nobody left to deliver to


# The states a worker may still act upon: the claim query and its partial index use them.
OPEN_STATES = (DeliveryState.pending.value, DeliveryState.sending.value)


class PushSubscription(Table):
    """One browser on one device that agreed to receive pushes for a member.

    The endpoint identifies the device's subscription at its push service, so it is unique:
    subscribing again from the same browser updates the row. A subscription the push service
    says is gone (404/410) is deactivated rather than deleted, so campaign figures keep
    counting the deliveries that were pruned.
    """

    id = NeverReusedSerial(primary_key=True)
    member: ForeignKey[Table] = ForeignKey(references=MEMBER, index=True)
    endpoint = Varchar(length=1024, unique=True)
    p256dh = Varchar(length=128)
    auth = Varchar(length=64)
    device_name = Varchar(length=120, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    last_ok_at = Timestamptz(null=True, default=None)
    failures = Integer(default=0)
    active = Boolean(default=True, index=True)


class PushDelivery(Table):
    """One message to one subscription: written before anything is sent, then worked off.

    A worker claims a row by setting ``state = sending``, ``claimed_by`` and a lease in
    ``claimed_until``; the claim also moves ``next_attempt_at`` to the lease's end, so a row
    whose worker died is simply due again when the lease runs out. The claim query reads
    ``state`` and ``next_attempt_at`` only; a partial index on open rows (in the migration)
    keeps it fast however many sent rows accumulate.
    """

    id = NeverReusedSerial(primary_key=True)
    subscription = ForeignKey(references=PushSubscription, index=True)
    campaign = Integer(null=True, default=None, index=True)
    kind = Varchar(length=16)
    payload = Text()
    # The payload's "id": how a tapped notification is matched to its delivery.
    key = Varchar(length=32, null=True, default=None, index=True)
    topic = Varchar(length=32, null=True, default=None)
    urgency = Varchar(length=8, default="normal")
    ttl = Integer(default=86400)
    state = Varchar(length=8, default=DeliveryState.pending.value, choices=DeliveryState)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=TimestamptzNow())
    claimed_by = Varchar(length=64, null=True, default=None)
    claimed_until = Timestamptz(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)
    status_code = Integer(null=True, default=None)
    error = Varchar(length=300, default="")
    created_at = Timestamptz(default=TimestamptzNow())
