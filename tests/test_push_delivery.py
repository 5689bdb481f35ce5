"""Push delivery end to end in one process: enqueue, the worker sends, the push sink decrypts.

The worker is driven step by step with ``drain(now=…)`` so that backoff and Retry-After are
checked against the clock the worker was given, without waiting real seconds.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import http_ece
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from app.core.settings import Settings
from push.outbox import (
    CampaignStats,
    MessageProblem,
    PushMessage,
    PushMessageError,
    campaign_stats,
    enqueue,
    payload_json,
)
from push.sender import (
    MAX_ENCRYPTED_BYTES,
    MAX_PAYLOAD_BYTES,
    PushTarget,
    encrypt_payload,
    retry_after_seconds,
)
from push.subscriptions import remove_subscription
from push.tables import PushDelivery, PushSubscription
from push.vapid import VapidSigner
from push.worker import PushWorker
from tests.factories import make_member, subscribe
from tests.helpers import free_port
from tests.push_sink import Answer, FakeBrowser, PushSink, b64url, unb64url

MESSAGE = PushMessage(
    title="Nouvelle offre : développeuse backend",
    body="Lyon, CDI. Vous connaissez quelqu’un ? 500 € de prime de cooptation.",
    url="/offers/12",
    icon="/static/icons/icon-192.png",
    badge="/static/icons/icon-64.png",
    tag="offer-12",
)


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    """This module's Relay may post to the push sink on 127.0.0.1 (over http, any port),
    also by the name localhost (a second push service origin)."""
    return {**env, "PUSH_ALLOWED_TEST_HOSTS": "127.0.0.1,localhost"}


@pytest.fixture
async def push_worker(database: str, settings: Settings) -> AsyncIterator[PushWorker]:
    worker = PushWorker(settings)
    yield worker
    await worker.aclose()


async def deliveries() -> list[dict[str, Any]]:
    return await PushDelivery.select().order_by(PushDelivery.id)


async def delivery_to(browser: FakeBrowser) -> dict[str, Any]:
    row = (
        await PushDelivery.select()
        .where(PushDelivery.subscription.endpoint == browser.endpoint)
        .order_by(PushDelivery.id, ascending=False)
        .first()
    )
    assert row is not None
    return row


async def subscription_of(browser: FakeBrowser) -> dict[str, Any]:
    row = (
        await PushSubscription.select().where(PushSubscription.endpoint == browser.endpoint).first()
    )
    assert row is not None
    return row


async def test_a_message_reaches_each_device_encrypted_and_decrypts_to_what_was_sent(
    push_worker: PushWorker, push_sink: PushSink
) -> None:
    member = (await make_member()).id
    phone, laptop = push_sink.new_browser(), push_sink.new_browser()
    await subscribe(member, phone, "Pixel 8")
    await subscribe(member, laptop, "Firefox on Linux")

    queued = await enqueue(
        MESSAGE,
        kind="content",
        member_ids=[member],
        campaign_id=7,
        topic="offer-12",
        urgency="high",
        ttl=3600,
    )
    assert queued == 2
    assert await push_worker.drain() == 2

    assert push_sink.problems == []
    received = push_sink.accepted()
    assert sorted(r.endpoint for r in received) == sorted([phone.endpoint, laptop.endpoint])
    ids = set()
    for message in received:
        ids.add(message.payload.pop("id"))
        assert message.payload == {
            "title": MESSAGE.title,
            "body": MESSAGE.body,
            "url": "/offers/12",
            "icon": "/static/icons/icon-192.png",
            "badge": "/static/icons/icon-64.png",
            "tag": "offer-12",
        }
        assert message.headers["ttl"] == "3600"
        assert message.headers["urgency"] == "high"
        assert message.headers["topic"] == "offer-12"
        assert message.claims["sub"] == "mailto:relay-push@example.com"
    assert len(ids) == 2, "each delivery carries its own id"

    rows = await deliveries()
    assert {row["state"] for row in rows} == {"sent"}
    assert all(row["status_code"] == 201 and row["attempts"] == 1 for row in rows)
    assert {json.loads(row["payload"])["id"] for row in rows} == ids
    assert (await subscription_of(phone))["last_ok_at"] is not None
    assert await campaign_stats(7) == CampaignStats(
        targeted=2, sent=2, failed=0, pruned=0, pending=0
    )


def test_the_largest_payload_is_one_record_that_http_ece_decrypts_with_a_fresh_key_each_time() -> (
    None
):
    browser = FakeBrowser(
        "https://push.example.com/1",
        ec.generate_private_key(ec.SECP256R1()),
        secrets.token_bytes(16),
    )
    target = PushTarget(browser.endpoint, browser.p256dh, browser.auth)
    payload = ("é" * (MAX_PAYLOAD_BYTES // 2) + "!" * (MAX_PAYLOAD_BYTES % 2)).encode()

    first, second = encrypt_payload(payload, target), encrypt_payload(payload, target)

    assert len(first) == MAX_ENCRYPTED_BYTES
    for body in (first, second):
        assert (
            http_ece.decrypt(
                body,
                private_key=browser.private_key,
                auth_secret=browser.auth_secret,
                version="aes128gcm",
            )
            == payload
        )
    # A new salt (bytes 0-15) and a new ephemeral key (the key id, bytes 21-85) per message.
    assert first[:16] != second[:16] and first[21:86] != second[21:86]
    assert b64url(first[21:86]) != browser.p256dh


async def test_one_vapid_token_serves_every_message_to_the_same_push_service(
    push_worker: PushWorker, push_sink: PushSink
) -> None:
    member = (await make_member()).id
    # The same sink reached as 127.0.0.1 and as localhost: two origins, two audiences.
    for host in ["127.0.0.1", "127.0.0.1", "127.0.0.1", "localhost", "localhost"]:
        await subscribe(member, push_sink.new_browser(host))

    for _round in range(2):
        await enqueue(MESSAGE, kind="content", member_ids=[member])
        await push_worker.drain()

    assert push_sink.problems == []
    tokens: dict[str, set[str]] = {}
    for message in push_sink.accepted():
        tokens.setdefault(message.claims["aud"], set()).add(message.token)
    assert {aud: len(seen) for aud, seen in tokens.items()} == {
        f"http://127.0.0.1:{push_sink.port}": 1,
        f"http://localhost:{push_sink.port}": 1,
    }
    assert len(push_sink.accepted()) == 10


def test_vapid_tokens_last_twelve_hours_and_are_renewed_an_hour_before_they_expire() -> None:
    clock = [1_800_000_000.0]
    signer = VapidSigner(
        ec.generate_private_key(ec.SECP256R1()), "mailto:ops@example.com", lambda: clock[0]
    )

    def token_for(endpoint: str) -> tuple[str, dict[str, Any]]:
        token = signer.authorization(endpoint).split("t=")[1].split(",")[0]
        return token, json.loads(unb64url(token.split(".")[1]))

    first, claims = token_for("https://fcm.googleapis.com/fcm/send/abc")
    assert claims["exp"] - clock[0] == 12 * 3600 <= 24 * 3600
    assert claims["aud"] == "https://fcm.googleapis.com"
    clock[0] += 10 * 3600
    assert token_for("https://fcm.googleapis.com/fcm/send/other")[0] == first
    assert token_for("https://web.push.apple.com/QAbc")[0] != first
    clock[0] += 3600
    renewed, renewed_claims = token_for("https://fcm.googleapis.com/fcm/send/abc")
    assert renewed != first and renewed_claims["exp"] == clock[0] + 12 * 3600


async def test_a_subscription_the_push_service_says_is_gone_is_pruned(
    push_worker: PushWorker, push_sink: PushSink
) -> None:
    member = (await make_member()).id
    old_phone, laptop = push_sink.new_browser(), push_sink.new_browser()
    await subscribe(member, old_phone)
    await subscribe(member, laptop)
    push_sink.answer(old_phone.endpoint, Answer(410))

    await enqueue(MESSAGE, kind="campaign", campaign_id=3, member_ids=[member])
    await push_worker.drain()

    gone = await delivery_to(old_phone)
    assert (gone["state"], gone["status_code"]) == ("pruned", 410)
    assert (await subscription_of(old_phone))["active"] is False
    assert (await delivery_to(laptop))["state"] == "sent"
    assert await campaign_stats(3) == CampaignStats(
        targeted=2, sent=1, failed=0, pruned=1, pending=0
    )

    # The next message goes to the devices that are left only.
    assert await enqueue(MESSAGE, kind="campaign", campaign_id=4, member_ids=[member]) == 1
    await push_worker.drain()
    assert len(push_sink.requests_to(old_phone.endpoint)) == 1


async def test_a_device_that_unsubscribed_gets_nothing_already_queued_for_it(
    push_worker: PushWorker, push_sink: PushSink
) -> None:
    member = (await make_member()).id
    phone = push_sink.new_browser()
    await subscribe(member, phone)
    await enqueue(MESSAGE, kind="reward", member_ids=[member])

    assert await remove_subscription(member, phone.endpoint)
    await push_worker.drain()

    assert (await delivery_to(phone))["state"] == "pruned"
    assert push_sink.requests_to(phone.endpoint) == []


async def test_a_rate_limited_message_waits_for_retry_after_then_is_delivered(
    push_worker: PushWorker, push_sink: PushSink
) -> None:
    member = (await make_member()).id
    phone = push_sink.new_browser()
    await subscribe(member, phone)
    push_sink.answer(phone.endpoint, Answer(429, {"Retry-After": "120"}))
    t0 = datetime.now(UTC)

    await enqueue(MESSAGE, kind="content", member_ids=[member], now=t0)
    assert await push_worker.drain(now=t0) == 1
    waiting = await delivery_to(phone)
    assert (waiting["state"], waiting["attempts"], waiting["status_code"]) == ("pending", 1, 429)
    assert waiting["next_attempt_at"] == t0 + timedelta(seconds=120)

    assert await push_worker.drain(now=t0 + timedelta(seconds=119)) == 0
    assert await push_worker.drain(now=t0 + timedelta(seconds=120)) == 1
    sent = await delivery_to(phone)
    assert (sent["state"], sent["attempts"], sent["status_code"]) == ("sent", 2, 201)
    assert [r.status for r in push_sink.requests_to(phone.endpoint)] == [429, 201]


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("90", now) == 90
    assert retry_after_seconds("Thu, 26 Nov 2026 12:05:00 GMT", now) == 300
    assert retry_after_seconds("Thu, 26 Nov 2026 11:00:00 GMT", now) == 0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


async def test_server_errors_are_retried_with_growing_delays_then_fail(
    database: str, settings: Settings, push_sink: PushSink
) -> None:
    worker = PushWorker(replace(settings, push_max_attempts=3))
    member = (await make_member()).id
    phone = push_sink.new_browser()
    await subscribe(member, phone)
    push_sink.answer(phone.endpoint, Answer(500), Answer(503), Answer(500))
    t0 = datetime.now(UTC)
    await enqueue(MESSAGE, kind="campaign", campaign_id=9, member_ids=[member], now=t0)

    await worker.drain(now=t0)
    first = await delivery_to(phone)
    assert (first["state"], first["attempts"]) == ("pending", 1)
    assert first["next_attempt_at"] == t0 + timedelta(seconds=30)

    t1 = t0 + timedelta(seconds=30)
    assert await worker.drain(now=t1 - timedelta(seconds=1)) == 0
    await worker.drain(now=t1)
    second = await delivery_to(phone)
    assert (second["state"], second["attempts"], second["status_code"]) == ("pending", 2, 503)
    assert second["next_attempt_at"] == t1 + timedelta(seconds=60)

    await worker.drain(now=t1 + timedelta(seconds=60))
    last = await delivery_to(phone)
    assert (last["state"], last["attempts"], last["status_code"]) == ("failed", 3, 500)
    assert await worker.drain(now=t0 + timedelta(days=1)) == 0
    assert len(push_sink.requests_to(phone.endpoint)) == 3
    assert (await subscription_of(phone))["failures"] == 3
    assert (await campaign_stats(9)).failed == 1
    await worker.aclose()


async def test_a_push_service_that_cannot_be_reached_is_tried_again_later(
    push_worker: PushWorker, push_sink: PushSink
) -> None:
    member = (await make_member()).id
    nowhere = FakeBrowser(
        f"http://127.0.0.1:{free_port()}/push/closed",
        ec.generate_private_key(ec.SECP256R1()),
        b"0123456789abcdef",
    )
    await subscribe(member, nowhere)
    t0 = datetime.now(UTC)
    await enqueue(MESSAGE, kind="test", member_ids=[member], now=t0)
    await push_worker.drain(now=t0)
    row = await delivery_to(nowhere)
    assert (row["state"], row["attempts"], row["status_code"]) == ("pending", 1, None)
    assert "ConnectorError" in row["error"]
    assert row["next_attempt_at"] == t0 + timedelta(seconds=30)


async def test_a_message_the_push_service_finds_too_large_fails_without_retry(
    push_worker: PushWorker, push_sink: PushSink
) -> None:
    member = (await make_member()).id
    phone = push_sink.new_browser()
    await subscribe(member, phone)
    push_sink.answer(phone.endpoint, Answer(413))
    t0 = datetime.now(UTC)
    await enqueue(MESSAGE, kind="content", member_ids=[member], now=t0)

    await push_worker.drain(now=t0)
    row = await delivery_to(phone)
    assert (row["state"], row["attempts"], row["status_code"]) == ("failed", 1, 413)
    assert await push_worker.drain(now=t0 + timedelta(days=1)) == 0
    assert len(push_sink.requests_to(phone.endpoint)) == 1


async def test_a_message_too_long_for_push_is_refused_before_anything_is_queued(
    push_worker: PushWorker, push_sink: PushSink
) -> None:
    member = (await make_member()).id
    phone = push_sink.new_browser()
    await subscribe(member, phone)

    too_long = replace(MESSAGE, body="é" * 2000)
    with pytest.raises(PushMessageError) as refused:
        await enqueue(too_long, kind="campaign", member_ids=[member])
    assert refused.value.problem is MessageProblem.too_long and refused.value.excess > 0
    assert await deliveries() == []

    # Exactly at the limit it goes, and the encrypted body is exactly 4096 bytes.
    room = MAX_PAYLOAD_BYTES - len(payload_json(replace(MESSAGE, body=""), "0" * 32).encode())
    at_limit = replace(MESSAGE, body="x" * room)
    assert await enqueue(at_limit, kind="campaign", member_ids=[member]) == 1
    await push_worker.drain()
    assert push_sink.problems == []
    [received] = push_sink.accepted()
    assert received.body_size == 4096 and received.payload["body"] == at_limit.body


async def test_enqueue_refuses_what_push_services_would_refuse(database: str) -> None:
    member = (await make_member()).id
    with pytest.raises(ValueError, match="unknown push kind"):
        await enqueue(MESSAGE, kind="spam", member_ids=[member])
    with pytest.raises(ValueError, match="topic"):
        await enqueue(MESSAGE, kind="content", member_ids=[member], topic="not a topic!")
    with pytest.raises(ValueError, match="urgency"):
        await enqueue(MESSAGE, kind="content", member_ids=[member], urgency="urgent")
    with pytest.raises(PushMessageError) as refused:
        await enqueue(replace(MESSAGE, title="  "), kind="content", member_ids=[member])
    assert refused.value.problem is MessageProblem.no_title
    assert await enqueue(MESSAGE, kind="content", member_ids=[member]) == 0


async def test_a_running_worker_wakes_up_as_soon_as_a_message_is_queued(
    database: str, settings: Settings, push_sink: PushSink
) -> None:
    member = (await make_member()).id
    phone = push_sink.new_browser()
    await subscribe(member, phone)
    # A poll interval far beyond the wait below: only the wake-up can deliver in time.
    worker = PushWorker(settings, poll_interval_s=3600)
    await worker.start()
    try:
        await enqueue(MESSAGE, kind="test", member_ids=[member])
        await asyncio.to_thread(push_sink.wait_for, lambda: len(push_sink.accepted_ids) == 1, 20)
    finally:
        await worker.stop()
    assert (await delivery_to(phone))["state"] == "sent"
