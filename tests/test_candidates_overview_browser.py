"""HR's candidates across offers and the referral bonuses, in Chromium at a desk and on a
phone: the duplicates filter swaps the list in, both duplicate rows say who is credited, and
an admin marks another member's bonus paid."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from app.candidates import bonuses, duplicates, pipeline
from app.candidates.tables import Candidate
from app.core.clock import now
from tests.browser import check_accessibility, finish_phone, open_desk, open_phone
from tests.factories import make_item, make_member, session_cookie

pytestmark = pytest.mark.browser


def signed_in(page: Page, cookie: tuple[str, str], url: str) -> Page:
    page.context.add_cookies([{"name": cookie[0], "value": cookie[1], "url": url}])
    return page


def no_sideways_scroll(page: Page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways: {widths}"


def test_hr_sees_duplicates_across_offers_and_pays_a_bonus(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    async def programme() -> tuple[str, str]:
        admin = await make_member(role="admin", name="Nora Admin")
        lea = await make_member(name="Léa Martin")
        tom = await make_member(name="Tom Petit")
        data = await make_item("offer", "Data engineer")
        ops = await make_item("offer", "Ops engineer")
        await bonuses.save_settings(
            {
                "exclusivity_days": 90,
                "bonus_amount": 1500,
                "bonus_currency": "EUR",
                "probation_days": 90,
            },
            by=admin.id,
        )
        people = [
            (data, lea.id, "Jeanne Durand", "jeanne@example.org", "+33 6 12 34 56 78"),
            (ops, tom.id, "Jeanne D.", "JEANNE@example.org", "06 12 34 56 78"),
            (ops, lea.id, "Marc Roux", "marc@example.org", ""),
        ]
        ids = []
        for item, referrer, name, email, phone in people:
            rows = await Candidate.insert(
                Candidate(
                    kind="application",
                    item=item,
                    referrer=referrer,
                    name=name,
                    email=email,
                    phone=phone,
                    consent_at=now(),
                )
            ).returning(Candidate.id)
            ids.append(int(rows[0]["id"]))
            await duplicates.mark(ids[-1])
        await pipeline.move(ids[2], "hired", admin.id)
        return await session_cookie(admin)

    cookie = seed(programme)
    desk = signed_in(open_desk(browser, live_server.url), cookie, live_server.url)
    try:
        desk.goto("/candidates")
        table = desk.get_by_role("table", name="All candidates")
        expect(table.get_by_role("columnheader", name="Referrer")).to_be_visible()
        expect(table.get_by_role("row")).to_have_count(4)  # the header and three candidates
        check_accessibility(desk)
        desk.get_by_label("Duplicates only").check()
        expect(table.get_by_role("row")).to_have_count(3)
        expect(desk).to_have_url(re.compile(r"/candidates\?.*duplicates=on"))
        export = desk.get_by_role("link", name="Export these candidates (CSV)")
        expect(export).to_have_attribute("href", "/candidates/export.csv?duplicates=on")
        expect(
            desk.get_by_text("that first referral keeps the credit (Léa Martin)")
        ).to_be_visible()
        expect(desk.get_by_text("Referred again 1 time later")).to_be_visible()
        check_accessibility(desk)

        desk.goto("/admin/bonuses")
        row = desk.get_by_role("row").filter(has_text="Marc Roux")
        expect(row).to_contain_text("1500 EUR")
        check_accessibility(desk)
        row.get_by_role("button", name="Mark paid").click()
        expect(desk.get_by_role("status").first).to_have_text("Marked paid.")
        check_accessibility(desk)
        desk.get_by_label("Status").select_option("paid")
        expect(desk.get_by_role("row").filter(has_text="Marc Roux")).to_contain_text("Paid on")
        check_accessibility(desk)
    finally:
        finish_phone(desk)

    phone = signed_in(open_phone(browser, live_server.url), cookie, live_server.url)
    try:
        phone.goto("/candidates")
        expect(phone.get_by_role("heading", name="All candidates")).to_be_visible()
        expect(phone.get_by_role("columnheader", name="Referrer")).to_be_hidden()
        no_sideways_scroll(phone)
        check_accessibility(phone)
        phone.goto("/admin/bonuses?status=")
        expect(phone.get_by_text("Marc Roux").first).to_be_visible()
        no_sideways_scroll(phone)
        check_accessibility(phone)
    finally:
        finish_phone(phone)
