"""Points in a real Chromium at phone size: what a share earns, the Points page, the admin."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from app.core.clock import now
from tests.browser import SHARE_STUB, check_accessibility, finish_phone, phone_as
from tests.factories import make_item

pytestmark = pytest.mark.browser


def test_an_employee_shares_sees_the_points_and_finds_the_line_on_the_points_page(
    member_phone: Page, seed: Any
) -> None:
    seed(lambda: make_item(title="Our new office"))
    phone = member_phone
    phone.add_init_script(SHARE_STUB)
    phone.goto("/")
    check_accessibility(phone)
    # One tap on the card shares; the points show by the card and in the live region.
    phone.get_by_role("link", name="Share: Our new office", exact=True).click()
    status = phone.get_by_role("status").filter(has_text="Thanks for sharing!")
    expect(status).to_have_text("Thanks for sharing! +7 points")
    expect(phone.locator("[data-card-toast]")).to_have_text("Thanks for sharing! +7 points")
    check_accessibility(phone)

    phone.get_by_role("navigation", name="Main").get_by_role("link", name="Points").click()
    expect(phone.get_by_role("heading", name="Points", exact=True)).to_be_visible()
    expect(phone).to_have_url(re.compile(r"/me/points$"))
    expect(phone.locator("[data-balance]")).to_have_text("7 points")
    history = phone.get_by_role("region", name="History")
    share = history.get_by_role("listitem").filter(has_text="Our new office")
    expect(share).to_contain_text("Share")
    expect(share).to_contain_text("+2")
    expect(history.get_by_role("listitem").filter(has_text="First share of the week")).to_contain_text("+5")  # fmt: skip
    expect(phone.get_by_text("You shared for the first time.")).to_be_visible()
    check_accessibility(phone)


def test_an_admin_fixes_a_rule_and_starts_a_challenge_that_the_feed_shows(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    seed(lambda: make_item("offer", "Data engineer"))
    admin = phone_as(browser, live_server, seed, role="admin", name="Camille Laurent")
    try:
        admin.goto("/admin/points")
        expect(admin.get_by_role("heading", name="Points and challenges")).to_be_visible()
        check_accessibility(admin)
        share = admin.get_by_role("group", name="Share", exact=True)
        share.get_by_label("Points").fill("20000")
        admin.get_by_role("button", name="Save the rules").click()
        expect(admin.get_by_text("Nothing was saved: correct the fields marked below.")).to_be_visible()  # fmt: skip
        field = admin.get_by_role("group", name="Share", exact=True).get_by_label("Points")
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(admin.locator("#rule-share-points-error")).to_have_text(
            "Enter a whole number of points from 0 to 10,000."
        )
        check_accessibility(admin)
        field.fill("4")
        admin.get_by_role("button", name="Save the rules").click()
        expect(admin.get_by_text("Rules saved.")).to_be_visible()
        check_accessibility(admin)

        admin.get_by_role("link", name="New challenge").click()
        expect(admin.get_by_role("heading", name="New challenge")).to_be_visible()
        check_accessibility(admin)
        paris = ZoneInfo("Europe/Paris")
        admin.get_by_label("Name").fill("Hiring sprint")
        admin.get_by_label("Points multiplied by").select_option(label="×3")
        start, end = now() - timedelta(hours=1), now() + timedelta(days=3)
        admin.get_by_label("Starts (Europe/Paris time)").fill(
            start.astimezone(paris).strftime("%Y-%m-%dT%H:%M")
        )
        admin.get_by_label("Ends (Europe/Paris time)").fill(
            start.astimezone(paris).strftime("%Y-%m-%dT%H:%M")
        )
        admin.get_by_role("button", name="Create the challenge").click()
        expect(admin.get_by_text("The end must come after the start.")).to_be_visible()
        expect(admin.get_by_text("Choose at least one story or offer.")).to_be_visible()
        check_accessibility(admin)
        admin.get_by_label("Ends (Europe/Paris time)").fill(
            end.astimezone(paris).strftime("%Y-%m-%dT%H:%M")
        )
        admin.get_by_label("Data engineer").check()
        admin.get_by_role("button", name="Create the challenge").click()
        running = admin.locator('[data-challenges="running"]')
        expect(running).to_contain_text("Hiring sprint · ×3")
        check_accessibility(admin)

        admin.goto("/")
        card = admin.get_by_role("article", name="Data engineer")
        expect(card).to_contain_text(f"×3 points until {end:%-d %b}")
        check_accessibility(admin)
    finally:
        finish_phone(admin)
