"""Saving and removing a browser's push subscription: one row per device (endpoint)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from piccolo.columns import Column

from app.core.db import is_postgres, write_transaction
from app.core.i18n import _
from push.outbox import OPEN_ROWS
from push.sender import check_subscription_keys
from push.tables import DeliveryState, PushDelivery, PushSubscription


class SubscriptionError(ValueError):
    """A subscription the browser sent that Relay cannot push to; the text is for the member."""


class DeviceOfAnotherMember(Exception):
    """The endpoint is another member's device and the browser sent the same keys: whoever
    sends it did not subscribe afresh, so the device is not moved (``app/`` tells why)."""


def check_subscription(endpoint: str, p256dh: str, auth: str) -> None:
    parts = urlsplit(endpoint)
    if parts.scheme not in {"https", "http"} or not parts.hostname or len(endpoint) > 1024:
        raise SubscriptionError(_("This browser gave an unusable push address."))
    if not check_subscription_keys(p256dh, auth):
        raise SubscriptionError(_("This browser gave unusable push keys."))


async def save_subscription(
    member_id: int, endpoint: str, p256dh: str, auth: str, device_name: str = ""
) -> int:
    """Store what ``pushManager.subscribe()`` returned; the same endpoint updates its row.

    A browser that subscribes again (new keys) takes its row over and makes it active again.
    A device another member registered moves to this member only with new keys, the proof
    of a fresh subscription made on the device (the old keys could have been copied, or the
    browser merely handed back the other member's subscription): then the deliveries still
    queued for the other member are pruned, so none of theirs reaches the new member. With
    the same keys it raises :class:`DeviceOfAnotherMember`. Returns the subscription's id.
    """
    check_subscription(endpoint, p256dh, auth)
    values: dict[Column | str, Any] = {
        PushSubscription.member: member_id,
        PushSubscription.p256dh: p256dh,
        PushSubscription.auth: auth,
        PushSubscription.device_name: device_name[:120],
        PushSubscription.active: True,
        PushSubscription.failures: 0,
    }
    async with write_transaction():
        query = PushSubscription.select(
            PushSubscription.id,
            PushSubscription.member,
            PushSubscription.p256dh,
            PushSubscription.auth,
        ).where(PushSubscription.endpoint == endpoint)
        if is_postgres():
            query = query.lock_rows("UPDATE")
        existing = await query.first()
        if existing:
            if existing["member"] != member_id:
                if (existing["p256dh"], existing["auth"]) == (p256dh, auth):
                    raise DeviceOfAnotherMember()
                await PushDelivery.update(
                    {
                        PushDelivery.state: DeliveryState.pruned.value,
                        PushDelivery.error: "the device moved to another member",
                    }
                ).where(PushDelivery.subscription == existing["id"], OPEN_ROWS)
            await PushSubscription.update(values).where(PushSubscription.id == existing["id"])
            return int(existing["id"])
        rows = await PushSubscription.insert(
            PushSubscription(
                member=member_id,
                endpoint=endpoint,
                p256dh=p256dh,
                auth=auth,
                device_name=device_name[:120],
                created_at=datetime.now(UTC),
            )
        ).returning(PushSubscription.id)
        return int(rows[0]["id"])


async def remove_subscription(member_id: int, endpoint: str) -> bool:
    """Stop pushing to a device the member unsubscribed (its queued deliveries get pruned)."""
    async with write_transaction():
        rows = await (
            PushSubscription.update({PushSubscription.active: False})
            .where(PushSubscription.endpoint == endpoint, PushSubscription.member == member_id)
            .returning(PushSubscription.id)
        )
    return bool(rows)
