"""What a new member trips on at phone size, fixed (issue 18, "Awkward"): each test is what
the person now sees at 390×844, then a look at the same page at a desk (1280 px), with
axe-core on both."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from app.points import ledger
from tests.browser import check_accessibility, finish_phone, open_phone
from tests.factories import make_item, make_member, make_team, session_cookie

pytestmark = pytest.mark.browser

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"
)
DESK = {"width": 1280, "height": 900}


def at_desk(page: Page) -> None:
    """The page as it is now, at 1280 px: nothing wider than the window, axe-core clean."""
    page.set_viewport_size(DESK)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= DESK["width"]
    check_accessibility(page)
    page.set_viewport_size({"width": 390, "height": 844})


def signed_in(
    browser: Browser, live_server: Any, seed: Any, language: str = "en", **options: Any
) -> Page:
    """A phone signed in as a new employee, Zoé Martin (``options``: open_phone's)."""

    async def make() -> tuple[str, str]:
        return await session_cookie(await make_member(name="Zoé Martin", language=language))

    name, value = seed(make)
    page = open_phone(browser, live_server.url, **options)
    page.context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
    return page


def test_a_new_member_is_welcomed_once_after_enrolment_on_an_iphone(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    phone = signed_in(browser, live_server, seed, user_agent=IPHONE_SAFARI)
    try:
        phone.goto("/?welcome=1")
        welcome = phone.get_by_role("region", name="Welcome to Relay, Zoé")
        expect(welcome).to_be_visible()
        expect(welcome).to_contain_text("2 points for each share")
        expect(welcome).to_contain_text("500 points when someone you brought in is hired")
        # Notifications, then installing: on an iPhone the Home Screen guide is open.
        expect(
            phone.get_by_role("button", name="Tell me about new offers and my rewards")
        ).to_be_visible()
        expect(phone.get_by_text("Open Relay in Safari.")).to_be_visible()
        check_accessibility(phone)
        at_desk(phone)

        phone.get_by_role("link", name="Got it, show me the feed").click()
        expect(phone.get_by_role("heading", name="Welcome to Relay, Zoé")).to_have_count(0)
        expect(phone.get_by_role("heading", name="Your feed")).to_be_visible()
        expect(phone).to_have_url(f"{live_server.url}/")
        check_accessibility(phone)

        # Shown once: the enrolment address again is the plain feed.
        phone.goto("/?welcome=1")
        expect(phone.get_by_role("heading", name="Your feed")).to_be_visible()
        expect(phone.get_by_role("heading", name="Welcome to Relay, Zoé")).to_have_count(0)
        check_accessibility(phone)
    finally:
        finish_phone(phone)


def test_the_welcome_on_an_android_phone_offers_notifications_and_no_ios_guide(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    phone = signed_in(browser, live_server, seed, language="fr", locale="fr-FR")
    try:
        phone.goto("/?welcome=1")
        expect(phone.get_by_role("heading", name="Bienvenue sur Relay, Zoé")).to_be_visible()
        expect(phone.get_by_text("Ouvrez Relay dans Safari.")).to_be_hidden()
        check_accessibility(phone)
    finally:
        finish_phone(phone)


def test_a_feed_card_keeps_the_list_items_of_its_story_apart(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    async def story() -> None:
        await make_item(
            title="Our 2027 kick-off",
            body="We met to plan 2027.\n\n- Workshops on our product roadmap\n- A hike",
        )

    seed(story)
    phone = signed_in(browser, live_server, seed)
    try:
        phone.goto("/")
        card = phone.get_by_role("article", name="Our 2027 kick-off")
        expect(card.locator(".feed-card__excerpt")).to_have_text(
            "We met to plan 2027. Workshops on our product roadmap · A hike"
        )
        check_accessibility(phone)
        at_desk(phone)
    finally:
        finish_phone(phone)


def test_the_team_ranking_shows_points_per_member_as_people_write_them(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    async def teams() -> tuple[str, str]:
        sales, support = await make_team("Sales"), await make_team("Support")
        for n, points in enumerate((271, 271)):
            await ledger.credit((await make_member(team=sales)).id, points, "share", f"s{n}")
        for n, points in enumerate((271, 272)):
            await ledger.credit((await make_member(team=support)).id, points, "share", f"u{n}")
        return await session_cookie(await make_member(language="fr"))

    name, value = seed(teams)
    phone = open_phone(browser, live_server.url, locale="fr-FR")
    phone.context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
    try:
        phone.goto("/leaderboard?scope=teams&by=average")
        ranking = phone.locator(".board")
        expect(ranking).to_contain_text("271 par membre")
        expect(ranking).to_contain_text("271,5 par membre")
        expect(ranking).not_to_contain_text("271,0")
        check_accessibility(phone)
        at_desk(phone)
    finally:
        finish_phone(phone)
