"""The admin's "API and webhooks" page in Chromium, at 390 px then 1280 px: an API token for
the ATS is made and shown once, a webhook endpoint is added (its secret shown once), the ATS
moves a candidate through the API and the page shows the signed delivery the receiver took."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from app.candidates.tables import Candidate
from app.core.clock import now
from app.integrations.tables import WebhookDelivery
from tests.browser import check_accessibility, finish_phone, phone_as
from tests.factories import make_item, make_member
from tests.helpers import eventually
from tests.webhook_receiver import ThreadedReceiver

pytestmark = pytest.mark.browser


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    """The live server may post to the local receiver (a test-only setting), and sends its
    webhooks itself (the embedded default, off by default on PostgreSQL)."""
    return {**env, "WEBHOOK_ALLOWED_TEST_HOSTS": "127.0.0.1", "RELAY_EMBEDDED_WORKER": "on"}


async def _candidate() -> int:
    sharer = await make_member(name="Léa Martin")
    item_id = await make_item("offer", "Data engineer")
    rows = await Candidate.insert(
        Candidate(kind="application", item=item_id, referrer=sharer.id, name="Jeanne Durand",
                  email="jeanne@example.com", consent_at=now())
    ).returning(Candidate.id)  # fmt: skip
    return int(rows[0]["id"])


async def _delivered() -> int:
    return await WebhookDelivery.count().where(WebhookDelivery.state == "delivered")


def test_an_admin_connects_the_ats_and_sees_its_webhook_deliveries(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    candidate_id = seed(_candidate)
    phone = phone_as(browser, live_server, seed, role="admin", name="Camille Laurent")
    with ThreadedReceiver() as receiver:
        route = receiver.route("ats")
        try:
            phone.goto("/admin/api")
            expect(phone.get_by_role("heading", name="API and webhooks", level=1)).to_be_visible()
            expect(phone.get_by_text("No token yet.")).to_be_visible()
            check_accessibility(phone)

            phone.get_by_role("textbox", name="System").fill("Teamtailor")
            phone.get_by_role("button", name="Create the token").click()
            expect(phone.get_by_text("Choose at least one thing the token may do.")).to_be_visible()
            check_accessibility(phone)
            phone.get_by_role("checkbox", name="candidates:write").check()
            phone.get_by_role("button", name="Create the token").click()
            expect(phone.get_by_role("heading", name="Token for Teamtailor")).to_be_visible()
            token = phone.get_by_label("Token", exact=True).input_value()
            assert token.startswith("relay_api_")
            check_accessibility(phone)

            phone.get_by_role("textbox", name="Address (https)").fill("http://10.0.0.8/hooks")
            phone.get_by_role("button", name="Add the endpoint").click()
            expect(phone.get_by_text("The address must start with https://.")).to_be_visible()
            phone.get_by_role("textbox", name="Address (https)").fill(receiver.url("ats"))
            phone.get_by_role("button", name="Add the endpoint").click()
            secret = phone.get_by_role("textbox", name="Signing secret").input_value()
            assert secret.startswith("whsec_")
            route.secret = secret
            expect(phone.get_by_text("Nothing sent yet.")).to_be_visible()
            check_accessibility(phone)

            # The ATS hires the candidate; Relay tells the receiver, signed.
            moved = httpx.put(
                f"{live_server.url}/api/v1/candidates/{candidate_id}/stage",
                json={"stage": "hired"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert moved.status_code == 200, moved.text
            eventually(lambda: len(route.delivered) == 2)
            assert route.refused == []
            assert {p["type"] for _id, p in route.delivered} == {
                "candidate.stage_changed",
                "candidate.hired",
            }
            # The server records each answer once its request is over: then the page says so.
            eventually(lambda: seed(_delivered) == 2)
            phone.goto("/admin/api")
            expect(phone.get_by_text("candidate.hired", exact=True)).to_be_visible()
            expect(phone.get_by_text("Delivered").first).to_be_visible()
            assert secret not in phone.content() and token not in phone.content()
            check_accessibility(phone)

            phone.set_viewport_size({"width": 1280, "height": 900})
            expect(phone.get_by_role("button", name="Add the endpoint")).to_be_visible()
            check_accessibility(phone)
        finally:
            finish_phone(phone)
