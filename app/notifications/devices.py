"""The devices members opted in from: subscribing, replacing a subscription, the test push,
and the opens it reports.

Push itself (encryption, sending, retries) is the engine in ``push/``: everything here goes
through what ``push`` exports, and queues messages with ``push.enqueue``.
"""

from __future__ import annotations

import re
from datetime import datetime

from app.core.i18n import _
from app.core.settings import Settings
from app.web.devices import device_name
from push import (
    MessageProblem,
    PushMessage,
    PushMessageError,
    Refusal,
    SubscriptionError,
    SubscriptionProblem,
    delivery_with_key,
    endpoint_refusal,
    enqueue,
    renew_subscription,
    save_subscription,
)

from .tables import NotificationOpen

# --- Devices -------------------------------------------------------------------------------

ICON = "/static/icons/icon-192.png"
BADGE = "/static/icons/icon-64.png"
DELIVERY_KEY = re.compile(r"[0-9a-f]{32}")


def check_push_endpoint(endpoint: str, settings: Settings) -> None:
    """Refuse push addresses Relay must not post to (the rules are ``push.addresses``'):
    https to a public host name on port 443, or a host of ``PUSH_ALLOWED_TEST_HOSTS``.

    Names are not resolved here: a DNS answer at subscription time proves nothing later, so
    the sender checks the address it connects to every time.
    """
    refusal = endpoint_refusal(endpoint, settings.push_allowed_test_hosts)
    if refusal is Refusal.malformed:
        raise SubscriptionError(SubscriptionProblem.unusable_address)
    if refusal is not None:
        raise SubscriptionError(SubscriptionProblem.refused_address)


def subscription_refusal(error: SubscriptionError) -> str:
    """What the member reads when this device cannot be subscribed."""
    match error.problem:
        case SubscriptionProblem.unusable_address:
            return _("This browser gave an unusable push address.")
        case SubscriptionProblem.refused_address:
            return _("This browser gave a push address Relay cannot send to.")
        case SubscriptionProblem.unusable_keys:
            return _("This browser gave unusable push keys.")
        case SubscriptionProblem.another_members_device:
            return _(
                "This device already receives another member's notifications. To receive "
                "yours here instead, reset notifications for this site in the browser's "
                "settings, then turn them on again."
            )


def message_refusal(error: PushMessageError) -> str:
    """What the author of a notification reads when push cannot carry it."""
    match error.problem:
        case MessageProblem.no_title:
            return _("A notification needs a title.")
        case MessageProblem.too_long:
            return _(
                "This notification is too long to be sent by push: "
                "shorten it by {excess} characters or more."
            ).format(excess=error.excess)


async def opt_in(
    member_id: int,
    settings: Settings,
    endpoint: str,
    p256dh: str,
    auth: str,
    user_agent: str,
) -> int:
    """Save this device's subscription after checking its address; returns its id.

    Raises :class:`push.SubscriptionError` (:func:`subscription_refusal` words it), a
    :class:`push.DeviceOfAnotherMember` for another member's device sent with its old keys.
    """
    check_push_endpoint(endpoint, settings)
    return await save_subscription(member_id, endpoint, p256dh, auth, device_name(user_agent))


async def replace_subscription(
    member_id: int,
    settings: Settings,
    old_endpoint: str,
    endpoint: str,
    p256dh: str,
    auth: str,
    user_agent: str,
) -> int | None:
    """The browser renewed its subscription (``pushsubscriptionchange``): move to the new one.

    Only a device this member already had can be renewed this way; the old one is turned off.
    """
    check_push_endpoint(endpoint, settings)
    return await renew_subscription(
        member_id, old_endpoint, endpoint, p256dh, auth, device_name(user_agent)
    )


async def send_test(member_id: int, now: datetime) -> int:
    """A test notification to every active device of the member; returns how many."""
    message = PushMessage(
        title=_("Notifications work"),
        body=_("This is how Relay will tell you about new offers and your rewards."),
        url="/notifications",
        icon=ICON,
        badge=BADGE,
        tag="relay-test",
    )
    return await enqueue(message, kind="test", member_ids=[member_id], urgency="high", now=now)


async def record_open(delivery_key: str, now: datetime) -> bool:
    """Count a tapped notification once; ``delivery_key`` is the ``id`` of its payload.

    The key is looked up in the outbox, so only real deliveries are counted, and the campaign
    it belongs to is taken from there, never from the browser.
    """
    if not DELIVERY_KEY.fullmatch(delivery_key):
        return False
    delivery = await delivery_with_key(delivery_key)
    if delivery is None:
        return False
    rows = await (
        NotificationOpen.insert(
            NotificationOpen(
                delivery_key=delivery_key,
                campaign=delivery.campaign,
                kind=delivery.kind,
                opened_at=now,
            )
        )
        .on_conflict(target=NotificationOpen.delivery_key, action="DO NOTHING")
        .returning(NotificationOpen.id)
    )
    return bool(rows)
