"""The leaderboard and the wall of fame in a real Chromium at phone size."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from app.core.clock import now
from app.points import ledger
from app.points.awards import grant_badge
from app.points.tables import Action, Badge
from tests.browser import check_accessibility, finish_phone, open_phone
from tests.factories import make_member, make_team, session_cookie

pytestmark = pytest.mark.browser


def test_an_employee_switches_leaderboard_period_and_scope_and_sees_their_own_row(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    async def make() -> tuple[str, str]:
        sales = await make_team("Sales")
        other = await make_team("Engineering")
        this_week = now()
        last_month = this_week - timedelta(days=40)
        for n in range(6):
            colleague = await make_member(name=f"Colleague {n}", team=sales if n % 2 else other)
            await ledger.credit(colleague.id, 30 + n, Action.share.value, f"w{n}", at=this_week)
            await ledger.credit(colleague.id, 10, Action.click.value, f"o{n}", at=last_month)
        me = await make_member(name="Sarah Cohen", team=sales)
        await ledger.credit(me.id, 12, Action.share.value, "mine", at=this_week)
        await ledger.credit(me.id, 400, Action.hired.value, "hire", at=last_month)
        await grant_badge(me.id, Badge.first_share, this_week)
        return await session_cookie(me)

    name, value = seed(make)
    page = open_phone(browser, live_server.url)
    page.context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
    try:
        page.goto("/me")
        expect(page.get_by_role("heading", name="Your level: Ambassador")).to_be_visible()
        check_accessibility(page)
        page.get_by_role("link", name="Leaderboard").click()
        expect(page.get_by_role("heading", name="Leaderboard")).to_be_visible()
        check_accessibility(page)
        mine = page.locator("#my-rank")
        expect(mine).to_contain_text("You")
        expect(mine).to_contain_text("7")  # last of seven this week, with 12 points
        expect(mine).to_contain_text("12")

        page.get_by_role("link", name="All time").click()
        expect(page).to_have_url(re.compile(r"/leaderboard\?period=all&scope=everyone$"))
        expect(page.get_by_role("link", name="All time")).to_have_attribute("aria-current", "true")
        expect(mine).to_contain_text("412")  # the hire last month counts all time
        expect(mine.locator(".board__rank")).to_have_text("Rank 1")
        check_accessibility(page)

        page.get_by_role("link", name="My team").click()
        expect(page).to_have_url(re.compile(r"scope=team"))
        expect(page.get_by_role("heading", name="Sales · All time")).to_be_visible()
        expect(page.locator(".board__row")).to_have_count(4)  # three colleagues and me
        expect(mine).to_contain_text("You")
        check_accessibility(page)

        page.get_by_role("link", name="Teams").click()
        expect(page.get_by_role("heading", name="Teams · All time")).to_be_visible()
        expect(page.locator(".board__row--you")).to_contain_text("Sales")
        check_accessibility(page)

        page.go_back()
        expect(page.get_by_role("heading", name="Sales · All time")).to_be_visible()
        check_accessibility(page)

        page.goto("/wall-of-fame")
        expect(page.get_by_role("heading", name="Top ambassadors")).to_be_visible()
        check_accessibility(page)
        page.get_by_role("link", name="Open the screen version").click()
        expect(page.locator(".wall--tv")).to_be_visible()
        check_accessibility(page)
    finally:
        finish_phone(page)
