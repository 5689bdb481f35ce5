"""Outbound webhooks (Standard Webhooks): an admin adds an endpoint, Relay tells it of
candidates created, moved and hired and of offers shared; a local receiver verifies each
request with the ``standardwebhooks`` reference library. Deliveries go through a durable
outbox: a receiver failing twice gets the message once on the third attempt, one that never
accepts sees it given up, and the admin's page shows both."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
from litestar.testing import AsyncTestClient

from app.accounts.tables import AuditEvent
from app.candidates.pipeline import move
from app.candidates.tables import Candidate
from app.core.clock import now
from app.core.settings import Settings
from app.integrations import webhooks
from app.integrations.tables import WebhookDelivery, WebhookEndpoint
from app.sharing import service as sharing
from tests.factories import make_item, make_member
from tests.helpers import GOOD, HTML, apply, form_token, sign_in
from tests.webhook_receiver import WebhookReceiver

Client = AsyncTestClient  # type: ignore[type-arg]


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    """Relay allowing the local receiver (WEBHOOK_ALLOWED_TEST_HOSTS), without its embedded
    sender: each test sends when it says so, at the moment it says."""
    return Settings.from_env(
        {**env, "WEBHOOK_ALLOWED_TEST_HOSTS": "127.0.0.1", "RELAY_EMBEDDED_WORKER": "off"}
    )


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as running:
        yield running


async def add_endpoint(client: Client, url: str) -> tuple[int, str]:
    """The admin adds an endpoint on the page and copies the secret it shows once."""
    page = await client.get("/admin/api", headers=HTML)
    added = await client.post(
        "/admin/api/webhooks",
        data={"_csrf_token": form_token(page.text), "url": url, "description": "Our ATS"},
        headers=HTML,
    )
    assert added.status_code == 200, added.text
    assert added.headers["cache-control"] == "no-store"
    match = re.search(r'value="(whsec_[^"]+)" data-webhook-secret', added.text)
    assert match, "the secret is shown once"
    row = (
        await WebhookEndpoint.select(WebhookEndpoint.id, WebhookEndpoint.sealed_secret)
        .where(WebhookEndpoint.url == url)
        .first()
    )
    assert row is not None
    secret = match.group(1)
    # Kept sealed: the database alone does not give the secret away.
    assert (
        secret not in row["sealed_secret"]
        and secret.removeprefix("whsec_") not in row["sealed_secret"]
    )
    return int(row["id"]), secret


async def test_the_receiver_is_told_of_candidates_and_shares_signed(
    client: Client, settings: Settings, receiver: WebhookReceiver
) -> None:
    await sign_in(client, "admin")
    route = receiver.route("ats")
    _id, route.secret = await add_endpoint(client, receiver.url("ats"))
    assert "whsec_" not in (await client.get("/admin/api", headers=HTML)).text
    client.cookies.clear()

    sharer = await make_member(name="Léa Martin")
    item_id = await make_item("offer", "Data engineer")
    code = await sharing.link_code(sharer.id, item_id)
    assert (await sharing.record_share(sharer.id, item_id, "linkedin")) is True
    assert (await apply(client, code, {**GOOD, "notes": ""})).status_code == 200
    candidate = await Candidate.select(Candidate.id).first()
    assert candidate is not None
    editor = await make_member(role="editor")
    await move(int(candidate["id"]), "hired", editor.id)

    assert await webhooks.deliver_due(settings) == 4
    assert route.refused == []
    types = sorted(payload["type"] for _id, payload in route.delivered)  # sent concurrently
    assert types == [
        "candidate.created",
        "candidate.hired",
        "candidate.stage_changed",
        "offer.shared",
    ]
    by_type = {payload["type"]: payload for _id, payload in route.delivered}
    assert by_type["offer.shared"]["data"] == {
        "offer": {"id": item_id, "external_id": None},
        "network": "linkedin",
    }
    assert by_type["candidate.hired"]["data"]["candidate"] == {"id": candidate["id"]}
    assert by_type["candidate.hired"]["data"]["stage"] == "hired"
    assert by_type["candidate.stage_changed"]["data"]["previous_stage"] == "new"
    # Thin events: no one's name or email leaves in a webhook.
    assert GOOD["email"].lower() not in str(route.delivered)
    assert len({message_id for message_id, _payload in route.delivered}) == 4


async def test_a_receiver_failing_twice_gets_the_message_once(
    client: Client, settings: Settings, receiver: WebhookReceiver
) -> None:
    await sign_in(client, "admin")
    route = receiver.route("flaky", fail=2)
    _id, route.secret = await add_endpoint(client, receiver.url("flaky"))
    item_id = await make_item("offer", "Data engineer")
    sharer = await make_member()
    await sharing.record_share(sharer.id, item_id, "x")

    start = now()
    assert await webhooks.deliver_due(settings, start) == 1
    assert await webhooks.deliver_due(settings, start + timedelta(seconds=10)) == 0  # backoff
    assert await webhooks.deliver_due(settings, start + timedelta(seconds=31)) == 1
    row = await WebhookDelivery.select().first()
    assert row is not None and row["state"] == "pending" and row["attempts"] == 2
    assert row["last_status"] == 500 and row["last_answer"] == "receiver is down"
    assert await webhooks.deliver_due(settings, start + timedelta(seconds=92)) == 1
    assert await webhooks.deliver_due(settings, start + timedelta(hours=2)) == 0
    assert len(route.attempts) == 3 and len(set(route.attempts)) == 1  # one webhook-id
    assert len(route.delivered) == 1 and route.refused == []
    row = await WebhookDelivery.select().first()
    assert row is not None and row["state"] == "delivered" and row["last_status"] == 204
    page = await client.get("/admin/api", headers=HTML)
    assert "Delivered" in page.text and "3 attempts" in page.text


async def test_a_receiver_that_never_accepts_is_given_up_and_the_admin_sees_it(
    client: Client, settings: Settings, receiver: WebhookReceiver
) -> None:
    await sign_in(client, "admin")
    route = receiver.route("down", fail=-1)
    _id, route.secret = await add_endpoint(client, receiver.url("down"))
    item_id = await make_item("offer", "Data engineer")
    sharer = await make_member()
    await sharing.record_share(sharer.id, item_id, "x")

    at = now()
    for _ in range(webhooks.MAX_ATTEMPTS + 2):
        await webhooks.deliver_due(settings, at)
        at += timedelta(hours=2)
    assert len(route.attempts) == webhooks.MAX_ATTEMPTS and route.delivered == []
    row = await WebhookDelivery.select().first()
    assert row is not None and row["state"] == "failed"
    page = await client.get("/admin/api", headers=HTML)
    assert "Given up" in page.text and "500 receiver is down" in page.text
    assert f"{webhooks.MAX_ATTEMPTS} attempts" in page.text


async def test_only_https_public_addresses_are_accepted(client: Client, settings: Settings) -> None:
    await sign_in(client, "admin")
    page = await client.get("/admin/api", headers=HTML)
    token = form_token(page.text)
    for url in [
        "http://ats.example.com/hooks",
        "https://10.0.0.1/hooks",
        "https://localhost/hooks",
        "https://ats.internal/hooks",
        "https://ats.example.com:8443/hooks",
        "not a url",
    ]:
        refused = await client.post(
            "/admin/api/webhooks", data={"_csrf_token": token, "url": url}, headers=HTML
        )
        assert refused.status_code == 422, url
        assert 'aria-invalid="true"' in refused.text
    assert await WebhookEndpoint.count() == 0
    # On a real host, a test host is refused like any private address.
    strict = replace(settings, webhook_allowed_test_hosts=())
    assert webhooks.check_endpoint({"url": "http://127.0.0.1:9/x"}, strict).ok is False
    assert webhooks.check_endpoint({"url": "https://hooks.ats.com/relay"}, strict).ok is True


async def test_removing_an_endpoint_stops_its_deliveries(
    client: Client, settings: Settings, receiver: WebhookReceiver
) -> None:
    admin = await sign_in(client, "admin")
    route = receiver.route("gone", fail=-1)
    endpoint_id, route.secret = await add_endpoint(client, receiver.url("gone"))
    item_id = await make_item("offer", "Data engineer")
    await sharing.record_share(admin.id, item_id, "x")
    page = await client.get("/admin/api", headers=HTML)
    removed = await client.post(
        f"/admin/api/webhooks/{endpoint_id}/remove",
        data={"_csrf_token": form_token(page.text)},
        headers=HTML,
    )
    assert removed.status_code == 200 and "Endpoint removed" in removed.text
    assert await webhooks.deliver_due(settings) == 0 and route.attempts == []
    await sharing.record_share(admin.id, item_id, "facebook")
    assert await WebhookDelivery.count() == 1  # nothing queued for a removed endpoint
    actions = await AuditEvent.select(AuditEvent.action).where(
        AuditEvent.action.like("webhook_endpoint_%")
    )
    assert {a["action"] for a in actions} == {"webhook_endpoint_added", "webhook_endpoint_removed"}
