"""A member adds a profile photo on Me and sees it on the leaderboard, on a phone and at a desk."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, expect

from app.points import ledger
from app.points.tables import Action
from tests.browser import check_accessibility, finish_phone, open_desk, open_phone
from tests.factories import make_member, session_cookie

pytestmark = pytest.mark.browser


def png(width: int = 500, height: int = 400) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "#be185d").save(out, "PNG")
    return out.getvalue()


def test_a_member_adds_a_photo_on_me_and_sees_it_on_the_leaderboard(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    async def make() -> tuple[str, str]:
        me = await make_member(name="Sarah Cohen")
        await ledger.credit(me.id, 25, Action.share.value, "mine")
        colleague = await make_member(name="Hugo Blanc")
        await ledger.credit(colleague.id, 40, Action.share.value, "theirs")
        return await session_cookie(me)

    name, value = seed(make)
    page = open_phone(browser, live_server.url)
    page.context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
    desk = None
    try:
        page.goto("/me")
        card = page.locator("section", has=page.get_by_role("heading", name="Your photo"))
        expect(card.locator(".face")).to_have_text("SC")  # initials until a photo is added
        check_accessibility(page)

        field = page.get_by_label("New photo")
        field.set_input_files(
            {"name": "holiday.png", "mimeType": "image/png", "buffer": b"only words in here"}
        )
        page.get_by_role("button", name="Save photo").click()
        error = page.locator("#photo-error")
        expect(error).to_contain_text("not really an image")
        expect(page.get_by_label("New photo")).to_have_attribute("aria-invalid", "true")
        check_accessibility(page)

        page.get_by_label("New photo").set_input_files(
            {"name": "me.png", "mimeType": "image/png", "buffer": png()}
        )
        page.get_by_role("button", name="Save photo").click()
        photo = page.locator("section.profile img.face")
        expect(photo).to_be_visible()
        expect(page.get_by_role("button", name="Remove photo")).to_be_visible()
        # Loaded, and the sharper variant on this 2x screen.
        assert photo.evaluate("img => img.complete && img.naturalWidth > 0")
        assert photo.evaluate("img => img.currentSrc").endswith("-192.jpg")
        check_accessibility(page)

        page.get_by_role("link", name="Leaderboard").click()
        expect(page.get_by_role("heading", name="Leaderboard")).to_be_visible()
        mine = page.locator("#my-rank")
        expect(mine.locator("img.face")).to_be_visible()
        expect(mine).to_contain_text("You")
        others = page.locator(".board__row", has_text="Hugo Blanc")
        expect(others.locator(".face")).to_have_text("HB")
        box = mine.locator("img.face").bounding_box()
        assert box and round(box["width"]) == 40 and round(box["height"]) == 40
        check_accessibility(page)

        desk = open_desk(browser, live_server.url)
        desk.context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
        desk.goto("/leaderboard?period=all")
        expect(desk.locator("#my-rank img.face")).to_be_visible()
        check_accessibility(desk)
        desk.goto("/me")
        expect(desk.locator("section.profile img.face")).to_be_visible()
        check_accessibility(desk)

        page.goto("/me")
        page.get_by_role("button", name="Remove photo").click()
        expect(page.locator("section.profile .face")).to_have_text("SC")
        expect(page.get_by_role("button", name="Remove photo")).to_have_count(0)
        check_accessibility(page)
    finally:
        if desk is not None:
            finish_phone(desk)
        finish_phone(page)
