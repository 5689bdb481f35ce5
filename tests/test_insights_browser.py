"""Insights in a real Chromium, at phone size and at 1280 px: an editor reads the overview,
changes the period and a filter (htmx), downloads the CSV and the XLSX; an employee reads
their own impact."""

from __future__ import annotations

import re
from typing import Any

import openpyxl
import pytest
from playwright.sync_api import Browser, expect

from app.activity.service import record_activity
from app.activity.tables import ActivityKind
from app.core.clock import now
from app.insights import rollups
from app.sharing import service as sharing
from tests.browser import check_accessibility, finish_phone, open_phone, phone_as_member
from tests.factories import make_item, make_member, make_site, make_team, session_cookie

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}


def test_an_editor_reads_filters_and_exports_insights_and_an_employee_sees_their_impact(
    browser: Browser, live_server: Any, seed: Any, tmp_path: Any
) -> None:
    async def make() -> tuple[tuple[str, str], int]:
        sales = await make_team("Sales")
        await make_team("Engineering")
        await make_site("Paris")
        sharer = await make_member(name="Léa Martin", team=sales)
        other = await make_member(name="Hugo Bernard")
        offer = await make_item("offer", "Data engineer")
        story = await make_item(title="Our new office")
        await sharing.record_share(sharer.id, offer, "linkedin")
        await sharing.record_share(sharer.id, story, "native")
        await sharing.record_share(other.id, story, "x")
        for n in range(5):
            await record_activity(
                ActivityKind.click, f"b:{n}", member=sharer.id, item=offer, network="linkedin"
            )
        await record_activity(
            ActivityKind.application, "b:a", member=sharer.id, item=offer, candidate=1
        )
        await rollups.refresh(now())
        editor = await make_member(role="editor", name="Inès Editor")
        return await session_cookie(editor), sharer.id

    (name, value), sharer_id = seed(make)
    page = open_phone(browser, live_server.url)
    page.context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
    try:
        page.goto("/")
        check_accessibility(page)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Insights").click()
        expect(page.get_by_role("heading", name="Insights", exact=True)).to_be_visible()
        expect(page.locator('[data-figure="shares"]')).to_have_text("3")
        expect(page.locator('[data-figure="clicks"]')).to_have_text("5")
        expect(page.locator("#funnel-caption")).to_contain_text("Genuine clicks: 5")
        check_accessibility(page)

        page.get_by_role("link", name="This year").click()
        expect(page).to_have_url(re.compile(r"/insights\?period=year$"))
        expect(page.get_by_role("link", name="This year")).to_have_attribute("aria-current", "true")
        check_accessibility(page)

        page.get_by_label("Team").select_option(label="Sales")
        page.get_by_role("button", name="Show").click()
        expect(page).to_have_url(re.compile(r"team=\d+"))
        expect(page.locator('[data-figure="shares"]')).to_have_text("2")
        check_accessibility(page)

        with page.expect_download() as download:
            page.get_by_role("link", name="Download every table (XLSX)").click()
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        assert re.fullmatch(r"insights-\d{4}-01-01_\d{4}-\d\d-\d\d-team-\d+\.xlsx", saved.name)
        book = openpyxl.load_workbook(saved)
        figures = {row[0]: row[1] for row in book["Overview"].iter_rows(values_only=True)}
        assert figures["Shares"] == 2 and figures["Genuine clicks"] == 5
        items = {row[0]: row[1:] for row in book["By content item"].iter_rows(values_only=True)}
        assert items["Data engineer"][:2] == (1, 5)

        with page.expect_download() as download:
            page.get_by_role("link", name="Download this table (CSV)").click()
        text = download.value.path().read_text()
        assert "Shares,2," in text.replace("\r", "")

        page.get_by_role("link", name="Breakdowns").click()
        expect(page.get_by_role("heading", name="By content item")).to_be_visible()
        check_accessibility(page)

        page.set_viewport_size(DESKTOP)
        page.goto("/insights?period=4weeks")
        expect(page.locator('[data-figure="clicks"]')).to_have_text("5")
        box = page.locator(".chart--funnel").bounding_box()
        assert box is not None and box["width"] > 300
        check_accessibility(page)
    finally:
        finish_phone(page)

    employee = phone_as_member(browser, live_server, seed, sharer_id)
    try:
        employee.goto("/me")
        check_accessibility(employee)
        employee.get_by_role("link", name="My impact").click()
        expect(employee.get_by_role("heading", name="My impact")).to_be_visible()
        expect(employee.locator("[data-impact-sentence]")).to_have_text(
            "This quarter: your links brought 1 candidate."
        )
        expect(employee.locator('[data-mine="clicks"]')).to_have_text("5")
        expect(employee.get_by_text("Hugo Bernard")).to_have_count(0)
        check_accessibility(employee)
        employee._relay_watch.expected_errors.append("status of 403")  # type: ignore[attr-defined]
        response = employee.goto("/insights")
        assert response is not None and response.status == 403
        check_accessibility(employee)
    finally:
        finish_phone(employee)
