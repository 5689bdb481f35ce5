"""Single sign-on in Chromium: an admin adds the company's identity provider at a desk
(1280 px), then an invited member signs in with it on a phone (390 px) through the real
OpenID provider's page, and is offered a passkey. axe checks every page on the way."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from app.integrations import oidc
from tests.browser import check_accessibility, finish_phone, open_desk, open_phone
from tests.factories import make_member, session_cookie
from tests.identity_provider import IdentityProvider, needs_node

pytestmark = [pytest.mark.browser, needs_node]


def test_an_admin_adds_the_provider_and_an_invited_member_signs_in_with_it(
    browser: Browser, live_server: Any, seed: Any, identity_provider: IdentityProvider
) -> None:
    client_id, client_secret = identity_provider.register(live_server.url + oidc.CALLBACK_PATH)

    async def people() -> tuple[str, str]:
        await make_member(name="Léa Martin", email="lea.martin@example.com")
        return await session_cookie(await make_member(role="admin", name="Camille Laurent"))

    name, value = seed(people)
    desk = open_desk(browser, live_server.url)
    desk.context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
    try:
        desk.goto("/admin/sso")
        expect(desk.get_by_role("heading", name="Single sign-on", exact=True)).to_be_visible()
        expect(desk.get_by_text("No identity provider yet.")).to_be_visible()
        check_accessibility(desk)
        desk.get_by_label("Button label").fill("Acme")
        desk.get_by_label("Issuer URL").fill(identity_provider.issuer)
        desk.get_by_label("Client ID").fill(client_id)
        desk.get_by_label("Client secret").fill(client_secret)
        desk.get_by_label("Allowed email domains").fill("example.com")
        desk.get_by_role("button", name="Add and check the connection").click()
        expect(desk.get_by_role("heading", name="Acme")).to_be_visible()
        expect(desk.get_by_text("Working: checked")).to_be_visible()
        check_accessibility(desk)
    finally:
        finish_phone(desk)

    phone = open_phone(browser, live_server.url)
    try:
        phone.goto("/signin")
        check_accessibility(phone)
        phone.get_by_role("link", name="Sign in with Acme").click()
        # The identity provider's own page: the company account signs in there.
        expect(phone.get_by_role("heading", name="Test identity provider")).to_be_visible()
        check_accessibility(phone)
        phone.get_by_label("Account").fill("lea.martin@example.com")
        phone.get_by_role("button", name="Sign in").click()
        # Back in Relay, signed in, offered a passkey for next time.
        expect(phone.get_by_role("heading", name="You're signed in")).to_be_visible()
        expect(phone.get_by_role("button", name="Add a passkey")).to_be_visible()
        check_accessibility(phone)
        phone.get_by_role("link", name="Not now").click()
        phone.wait_for_url(f"{live_server.url}/")
        check_accessibility(phone)
        phone.goto("/me")
        expect(phone.get_by_text("Léa Martin").first).to_be_visible()
        check_accessibility(phone)
    finally:
        finish_phone(phone)
