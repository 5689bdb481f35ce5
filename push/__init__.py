"""The push delivery engine: VAPID, payload encryption, sending, retries, pruning, the worker.

It knows nothing of pages and imports nothing of the app but ``app.core``; its errors carry
codes (``problem``) that the app words for people. The app uses what is exported here:

- subscriptions, one per device: :func:`save_subscription` / :func:`remove_subscription` when
  a browser opts in or out, :func:`renew_subscription` when it renews, :func:`devices_of`,
  :func:`set_device_active`, :func:`members_with_devices`; :func:`endpoint_refusal` tells
  which addresses Relay must not post to, :func:`application_server_key` what browsers
  subscribe with;
- the outbox: :func:`enqueue` writes deliveries (the one place that creates them),
  :func:`check_message` refuses what push cannot carry before anything is written;
  :func:`campaign_stats`, :func:`campaign_recipients` and :func:`delivery_with_key` report on
  them;
- :class:`PushWorker` drains the outbox (``relay worker``, or embedded in the app), with
  :func:`retry_delay` as its backoff.
"""

from push.addresses import Refusal, endpoint_refusal
from push.outbox import (
    KINDS,
    CampaignStats,
    DeliveryOrigin,
    MessageProblem,
    PushMessage,
    PushMessageError,
    campaign_recipients,
    campaign_stats,
    check_message,
    delivery_with_key,
    enqueue,
)
from push.subscriptions import (
    Device,
    DeviceOfAnotherMember,
    SubscriptionError,
    SubscriptionProblem,
    devices_of,
    members_with_devices,
    remove_subscription,
    renew_subscription,
    save_subscription,
    set_device_active,
)
from push.vapid import application_server_key
from push.worker import PushWorker, retry_delay

__all__ = [
    "KINDS",
    "CampaignStats",
    "DeliveryOrigin",
    "Device",
    "DeviceOfAnotherMember",
    "MessageProblem",
    "PushMessage",
    "PushMessageError",
    "PushWorker",
    "Refusal",
    "SubscriptionError",
    "SubscriptionProblem",
    "application_server_key",
    "campaign_recipients",
    "campaign_stats",
    "check_message",
    "delivery_with_key",
    "devices_of",
    "endpoint_refusal",
    "enqueue",
    "members_with_devices",
    "remove_subscription",
    "renew_subscription",
    "retry_delay",
    "save_subscription",
    "set_device_active",
]
