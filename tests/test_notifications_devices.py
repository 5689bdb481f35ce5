"""A shared device: it moves to another member only with a fresh subscription (new keys).

Sending another member's endpoint with its keys is refused (a copied subscription, or the
browser handing back the one already there); a fresh subscription re-binds the device, and
what was still queued for the first member is not delivered to the second.
"""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from litestar.testing import AsyncTestClient

from push import devices_of
from push.outbox import PushMessage, enqueue
from push.tables import PushDelivery, PushSubscription
from tests.factories import subscribe
from tests.helpers import csrf, sign_in
from tests.push_sink import FakeBrowser, PushSink

MESSAGE = PushMessage(title="Your reward is ready", body="Gift card: see the details in Relay.")


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    """This module's Relay may take subscriptions at the push sink on 127.0.0.1; no worker
    sends in the background, so what is queued stays queued while the test looks at it."""
    return {**env, "PUSH_ALLOWED_TEST_HOSTS": "127.0.0.1", "RELAY_EMBEDDED_WORKER": "off"}


def subscription_json(browser: FakeBrowser) -> dict[str, Any]:
    return {"endpoint": browser.endpoint, "keys": {"p256dh": browser.p256dh, "auth": browser.auth}}


def fresh_subscription(browser: FakeBrowser) -> FakeBrowser:
    """The same device subscribing again: its push service keeps the endpoint, new keys."""
    return FakeBrowser(browser.endpoint, ec.generate_private_key(ec.SECP256R1()), b"F" * 16)


async def bindings() -> list[tuple[int, str, bool]]:
    rows = await PushSubscription.select(
        PushSubscription.member, PushSubscription.p256dh, PushSubscription.active
    ).order_by(PushSubscription.id)
    return [(row["member"], row["p256dh"], row["active"]) for row in rows]


async def test_another_members_device_sent_with_its_keys_is_not_moved(
    client: AsyncTestClient,  # type: ignore[type-arg]
    push_sink: PushSink,
) -> None:
    phone = push_sink.new_browser()
    lea = await sign_in(client)
    opted = await client.post(
        "/push/subscriptions",
        json=subscription_json(phone),
        headers=await csrf(client, "/me", accept=None),
    )
    assert opted.status_code == 200, opted.text
    assert await enqueue(MESSAGE, kind="reward", member_ids=[lea.id]) == 1

    paul = await sign_in(client)
    headers = await csrf(client, "/me", accept=None)
    refused = await client.post(
        "/push/subscriptions", json=subscription_json(phone), headers=headers
    )
    assert refused.status_code == 409
    assert "already receives another member's notifications" in refused.json()["error"]
    # Nor through the device-move route, from a device of Paul's own.
    own = push_sink.new_browser()
    await subscribe(paul.id, own)
    moved = await client.post(
        "/push/subscriptions/change",
        json={"old_endpoint": own.endpoint, "subscription": subscription_json(phone)},
    )
    assert moved.status_code == 409, moved.text

    assert await bindings() == [(lea.id, phone.p256dh, True), (paul.id, own.p256dh, True)]
    [delivery] = await PushDelivery.select(PushDelivery.state)
    assert delivery["state"] == "pending"


async def test_a_fresh_subscription_on_a_shared_device_moves_it_to_the_new_member(
    client: AsyncTestClient,  # type: ignore[type-arg]
    push_sink: PushSink,
) -> None:
    phone = push_sink.new_browser()
    lea = await sign_in(client)
    await subscribe(lea.id, phone, "Shared tablet")
    assert await enqueue(MESSAGE, kind="reward", member_ids=[lea.id]) == 1

    paul = await sign_in(client)
    again = fresh_subscription(phone)
    opted = await client.post(
        "/push/subscriptions",
        json=subscription_json(again),
        headers=await csrf(client, "/me", accept=None),
    )
    assert opted.status_code == 200, opted.text

    assert await bindings() == [(paul.id, again.p256dh, True)]
    assert await devices_of(lea.id) == []
    # Léa's queued reward news will not reach Paul; from now on the device is Paul's.
    [delivery] = await PushDelivery.select(PushDelivery.state, PushDelivery.error)
    assert delivery == {"state": "pruned", "error": "the device moved to another member"}
    assert await enqueue(MESSAGE, kind="reward", member_ids=[lea.id]) == 0
    assert await enqueue(MESSAGE, kind="reward", member_ids=[paul.id]) == 1
