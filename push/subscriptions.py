"""A member's push subscriptions, one row per device: saving, renewing, listing, turning off."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from piccolo.columns import Column

from app.core.db import is_postgres, write_transaction
from push.outbox import OPEN_ROWS
from push.sender import check_subscription_keys
from push.tables import DeliveryState, PushDelivery, PushSubscription


class SubscriptionProblem(StrEnum):
    """Why a subscription is refused; the app words each one for the member."""

    unusable_address = "unusable_address"  # not an address push can be sent to at all
    refused_address = "refused_address"  # a host Relay must not post to (push.addresses)
    unusable_keys = "unusable_keys"
    another_members_device = "another_members_device"  # see DeviceOfAnotherMember


class SubscriptionError(ValueError):
    """A subscription the browser sent that Relay cannot push to, and why (``problem``)."""

    def __init__(self, problem: SubscriptionProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


class DeviceOfAnotherMember(SubscriptionError):
    """The endpoint is another member's device and the browser sent the same keys: whoever
    sends it did not subscribe afresh, so the device is not moved (``app/`` tells why)."""

    def __init__(self) -> None:
        super().__init__(SubscriptionProblem.another_members_device)


def check_subscription(endpoint: str, p256dh: str, auth: str) -> None:
    parts = urlsplit(endpoint)
    if parts.scheme not in {"https", "http"} or not parts.hostname or len(endpoint) > 1024:
        raise SubscriptionError(SubscriptionProblem.unusable_address)
    if not check_subscription_keys(p256dh, auth):
        raise SubscriptionError(SubscriptionProblem.unusable_keys)


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


async def renew_subscription(
    member_id: int, old_endpoint: str, endpoint: str, p256dh: str, auth: str, device_name: str
) -> int | None:
    """The browser renewed a subscription of this member's (``pushsubscriptionchange``).

    The old one is turned off and the new one saved under the old one's device name
    (``device_name`` when it had none). None when the old endpoint is not this member's.
    """
    old = (
        await PushSubscription.select(PushSubscription.id, PushSubscription.device_name)
        .where(PushSubscription.endpoint == old_endpoint, PushSubscription.member == member_id)
        .first()
    )
    if old is None:
        return None
    async with write_transaction():
        if old_endpoint != endpoint:
            await PushSubscription.update({PushSubscription.active: False}).where(
                PushSubscription.id == old["id"]
            )
        name = old["device_name"] or device_name
        return await save_subscription(member_id, endpoint, p256dh, auth, name)


@dataclass(frozen=True)
class Device:
    """One of a member's subscriptions, as the member sees it."""

    id: int
    name: str
    active: bool
    created_at: datetime
    last_ok_at: datetime | None


async def devices_of(member_id: int) -> list[Device]:
    """The member's devices, the newest first, those turned off included."""
    rows = (
        await PushSubscription.select(
            PushSubscription.id,
            PushSubscription.device_name,
            PushSubscription.active,
            PushSubscription.created_at,
            PushSubscription.last_ok_at,
        )
        .where(PushSubscription.member == member_id)
        .order_by(PushSubscription.created_at, ascending=False)
    )
    return [
        Device(r["id"], r["device_name"], r["active"], r["created_at"], r["last_ok_at"])
        for r in rows
    ]


async def set_device_active(member_id: int, subscription_id: int, active: bool) -> bool:
    """Turn one of this member's devices on or off; False when it is not theirs."""
    rows = await (
        PushSubscription.update({PushSubscription.active: active})
        .where(PushSubscription.id == subscription_id, PushSubscription.member == member_id)
        .returning(PushSubscription.id)
    )
    return bool(rows)


async def members_with_devices() -> list[int]:
    """Ids of the members with at least one active device, in order."""
    rows = await PushSubscription.select(PushSubscription.member).where(
        PushSubscription.active.eq(True)
    )
    return sorted({row["member"] for row in rows})
