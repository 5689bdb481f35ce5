"""A French member on a phone while the database is down: a notice, then a 503 page they can
read (axe-core), then Relay again once it is back."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import check_accessibility, finish_phone, open_phone
from tests.conftest import LiveServer
from tests.database_outage import DatabaseOutage


@pytest.fixture
def env(env: dict[str, str], outage: DatabaseOutage) -> dict[str, str]:
    return {**env, **outage.env}


@pytest.fixture
def french_phone(browser: Browser, live_server: LiveServer, seed: Any) -> Iterator[Page]:
    from tests.factories import make_member, session_cookie

    async def make():  # type: ignore[no-untyped-def]
        member = await make_member(name="Chloé Martin", language="fr")
        return await session_cookie(member)

    name, value = seed(make)
    page = open_phone(browser, live_server.url, locale="fr-FR")
    page.context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
    # Chromium and htmx log each 503 as an error: they are what this test asserts.
    page._relay_watch.expected_errors += ["status of 503", "Error Code 503"]  # type: ignore[attr-defined]
    yield page
    finish_phone(page)


def test_a_member_sees_in_french_that_relay_is_unavailable_then_carries_on(
    french_phone: Page, outage: DatabaseOutage
) -> None:
    phone = french_phone
    phone.goto("/me")
    check_accessibility(phone)

    outage.begin()
    # An htmx form: no page to swap in, the notice says it in the live region.
    phone.get_by_role("button", name="Enregistrer la langue").click()
    toast = phone.locator("#toast")
    expect(toast).to_be_visible()
    expect(toast).to_contain_text("Relay est momentanément indisponible")
    check_accessibility(phone)

    # A plain form: the whole page says so.
    phone.get_by_role("button", name="Se déconnecter").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text(
        "Relay est momentanément indisponible"
    )
    expect(phone.locator("main")).to_contain_text("Réessayez dans une minute")
    assert phone.evaluate("document.documentElement.lang") == "fr"
    check_accessibility(phone)

    outage.end()
    phone.get_by_role("link", name="Retour au fil").click()
    expect(phone).to_have_url(re.compile(r"/$"))
    expect(phone.get_by_role("heading", level=1)).not_to_have_text(
        "Relay est momentanément indisponible"
    )
    check_accessibility(phone)
