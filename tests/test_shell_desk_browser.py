"""At a desk (1280 px), with the demo organisation: the editors' and admins' pages use the
width (a side navigation instead of the tab bar, tables where rows are compared, the story
editor's fields in two columns beside its phone preview); at 390 × 844 the same pages keep
their phone layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from app.accounts.tables import Member
from app.content.demo import load_demo_content
from app.content.tables import ContentItem
from app.core.clock import now
from app.core.settings import Settings
from app.demo import load_demo, load_demo_activity
from app.notifications.campaigns import create_campaign, parse_campaign
from app.rewards.demo import load_demo_rewards
from tests.browser import check_accessibility, finish_phone, open_desk, open_phone
from tests.factories import session_cookie

pytestmark = pytest.mark.browser

EDITOR_TABS = ["Feed", "Studio", "Pipeline", "Campaigns", "Insights", "Me"]


def demo_admin(seed: Any, env: dict[str, str]) -> tuple[tuple[str, str], int, int]:
    """The demo organisation with a campaign sent; the admin's cookie (in English), a story's
    id and an offer's."""

    async def make() -> tuple[tuple[str, str], int, int]:
        data_dir = Path(env["RELAY_DATA_DIR"])
        assert await load_demo()
        await load_demo_rewards(data_dir)
        await load_demo_content(data_dir)
        await load_demo_activity(data_dir)
        await Member.update({Member.language: "en"}).where(Member.email == "admin@demo.relay")
        admin = await Member.objects().where(Member.email == "admin@demo.relay").first()
        assert admin is not None
        form = parse_campaign(
            {"title": "Hiring week", "body": "Share our offers", "url": "/", "when": "now"},
            Settings.from_env(env),
            now(),
            "Europe/Paris",
        )
        assert form.ok, form.errors
        await create_campaign(form.values["draft"], admin.id, now())
        story = await ContentItem.select(ContentItem.id).where(ContentItem.kind == "story").first()
        offer = await ContentItem.select(ContentItem.id).where(ContentItem.kind == "offer").first()
        assert story is not None and offer is not None
        return await session_cookie(admin), story["id"], offer["id"]

    return seed(make)


def desk_pages(story: int, offer: int) -> list[tuple[str, str, str]]:
    """(path, its heading, the tab marked current) of every page that uses a desk's width."""
    return [
        ("/studio", "Studio", "Studio"),
        (f"/studio/{story}", "Notre nouvel atelier à Lyon ouvre ses portes", "Studio"),
        (f"/studio/{offer}", "", "Studio"),
        ("/studio/new?kind=story", "New story", "Studio"),
        ("/pipeline", "Pipeline", "Pipeline"),
        (f"/pipeline/{offer}", "", "Pipeline"),
        ("/campaigns", "Campaigns", "Campaigns"),
        ("/admin/people", "People", "Me"),
        ("/admin/points", "Points and challenges", "Me"),
        ("/admin/rewards", "Manage rewards", "Me"),
        ("/rewards/requests", "Reward requests", "Me"),
    ]


def no_horizontal_overflow(page: Page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways: {widths}"


def box(page: Page, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not shown on {page.url}"
    return found


def test_at_a_desk_the_editors_pages_have_a_side_navigation_tables_and_a_two_column_editor(
    browser: Browser, live_server: Any, seed: Any, env: dict[str, str]
) -> None:
    (name, value), story, offer = demo_admin(seed, env)
    page = open_desk(browser, live_server.url)
    page.context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
    try:
        for path, heading, tab in desk_pages(story, offer):
            page.goto(path)
            if heading:
                expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
            # The tab bar's links, in its order, down the left edge of the window.
            nav = page.get_by_role("navigation", name="Main")
            expect(nav.get_by_role("link")).to_have_text(EDITOR_TABS)
            expect(nav.get_by_role("link", name=tab)).to_have_attribute("aria-current", "page")
            side = box(page, ".tabbar")
            assert side["x"] == 0 and side["y"] == 0 and side["height"] == 900, side
            assert side["width"] <= 120, side
            main = box(page, "#main")
            assert main["x"] >= side["width"], (path, main)
            no_horizontal_overflow(page)
            if path.startswith("/studio/"):
                height = page.evaluate("() => document.documentElement.scrollHeight")
                print(f"\n{path} at 1280 px: {height} px tall")
            check_accessibility(page)

        # Rows compared in tables, their columns headed.
        page.goto("/admin/people")
        people = page.get_by_role("table", name="Everyone")
        expect(people.get_by_role("columnheader")).to_have_text(
            ["Name", "Email", "Role", "Team", "Site", "Status"]
        )
        lea = people.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Léa Martin"))
        expect(lea.get_by_role("cell")).to_have_text(
            ["lea.martin@demo.relay", "Employee", "Engineering", "Lyon", "Invited"]
        )
        # The search still swaps the table's rows.
        page.get_by_label("Search by name or email").fill("lea.martin")
        expect(people.get_by_role("row")).to_have_count(2)
        check_accessibility(page)

        page.goto("/admin/rewards")
        rewards = page.get_by_role("table", name="Manage rewards")
        voucher = rewards.get_by_role("row").filter(
            has=page.get_by_role("rowheader", name="Café voucher")
        )
        expect(voucher.get_by_role("cell")).to_have_text(
            ["150", "unlimited", "0", "On offer in the shop"]
        )
        check_accessibility(page)

        page.goto("/campaigns")
        history = page.get_by_role("table", name="Sent and scheduled")
        expect(history.get_by_role("columnheader")).to_have_text(
            ["Campaign", "Status", "People targeted"]
        )
        expect(history.get_by_role("rowheader", name="Hiring week")).to_be_visible()
        compose, sent = box(page, "#compose"), box(page, "[aria-labelledby=history-title]")
        assert sent["x"] > compose["x"] + compose["width"], "the history sits beside the form"
        check_accessibility(page)

        # The side navigation works as the tab bar does.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Pipeline").click()
        expect(page.get_by_role("heading", name="Pipeline", level=1)).to_be_visible()
        expect(page.get_by_role("link", name="Pipeline", exact=True)).to_have_attribute(
            "aria-current", "page"
        )
        offers = page.get_by_role("table", name="Pipeline")
        expect(offers.get_by_role("columnheader")).to_have_text(
            ["Job offer", "Status", "Candidates"]
        )
        check_accessibility(page)

        page.goto("/studio")
        expect(page.get_by_role("table", name="Studio").get_by_role("columnheader")).to_have_text(
            ["Title", "Kind", "Status", "Language", "Tags"]
        )
        check_accessibility(page)

        # Points rules: one row per action, under the column heads.
        page.goto("/admin/points")
        share = page.get_by_role("group", name="Share", exact=True)
        rule, points = box(page, ".rule legend"), box(page, "#rule-share-points")
        assert abs((rule["y"] + rule["height"] / 2) - (points["y"] + points["height"] / 2)) < 12
        assert points["x"] > rule["x"] + rule["width"], "the rule's numbers on its name's line"
        expect(share.get_by_label("Points")).to_have_value("2")
        check_accessibility(page)

        # The story editor: fields in two columns, the phone preview beside them.
        page.goto(f"/studio/{story}")
        title = box(page, "input[name=title]")
        audience = box(page, "fieldset.editor__audience")
        preview = box(page, ".editor__preview .phone-frame")
        form = box(page, "#item-form")
        assert audience["x"] > title["x"] + title["width"], "audience beside the text fields"
        assert abs(audience["y"] - title["y"]) < 60, "both columns start at the top"
        assert preview["x"] > form["x"] + form["width"], "the preview beside the form"
        expect(page.locator(".editor__preview")).to_contain_text(
            "Notre nouvel atelier à Lyon ouvre ses portes"
        )
        # Nine audience checkboxes in a grid: two or more share a line.
        checkboxes = page.locator("fieldset.editor__audience input[type=checkbox]")
        expect(checkboxes).to_have_count(9)
        tops = {round(b["y"]) for b in (checkboxes.nth(i).bounding_box() or {} for i in range(9))}
        assert len(tops) <= 5, tops
        height = page.evaluate("() => document.documentElement.scrollHeight")
        print(f"\nstory editor at 1280 px: {height} px tall (3,286 px before issue 18)")
        # Two thirds of the one-column page, with the 48-px controls of the Awkward pass.
        assert height < 2200, height
        # The preview stays in view while the editor scrolls down to the captions.
        page.get_by_label("TikTok").scroll_into_view_if_needed()
        kept = box(page, ".editor__preview")
        assert 0 <= kept["y"] < 900, kept
        check_accessibility(page)
    finally:
        finish_phone(page)


def test_on_a_phone_the_same_pages_keep_the_bottom_tab_bar_and_their_lists(
    browser: Browser, live_server: Any, seed: Any, env: dict[str, str]
) -> None:
    (name, value), story, offer = demo_admin(seed, env)
    page = open_phone(browser, live_server.url)
    page.context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
    try:
        for path, heading, tab in desk_pages(story, offer):
            page.goto(path)
            if heading:
                expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
            nav = page.get_by_role("navigation", name="Main")
            expect(nav.get_by_role("link", name=tab)).to_have_attribute("aria-current", "page")
            bar = box(page, ".tabbar")
            assert bar["x"] == 0 and bar["width"] == 390 and bar["y"] + bar["height"] == 844, bar
            # No column heads: each row is a list item with its details under its title.
            shown = page.evaluate(
                "() => [...document.querySelectorAll('thead')].filter(h => h.offsetParent).length"
            )
            assert shown == 0, f"column heads shown on a phone at {path}"
            no_horizontal_overflow(page)
            check_accessibility(page)

        page.goto("/admin/people")
        expect(page.get_by_text("lea.martin@demo.relay · employee · Engineering · Lyon")).to_be_visible()  # fmt: skip
        page.goto(f"/studio/{story}")
        expect(page.locator(".editor__preview")).to_be_hidden()
        title, audience = box(page, "input[name=title]"), box(page, "fieldset.editor__audience")
        assert audience["y"] > title["y"] + title["height"], "one column on a phone"
        check_accessibility(page)
    finally:
        finish_phone(page)


def test_at_a_desk_every_tab_name_stays_whole_on_one_line_in_french(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    """The side navigation is narrow: "Récompenses" and "Statistiques" once broke mid-word."""

    async def cookies() -> list[tuple[str, str]]:
        assert await load_demo()
        found = []
        for email in ("editor@demo.relay", "lea.martin@demo.relay"):
            await Member.update({Member.language: "fr"}).where(Member.email == email)
            member = await Member.objects().where(Member.email == email).first()
            assert member is not None
            found.append(await session_cookie(member))
        return found

    for (name, value), expected in zip(
        seed(cookies),
        (
            ["Fil", "Studio", "Suivi", "Campagnes", "Statistiques", "Moi"],
            ["Fil", "Points", "Récompenses", "Moi"],
        ),
        strict=True,
    ):
        page = open_desk(browser, live_server.url, locale="fr-FR")
        page.context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
        try:
            page.goto("/me")
            nav = page.get_by_role("navigation", name="Principale")
            expect(nav.get_by_role("link")).to_have_text(expected)
            lines = page.evaluate(
                """() => [...document.querySelectorAll('.tabbar__tab')].map(tab => {
                    const walker = document.createTreeWalker(tab, NodeFilter.SHOW_TEXT);
                    const tops = new Set();
                    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                        if (!node.textContent.trim()) continue;
                        const range = document.createRange();
                        range.selectNodeContents(node);
                        for (const rect of range.getClientRects()) {
                            if (rect.width > 0) tops.add(Math.round(rect.top));
                        }
                    }
                    return [tab.innerText.trim(), tops.size];
                })"""
            )
            assert all(count == 1 for _label, count in lines), lines
            no_horizontal_overflow(page)
            check_accessibility(page)
        finally:
            page.context.close()
