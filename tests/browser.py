"""Chromium, driven by Playwright, at phone size (or a desk's); every page visited is checked
by axe-core.

Each test's page records the pages it visits; when the test ends, the page it is on is
checked, and any page visited but never checked fails the test, as do console errors
(a CSP violation is one) and uncaught page errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import axe_playwright_python
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from app.accounts.tables import Member
from tests.factories import make_member, session_cookie

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}
ANDROID_UA = (
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Mobile Safari/537.36"
)
AXE_SOURCE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
BLOCKING_IMPACTS = {"serious", "critical"}
# Web Share in a test page: records what was shared; `window.__shareMode = "cancel"` cancels.
SHARE_STUB = """
window.__shared = [];
window.__calls = 0;
window.__shareMode = "complete";
navigator.share = async (data) => {
  window.__calls += 1;
  if (window.__shareMode === "cancel") throw new DOMException("Share canceled", "AbortError");
  window.__shared.push({title: data.title, text: data.text, url: data.url});
};
navigator.canShare = () => false;
"""
EXPECTED_STATUS = re.compile(
    r"Failed to load resource: the server responded with a status of 4(00|04|22|28|29)"
)


@dataclass
class PageWatch:
    visited: set[str] = field(default_factory=set)
    checked: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    expected_errors: list[str] = field(default_factory=list)


def page_key(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def check_accessibility(page: Page) -> None:
    """Run axe-core on the page as it is now; fail on serious or critical violations."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)
    result: dict[str, Any] = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    blocking = [v for v in result["violations"] if v.get("impact") in BLOCKING_IMPACTS]
    described = "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in blocking
    )
    assert not blocking, f"Accessibility violations on {page.url}:\n{described}"
    watch: PageWatch | None = getattr(page, "_relay_watch", None)
    if watch is not None:
        watch.checked.add(page_key(page.url))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module: Playwright's sync API keeps an event loop running
    while it is open, which async tests in other modules must not find."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def open_phone(browser: Browser, base_url: str, locale: str = "en-GB", **options: Any) -> Page:
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale=locale,
        base_url=base_url,
        **{"user_agent": ANDROID_UA, **options},
    )
    return watched(context.new_page())


def open_desk(browser: Browser, base_url: str, locale: str = "en-GB") -> Page:
    """A desktop browser window (1280 × 900, a mouse, no touch), watched as a phone is."""
    context = browser.new_context(viewport=DESK, locale=locale, base_url=base_url)
    return watched(context.new_page())


def watched(page: Page) -> Page:
    """Record the pages ``page`` visits and its console errors, for finish_phone."""
    watch = PageWatch()
    page._relay_watch = watch  # type: ignore[attr-defined]

    def on_navigate(frame: Any) -> None:
        if frame == page.main_frame and frame.url.startswith("http"):
            watch.visited.add(page_key(frame.url))

    def on_console(message: ConsoleMessage) -> None:
        # A 4xx the app answers on purpose (a refused form, an unknown link) is logged by
        # Chromium as an error too; those are asserted by the tests themselves.
        if message.type == "error" and not EXPECTED_STATUS.search(message.text):
            watch.errors.append(message.text)

    page.on("framenavigated", on_navigate)
    page.on("console", on_console)
    page.on("pageerror", lambda error: watch.errors.append(str(error)))
    return page


def phone_as(browser: Browser, live_server: Any, seed: Any, **member: Any) -> Page:
    """A phone signed in as a new member (``member``: make_member's fields)."""

    async def make() -> tuple[str, str]:
        return await session_cookie(await make_member(**member))

    name, value = seed(make)
    page = open_phone(browser, live_server.url)
    page.context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
    return page


def phone_as_member(browser: Browser, live_server: Any, seed: Any, member_id: int) -> Page:
    """A phone signed in as an existing member."""

    async def cookie() -> tuple[str, str]:
        member = await Member.objects().where(Member.id == member_id).first()
        assert member is not None
        return await session_cookie(member)

    name, value = seed(cookie)
    page = open_phone(browser, live_server.url)
    page.context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
    return page


def finish_phone(page: Page) -> None:
    watch: PageWatch = page._relay_watch  # type: ignore[attr-defined]
    try:
        if not page.is_closed() and page.url.startswith("http"):
            check_accessibility(page)
        unchecked = watch.visited - watch.checked
        assert not unchecked, f"Pages visited but not checked by axe: {sorted(unchecked)}"
        unexpected = [e for e in watch.errors if not any(x in e for x in watch.expected_errors)]
        assert not unexpected, f"Console errors: {unexpected}"
    finally:
        page.context.close()


@pytest.fixture
def phone(browser: Browser, live_server: Any) -> Iterator[Page]:
    """A phone-sized Chromium page on the live server, in English."""
    page = open_phone(browser, live_server.url)
    yield page
    finish_phone(page)
