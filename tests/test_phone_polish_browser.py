"""What a new member trips on at phone size, fixed (issue 18, "Awkward"): each test is what
the person now sees at 390×844, then a look at the same page at a desk (1280 px), with
axe-core on both."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from app.points import ledger
from tests.browser import DESK, SHARE_STUB, check_accessibility, finish_phone, open_phone
from tests.factories import make_item, make_member, make_team, session_cookie

pytestmark = pytest.mark.browser

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"
)


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


def test_the_feed_search_box_and_chips_are_styled_and_the_active_chip_is_in_view(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    tags = [f"topic{n:02d}" for n in range(12)]

    async def stories() -> None:
        for tag in tags:
            await make_item(title=f"About {tag}", tags=[tag])

    seed(stories)
    phone = signed_in(browser, live_server, seed)
    try:
        phone.goto("/")
        search = phone.get_by_role("searchbox", name="Search the feed")
        style = search.evaluate(
            "e => { const s = getComputedStyle(e); return [s.borderTopLeftRadius, s.appearance]; }"
        )
        assert style == ["999px", "none"]
        check_accessibility(phone)
        chips = phone.get_by_role("navigation", name="Filter the feed")
        expect(chips).to_have_class("chips scroll-row--end")  # more chips on the right, faded
        last = chips.get_by_role("link", name=f"#{tags[0]}")  # tags come newest first
        last.click()
        expect(last).to_have_attribute("aria-current", "true")
        expect(chips).to_have_class(re.compile(r"\bscroll-row--start\b"))
        box = last.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        check_accessibility(phone)
        at_desk(phone)
    finally:
        finish_phone(phone)


def test_on_off_settings_are_switches_that_save_when_flipped(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    phone = signed_in(browser, live_server, seed)
    try:
        phone.goto("/me")
        credit = phone.get_by_role("switch", name="Show my first name on the pages I share")
        expect(credit).to_be_checked()
        # No Save button once JavaScript runs: flipping the switch saves.
        expect(phone.locator("#credit-form").get_by_role("button", name="Save")).to_be_hidden()
        credit.uncheck()
        expect(phone.locator("#credit-form").get_by_text("Saved.")).to_be_visible()
        hide = phone.get_by_role("switch", name="Hide my name on leaderboards")
        hide.check()
        expect(phone.locator("#name-choice-form").get_by_text("Saved.")).to_be_visible()
        check_accessibility(phone)
        phone.reload()
        expect(phone.get_by_role("switch", name="Show my first name")).not_to_be_checked()
        expect(phone.get_by_role("switch", name="Hide my name on leaderboards")).to_be_checked()
        check_accessibility(phone)
        at_desk(phone)
    finally:
        finish_phone(phone)


def test_an_editor_picks_a_file_with_a_styled_button_and_sees_one_kind_of_back_link(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    async def editor() -> tuple[str, str]:
        return await session_cookie(await make_member(role="editor"))

    name, value = seed(editor)
    phone = open_phone(browser, live_server.url)
    phone.context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
    try:
        phone.goto("/studio/new?kind=story")
        picker = phone.locator('input[type="file"][name="image"]')
        button = picker.evaluate(
            "e => { const s = getComputedStyle(e, '::file-selector-button');"
            " return [s.borderTopLeftRadius, s.backgroundColor, s.minHeight]; }"
        )
        assert button[0] == "999px" and button[2] == "44px"
        assert button[1] != "rgb(239, 239, 239)"  # not the browser's grey button
        checkbox = phone.locator('input[type="checkbox"]').first
        assert checkbox.evaluate("e => getComputedStyle(e).width") == "20px"
        textarea = phone.locator("textarea").first
        assert textarea.evaluate("e => getComputedStyle(e).borderTopLeftRadius") == "12px"
        check_accessibility(phone)
        at_desk(phone)
        phone.goto("/me/referrals")
        expect(phone.get_by_role("heading", name="My referrals")).to_be_visible()
        back = phone.locator("#main").get_by_role("link", name="Me", exact=True)
        expect(back).to_have_class("back-link")
        check_accessibility(phone)
    finally:
        finish_phone(phone)


ADMIN_PAGES = [
    ("/admin/people", "People"),
    ("/admin/audit", "Audit log"),
    ("/admin/points", "Points"),
    ("/admin/rewards", "Rewards"),
    ("/admin/clicks", "Clicks"),
    ("/admin/candidates", "Candidates"),
    ("/admin/bonuses", "Referral bonuses"),
    ("/admin/apply-hosts", "Application sites"),
    ("/admin/voice", "Employees' voice"),
    ("/admin/provisioning", "Provisioning"),
    ("/admin/api", "API and webhooks"),
    ("/admin/sso", "Single sign-on"),
]


def test_every_admin_page_has_the_same_sub_menu_with_its_tab_in_view(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    async def admin() -> tuple[str, str]:
        return await session_cookie(await make_member(role="admin"))

    name, value = seed(admin)
    phone = open_phone(browser, live_server.url)
    phone.context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
    try:
        for path, tab in ADMIN_PAGES:
            phone.goto(path)
            menu = phone.get_by_role("navigation", name="Administration")
            expect(menu.get_by_role("link")).to_have_text([label for _, label in ADMIN_PAGES])
            current = menu.locator('[aria-current="page"]')
            expect(current).to_have_text(tab)
            expect(current).to_have_attribute("href", path)
            box = current.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, path
            check_accessibility(phone)
        at_desk(phone)
    finally:
        finish_phone(phone)


def test_an_admin_copies_or_shares_an_enrolment_link_from_a_phone(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    async def people() -> tuple[int, tuple[str, str]]:
        newcomer = await make_member(name="Noa Petit")
        return newcomer.id, await session_cookie(await make_member(role="admin", language="fr"))

    newcomer, (name, value) = seed(people)
    phone = open_phone(browser, live_server.url, locale="fr-FR")
    phone.context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
    phone.context.grant_permissions(["clipboard-read", "clipboard-write"])
    phone.add_init_script(SHARE_STUB)
    try:
        phone.goto(f"/admin/people/{newcomer}")
        check_accessibility(phone)
        phone.get_by_role("button", name="Créer un nouveau lien d’inscription").click()
        link_box = phone.get_by_role("region", name="Lien d’inscription pour Noa Petit")
        expect(link_box).to_contain_text("la personne invitée scanne le code")
        expect(link_box).not_to_contain_text("elle scanne")
        url = link_box.get_by_role("textbox", name="Lien").input_value()
        link_box.get_by_role("button", name="Copier le lien").click()
        expect(link_box.get_by_role("status")).to_have_text("Lien copié.")
        assert phone.evaluate("() => navigator.clipboard.readText()") == url
        link_box.get_by_role("button", name="Envoyer le lien…").click()
        phone.wait_for_function("() => window.__shared.length === 1")
        shared = phone.evaluate("() => window.__shared[0]")
        assert shared["url"] == url and shared["title"] == "Votre invitation à Relay"
        check_accessibility(phone)
        at_desk(phone)
    finally:
        finish_phone(phone)


def test_the_time_zone_picker_is_grouped_searchable_and_suggests_the_browsers_zone(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    phone = signed_in(browser, live_server, seed, timezone_id="America/Sao_Paulo")
    try:
        phone.goto("/notifications")
        picker = phone.get_by_label("Time zone", exact=True)
        groups = picker.locator("optgroup")
        expect(groups.first).to_have_attribute("label", "Suggested")
        labels = groups.evaluate_all("gs => gs.map(g => g.label)")
        assert labels[:3] == ["Suggested", "Europe", "Americas"] and "Asia" in labels
        # Nothing chosen yet: the browser's zone is suggested first and taken.
        expect(picker).to_have_value("America/Sao_Paulo")
        expect(groups.first.locator("option")).to_have_text(
            ["Paris · Europe/Paris", "America/Sao_Paulo (this browser)"]
        )
        phone.get_by_label("Find a time zone").fill("tokyo")
        visible = picker.locator("optgroup:not([hidden]) option:not([hidden])")
        expect(visible).to_have_text(
            ["Paris · Europe/Paris", "America/Sao_Paulo (this browser)", "Tokyo"]
        )
        picker.select_option("Asia/Tokyo")
        phone.get_by_role("button", name="Save notification settings").click()
        expect(phone.get_by_text("Your notification settings are saved.")).to_be_visible()
        check_accessibility(phone)
        phone.reload()
        expect(phone.get_by_label("Time zone", exact=True)).to_have_value("Asia/Tokyo")
        check_accessibility(phone)
        at_desk(phone)
    finally:
        finish_phone(phone)
