"""Saving and removing a browser's push subscription: one row per device (endpoint)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from piccolo.columns import Column

from app.core.db import write_transaction
from app.core.i18n import _
from push.sender import check_subscription_keys
from push.tables import PushSubscription


class SubscriptionError(ValueError):
    """A subscription the browser sent that Relay cannot push to; the text is for the member."""


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

    A browser that subscribes again (new keys, or another member signed in on the device)
    takes the row over and makes it active again. Returns the subscription's id.
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
        existing = (
            await PushSubscription.select(PushSubscription.id)
            .where(PushSubscription.endpoint == endpoint)
            .first()
        )
        if existing:
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
