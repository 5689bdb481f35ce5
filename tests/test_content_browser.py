"""Stories, offers and sharing in a real Chromium at phone size."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from app.content import editing
from app.content.tables import ContentItem
from app.sharing.tables import Share
from tests.browser import SHARE_STUB, check_accessibility, finish_phone, phone_as
from tests.factories import (
    jpeg_bytes,
    make_item,
    make_team,
)

pytestmark = pytest.mark.browser

NO_WEB_SHARE = "delete Navigator.prototype.share; delete Navigator.prototype.canShare;"


def test_an_editor_schedules_a_story_with_an_image_for_one_team(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    sales, engineering = seed(lambda: make_team("Sales")), seed(lambda: make_team("Engineering"))
    editor = phone_as(browser, live_server, seed, role="editor", name="Inès Moreau")
    try:
        editor.goto("/studio")
        check_accessibility(editor)
        editor.get_by_role("link", name="New story").click()
        expect(editor.get_by_role("heading", name="New story")).to_be_visible()
        check_accessibility(editor)
        editor.get_by_label("Title").fill("Sales kick-off in Lyon")
        editor.get_by_label("Text (Markdown)").fill("Two days, **one team**.")
        editor.get_by_label("Image (JPEG").set_input_files(
            {"name": "kickoff.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}
        )
        editor.get_by_label("Image description").fill("The sales team on stage")
        editor.get_by_label("Only the teams and sites below").check()
        editor.get_by_label("Sales", exact=True).check()
        editor.get_by_role("button", name="Create the draft").click()
        expect(editor.get_by_text("Saved.")).to_be_visible()
        check_accessibility(editor)
        # Times are typed in the editor's time zone (Europe/Paris until their browser says).
        paris = ZoneInfo("Europe/Paris")
        in_an_hour = (editing.now() + timedelta(hours=1)).astimezone(paris)
        editor.get_by_label("Publish at (Europe/Paris time)").fill(
            in_an_hour.strftime("%Y-%m-%dT%H:%M")
        )
        editor.get_by_role("button", name="Schedule").click()
        expect(editor.locator("[data-status]")).to_have_text("Scheduled")
        check_accessibility(editor)
        editor.get_by_role("link", name="Preview as a phone").click()
        expect(editor.get_by_role("region", name="The card in the feed")).to_be_visible()
        check_accessibility(editor)
    finally:
        finish_phone(editor)

    seller = phone_as(browser, live_server, seed, team=sales)
    engineer = phone_as(browser, live_server, seed, team=engineering)
    try:
        seller.goto("/")
        expect(seller.get_by_role("heading", name="Nothing to share yet")).to_be_visible()
        check_accessibility(seller)

        async def time_passes() -> None:
            await ContentItem.update(
                {ContentItem.publish_at: editing.now() - timedelta(minutes=1)}
            ).where(ContentItem.title == "Sales kick-off in Lyon")

        seed(time_passes)
        seller.reload()
        card = seller.get_by_role("article", name="Sales kick-off in Lyon")
        expect(card).to_be_visible()
        image = card.get_by_role("img", name="The sales team on stage")
        expect(image).to_be_visible()
        seller.wait_for_function(
            "(img) => img.complete && img.naturalWidth === 600", arg=image.element_handle()
        )
        check_accessibility(seller)
        engineer.goto("/")
        expect(engineer.get_by_role("heading", name="Nothing to share yet")).to_be_visible()
        check_accessibility(engineer)
    finally:
        finish_phone(seller)
        finish_phone(engineer)


def test_the_studio_refuses_a_renamed_program_and_employees_cannot_reach_it(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    editor = phone_as(browser, live_server, seed, role="editor")
    try:
        editor.goto("/studio/new?kind=story")
        editor.get_by_label("Title").fill("With a picture")
        editor.get_by_label("Image (JPEG").set_input_files(
            {"name": "holiday.jpg", "mimeType": "image/jpeg", "buffer": b"MZ\x90\x00" + bytes(300)}
        )
        editor.get_by_role("button", name="Create the draft").click()
        error = editor.locator("#image-error")
        expect(error).to_have_text(
            "This file is named like an image but is a program or an archive. It was refused."
        )
        expect(editor.get_by_label("Image (JPEG")).to_have_attribute("aria-invalid", "true")
        check_accessibility(editor)
    finally:
        finish_phone(editor)
    employee = phone_as(browser, live_server, seed)
    try:
        employee.goto("/")
        expect(
            employee.get_by_role("navigation", name="Main").get_by_role("link", name="Studio")
        ).to_have_count(0)
        check_accessibility(employee)
        employee._relay_watch.expected_errors.append("status of 403")  # type: ignore[attr-defined]
        employee.goto("/studio")
        expect(employee.get_by_role("heading", name="This page is not for you")).to_be_visible()
        check_accessibility(employee)
    finally:
        finish_phone(employee)


def test_infinite_scroll_loads_the_next_page_without_duplicates(
    member_phone: Page, seed: Any
) -> None:
    async def stories() -> None:
        base = editing.now() - timedelta(days=1)
        for n in range(27):
            await make_item(title=f"Story number {n}", published=base + timedelta(minutes=n // 2))

    seed(stories)
    phone = member_phone
    phone.goto("/")
    cards = phone.locator("[data-card-id]")
    expect(cards).to_have_count(20)
    check_accessibility(phone)
    phone.locator("[data-card-id]").last.scroll_into_view_if_needed()
    phone.mouse.wheel(0, 20000)
    expect(cards).to_have_count(27)
    ids = cards.evaluate_all("(els) => els.map((e) => e.dataset.cardId)")
    assert len(set(ids)) == 27
    expect(phone.get_by_role("link", name="More")).to_have_count(0)
    check_accessibility(phone)


def test_a_share_hands_over_the_tracked_link_and_my_words_once_and_a_cancel_records_nothing(
    member_phone: Page, seed: Any, live_server: Any
) -> None:
    first = seed(lambda: make_item(title="Our new office"))
    second = seed(lambda: make_item(title="Hackathon"))
    phone = member_phone
    phone.add_init_script(SHARE_STUB)
    phone.goto(f"/items/{first}/share")  # the share page: the sheet without JavaScript's help
    expect(phone.get_by_role("heading", name="Share", exact=True)).to_be_visible()
    url = phone.locator("[data-share]").get_attribute("data-url")
    assert url and url.startswith(f"{live_server.url}/r/")
    caption = phone.get_by_label("Your words")
    caption.fill("I love working here, come and see #proud")
    with phone.expect_response(lambda r: r.url.endswith("/shares")):
        phone.get_by_role("button", name="Share…").click()
    expect(phone.get_by_text("Thanks for sharing!")).to_be_visible()
    shared = phone.evaluate("window.__shared")
    assert shared == [
        {"title": "Our new office", "text": "I love working here, come and see #proud", "url": url}
    ]
    with phone.expect_response(lambda r: r.url.endswith("/shares")) as again:
        phone.get_by_role("button", name="Share…").click()
    assert again.value.json() == {"recorded": False, "points": 0}
    check_accessibility(phone)

    def count(item: int) -> int:
        return int(seed(lambda: Share.count().where(Share.item == item)))

    assert count(first) == 1

    phone.goto(f"/items/{second}/share")
    phone.evaluate("window.__shareMode = 'cancel'")
    phone.get_by_role("button", name="Share…").click()
    phone.wait_for_function("() => window.__calls === 1")
    assert phone.evaluate("() => window.__shared") == []
    expect(phone.locator("[data-share-status]")).to_be_hidden()
    assert count(second) == 0
    check_accessibility(phone)

    # The sharer's public page: no sign-in, credited by first name, rich preview tags.
    visitor = phone.context.browser.new_context()  # type: ignore[union-attr]
    page = visitor.new_page()
    try:
        page.goto(url)
        expect(page.get_by_text("Shared by Sarah")).to_be_visible()
        assert page.locator('meta[property="og:url"]').get_attribute("content") == url
        assert (
            page.locator('meta[property="og:title"]').get_attribute("content") == "Our new office"
        )
        check_accessibility(page)
    finally:
        visitor.close()


def test_without_web_share_the_sheet_links_carry_the_encoded_tracked_url(
    member_phone: Page, seed: Any
) -> None:
    item = seed(lambda: make_item(title="Backend engineer", kind="offer"))
    phone = member_phone
    phone.add_init_script(NO_WEB_SHARE)
    phone.goto(f"/items/{item}/share")
    expect(phone.get_by_role("button", name="Share…")).to_be_hidden()
    url = phone.locator("[data-share]").get_attribute("data-url")
    assert url
    encoded = quote(url, safe="")
    sheet = phone.get_by_role("region", name="Share on")
    expected = {
        "LinkedIn": f"https://www.linkedin.com/sharing/share-offsite/?url={encoded}",
        "Facebook": f"https://www.facebook.com/sharer/sharer.php?u={encoded}",
    }
    for name, href in expected.items():
        expect(sheet.get_by_role("link", name=name)).to_have_attribute("href", href)
    phone.get_by_label("Your words").fill("Great team")
    x = sheet.get_by_role("link", name="X").get_attribute("href") or ""
    assert x == f"https://twitter.com/intent/tweet?url={encoded}&text=Great%20team"
    whatsapp = sheet.get_by_role("link", name="WhatsApp").get_attribute("href") or ""
    assert whatsapp == "https://wa.me/?text=" + quote(f"Great team\n\n{url}", safe="")
    email = sheet.get_by_role("link", name="Email").get_attribute("href") or ""
    assert email.startswith("mailto:?subject=Backend%20engineer&body=") and encoded in email
    check_accessibility(phone)


def test_an_editor_pages_through_a_long_studio_list_with_more(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    async def items() -> None:
        moment = editing.now()
        await ContentItem.insert(
            *(
                ContentItem(kind="story", title=f"Story {n:02d}", publish_at=moment)
                for n in range(55)
            )
        )

    seed(items)
    editor = phone_as(browser, live_server, seed, role="editor")
    try:
        editor.goto("/studio")
        rows = editor.locator(".list__link")
        expect(rows).to_have_count(50)
        expect(editor.get_by_text("Story 54")).to_be_visible()
        check_accessibility(editor)
        editor.get_by_role("link", name="More").click()
        expect(rows).to_have_count(55)
        expect(editor.get_by_text("Story 00", exact=True)).to_be_visible()
        expect(editor.get_by_role("link", name="More")).to_have_count(0)
        titles = rows.evaluate_all("(els) => els.map((e) => e.textContent)")
        assert len(set(titles)) == 55
        check_accessibility(editor)
    finally:
        finish_phone(editor)


def test_searching_the_feed_without_accents_finds_the_offer_with_them(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    """`developpeur` typed on a phone keyboard finds "Développeur Python" (issue 18)."""
    seed(lambda: make_item("offer", "Développeur Python"))
    seed(lambda: make_item("story", "Hackathon photos"))
    phone = phone_as(browser, live_server, seed, name="Léa Martin")
    try:
        phone.goto("/")
        check_accessibility(phone)
        phone.get_by_label("Search the feed").fill("developpeur")
        phone.get_by_role("button", name="Search").click()
        expect(phone.get_by_role("heading", name="Développeur Python")).to_be_visible()
        expect(phone.get_by_role("heading", name="Hackathon photos")).to_have_count(0)
        check_accessibility(phone)
        phone.set_viewport_size({"width": 1280, "height": 900})
        expect(phone.get_by_role("heading", name="Développeur Python")).to_be_visible()
        check_accessibility(phone)
    finally:
        finish_phone(phone)
