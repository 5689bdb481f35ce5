"""The app shell in a real Chromium at phone size: languages, navigation, PWA, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import check_accessibility, finish_phone, open_phone
from tests.factories import make_member, session_cookie

pytestmark = pytest.mark.browser


async def _iphone_member_session() -> tuple[str, str]:
    member = await make_member(name="Tom Nguyen")
    return await session_cookie(member)


def test_an_employee_opens_relay_on_a_phone_and_sees_the_app_shell(
    member_phone: Page, tmp_path: Path
) -> None:
    phone = member_phone
    phone.goto("/")
    expect(phone).to_have_title("Feed · Relay")
    expect(phone.get_by_role("heading", name="Your feed")).to_be_visible()
    expect(phone.get_by_role("heading", name="Nothing to share yet")).to_be_visible()
    tabs = phone.get_by_role("navigation", name="Main")
    expect(tabs.get_by_role("link", name="Feed")).to_have_attribute("aria-current", "page")
    expect(tabs.get_by_role("link", name="Me", exact=True)).to_be_visible()
    # The tab bar sits at the bottom of a phone screen, like a native app's.
    box = tabs.bounding_box()
    assert box is not None and box["y"] + box["height"] == pytest.approx(844, abs=1)
    phone.screenshot(path=str(tmp_path / "shell-390x844.png"))
    check_accessibility(phone)


def test_a_french_speaking_phone_gets_relay_in_french(browser: Browser, live_server: Any) -> None:
    page = open_phone(browser, live_server.url, locale="fr-FR")
    try:
        page.goto("/signin")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect(page.get_by_role("button", name="Se connecter avec une clé d’accès")).to_be_visible()
        check_accessibility(page)
    finally:
        finish_phone(page)


def test_an_employee_switches_language_on_the_me_page(member_phone: Page) -> None:
    phone = member_phone
    phone.goto("/me")
    check_accessibility(phone)
    phone.get_by_label("Français").check()
    phone.get_by_role("button", name="Save language").click()
    expect(phone.get_by_role("button", name="Enregistrer la langue")).to_be_visible()
    expect(phone.locator("html")).to_have_attribute("lang", "fr")
    expect(phone.get_by_label("Français")).to_be_checked()
    check_accessibility(phone)


def test_tabs_swap_the_page_with_htmx_and_the_back_button_restores_it(member_phone: Page) -> None:
    phone = member_phone
    phone.goto("/")
    check_accessibility(phone)
    phone.evaluate("() => { window.stillTheSameDocument = true; }")
    with phone.expect_response(
        lambda r: r.url.endswith("/me") and r.request.header_value("hx-request") == "true"
    ):
        phone.get_by_role("link", name="Me", exact=True).click()
    expect(phone.get_by_role("heading", name="Me", exact=True)).to_be_visible()
    expect(phone).to_have_url(f"{phone.url.split('/me')[0]}/me")
    expect(phone).to_have_title("Me · Relay")
    assert phone.evaluate("() => window.stillTheSameDocument") is True
    check_accessibility(phone)

    with phone.expect_response(
        lambda r: r.request.header_value("hx-history-restore-request") == "true"
    ):
        phone.go_back()
    expect(phone.get_by_role("heading", name="Nothing to share yet")).to_be_visible()
    expect(phone.get_by_role("link", name="Feed")).to_have_attribute("aria-current", "page")
    assert phone.evaluate("() => window.stillTheSameDocument") is True


def test_relay_is_installable_and_offers_an_install_button(member_phone: Page) -> None:
    phone = member_phone
    phone.goto("/me")
    phone.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    cdp = phone.context.new_cdp_session(phone)
    manifest = cdp.send("Page.getAppManifest")
    assert not manifest.get("errors"), manifest.get("errors")
    assert manifest["url"].endswith("/manifest.webmanifest")
    installability = cdp.send("Page.getInstallabilityErrors")
    # Playwright's contexts are incognito, which Chromium reports itself; nothing else may be.
    errors = [e["errorId"] for e in installability["installabilityErrors"]]
    assert errors in ([], ["in-incognito"]), errors

    install = phone.get_by_role("button", name="Install Relay")
    expect(install).to_be_hidden()
    # Chromium fires beforeinstallprompt on its own schedule: hand the page one.
    phone.evaluate(
        """() => {
          const event = new Event("beforeinstallprompt", {cancelable: true});
          event.prompt = () => { window.promptShown = true; };
          event.userChoice = Promise.resolve({outcome: "accepted"});
          window.dispatchEvent(event);
        }"""
    )
    expect(install).to_be_visible()
    install.click()
    expect(install).to_be_hidden()
    assert phone.evaluate("() => window.promptShown") is True
    check_accessibility(phone)


def test_an_iphone_is_shown_how_to_add_relay_to_the_home_screen(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    iphone_ua = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"
    )
    page = open_phone(browser, live_server.url, user_agent=iphone_ua)
    name, value = seed(_iphone_member_session)
    page.context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
    try:
        page.goto("/me")
        expect(page.get_by_text("Choose “Add to Home Screen”, then “Add”.")).to_be_visible()
        check_accessibility(page)
    finally:
        finish_phone(page)


def test_pages_already_seen_work_offline_and_others_show_the_offline_page(
    member_phone: Page,
) -> None:
    phone = member_phone
    phone.goto("/")
    phone.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    phone.reload()  # now controlled by the service worker, which keeps what it shows
    assert phone.evaluate("() => navigator.serviceWorker.controller !== null")
    expect(phone.get_by_role("heading", name="Nothing to share yet")).to_be_visible()
    check_accessibility(phone)

    phone.context.set_offline(True)
    phone.goto("/me")
    expect(phone.get_by_role("heading", name="You are offline")).to_be_visible()
    check_accessibility(phone)

    phone.goto("/")
    expect(phone.get_by_role("heading", name="Nothing to share yet")).to_be_visible()
    phone.context.set_offline(False)
    check_accessibility(phone)
    # the failed network fetches of the offline navigation are expected in the console
    phone._relay_watch.expected_errors.append("net::ERR_INTERNET_DISCONNECTED")  # type: ignore[attr-defined]
