"""The rewards shop in a real Chromium at phone size: redeem, approve, deliver, reject."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from app.points import ledger
from app.points.tables import Reason
from app.rewards.tables import Reward
from tests.browser import check_accessibility, finish_phone, phone_as, phone_as_member
from tests.factories import jpeg_bytes, make_member

pytestmark = pytest.mark.browser


def test_an_employee_redeems_and_follows_approval_delivery_and_a_refund(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    async def shop() -> int:
        member = await make_member(name="Sarah Cohen")
        await ledger.credit(member.id, 1000, Reason.correction.value, "welcome", note="Welcome")
        await Reward.insert(
            Reward(name="Café voucher", description="A **10 €** voucher.", cost=150),
            Reward(name="A day off", cost=600, stock=3, limit_per_member=1),
        )
        return member.id

    member_id = seed(shop)
    employee = phone_as_member(browser, live_server, seed, member_id)
    try:
        employee.goto("/")
        check_accessibility(employee)
        employee.get_by_role("link", name="Rewards").click()
        expect(employee.get_by_role("heading", name="Rewards", exact=True)).to_be_visible()
        expect(employee.get_by_text("1000 points", exact=True)).to_be_visible()
        check_accessibility(employee)
        employee.get_by_role("link", name="Café voucher").click()
        expect(employee.get_by_role("heading", name="Café voucher")).to_be_visible()
        check_accessibility(employee)
        employee.get_by_role("link", name="Redeem").click()
        expect(
            employee.get_by_text("Spend 150 of your 1000 points on Café voucher?")
        ).to_be_visible()
        check_accessibility(employee)
        employee.get_by_role("button", name="Confirm: spend 150 points").click()
        expect(employee.get_by_text("Your request for Café voucher is sent")).to_be_visible()
        expect(employee.locator("[data-balance]")).to_have_text("850 points")  # one balance
        expect(employee.get_by_text("1000 points")).to_have_count(0)
        check_accessibility(employee)

        employee.goto("/rewards")
        employee.get_by_role("link", name="A day off").click()
        expect(employee.get_by_role("heading", name="A day off")).to_be_visible()
        check_accessibility(employee)
        employee.get_by_role("link", name="Redeem").click()
        employee.get_by_role("button", name="Confirm: spend 600 points").click()
        expect(employee.get_by_text("Your request for A day off is sent")).to_be_visible()
        expect(employee.locator("[data-balance]")).to_have_text("250 points")
        check_accessibility(employee)
        employee.get_by_role("link", name="Follow it in My rewards").click()
        expect(employee.get_by_role("heading", name="My rewards")).to_be_visible()
        expect(employee.get_by_text("Requested", exact=True)).to_have_count(2)
        check_accessibility(employee)
    finally:
        finish_phone(employee)

    editor = phone_as(browser, live_server, seed, role="editor", name="Inès Moreau")
    try:
        editor.goto("/me")
        check_accessibility(editor)
        editor.get_by_role("link", name="Reward requests").click()
        expect(editor.get_by_role("heading", name="Reward requests")).to_be_visible()
        check_accessibility(editor)
        voucher = editor.locator("li.request", has_text="Café voucher")
        voucher.get_by_role("button", name="Approve").click()
        expect(voucher.get_by_text("Approved")).to_be_visible()
        voucher.get_by_label("Note for them").fill("Gift code CAFE-7731, valid until March")
        check_accessibility(editor)
        voucher.get_by_role("button", name="Mark as delivered").click()
        expect(voucher.get_by_text("Delivered", exact=True)).to_be_visible()
        expect(voucher.get_by_text("With a note for them.")).to_be_visible()
        check_accessibility(editor)

        day_off = editor.locator("li.request", has_text="A day off")
        day_off.get_by_text("Reject and refund", exact=True).click()
        day_off.get_by_role("button", name="Reject and refund the points").click()
        expect(day_off.get_by_text("Say why, so that the person understands.")).to_be_visible()
        check_accessibility(editor)
        day_off.get_by_label("Why (they will read it)").fill("The whole team is needed that week")
        day_off.get_by_role("button", name="Reject and refund the points").click()
        expect(day_off.get_by_text("points refunded")).to_be_visible()
        check_accessibility(editor)
    finally:
        finish_phone(editor)

    employee = phone_as_member(browser, live_server, seed, member_id)
    try:
        employee.goto("/me/rewards")
        expect(employee.get_by_text("Gift code CAFE-7731, valid until March")).to_be_visible()
        expect(employee.get_by_text("The whole team is needed that week")).to_be_visible()
        expect(employee.get_by_text("600 points refunded")).to_be_visible()
        check_accessibility(employee)
        employee.get_by_role("link", name="All rewards").click()
        expect(employee.get_by_text("850 points", exact=True)).to_be_visible()
        check_accessibility(employee)
    finally:
        finish_phone(employee)


def test_a_reward_out_of_reach_says_why_at_its_redeem_address_instead_of_a_confirm_button(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    async def shop() -> tuple[int, int]:
        member = await make_member(name="Sarah Cohen")
        await ledger.credit(member.id, 263, Reason.correction.value, "welcome", note="Welcome")
        rows = await Reward.insert(Reward(name="A bike", cost=2000)).returning(Reward.id)
        return member.id, rows[0]["id"]

    member_id, bike = seed(shop)
    employee = phone_as_member(browser, live_server, seed, member_id)
    try:
        employee.goto(f"/rewards/{bike}/redeem")
        expect(employee.get_by_role("alert")).to_have_text("You cannot redeem this reward now.")
        expect(employee.get_by_text("1737 more points to go")).to_be_visible()
        expect(employee.get_by_role("button", name="Confirm: spend 2000 points")).to_have_count(0)
        check_accessibility(employee)
        employee.set_viewport_size({"width": 1280, "height": 900})
        expect(employee.get_by_text("1737 more points to go")).to_be_visible()
        check_accessibility(employee)
    finally:
        finish_phone(employee)


def test_an_admin_adds_a_reward_with_an_image_at_phone_size(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    admin = phone_as(browser, live_server, seed, role="admin", name="Camille Laurent")
    try:
        admin.goto("/me")
        check_accessibility(admin)
        admin.get_by_role("link", name="Manage rewards").click()
        expect(admin.get_by_role("heading", name="Manage rewards")).to_be_visible()
        check_accessibility(admin)
        admin.get_by_role("link", name="New reward").click()
        admin.get_by_label("Name").fill("Company hoodie")
        admin.get_by_label("Cost in points").fill("0")
        admin.get_by_role("button", name="Create the reward").click()
        expect(
            admin.get_by_text("Enter a cost in points: a whole number above zero.")
        ).to_be_visible()
        check_accessibility(admin)
        admin.get_by_label("Cost in points").fill("500")
        admin.get_by_label("Stock (empty: unlimited)").fill("25")
        admin.get_by_label("Description (Markdown)").fill("Organic cotton, **XS to XXL**.")
        admin.get_by_label("Image (JPEG").set_input_files(
            {"name": "hoodie.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes(1200, 675)}
        )
        admin.get_by_role("button", name="Create the reward").click()
        expect(admin.get_by_text("Saved.")).to_be_visible()
        expect(admin.get_by_role("img", name="Current image")).to_be_visible()
        check_accessibility(admin)
        admin.goto("/rewards")
        expect(admin.get_by_role("link", name="Company hoodie")).to_be_visible()
        expect(admin.get_by_text("25 left")).to_be_visible()
        check_accessibility(admin)
    finally:
        finish_phone(admin)


def test_an_editor_sees_their_own_referral_and_reward_request_without_buttons(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    from app.candidates.tables import Candidate
    from app.core.clock import now
    from app.rewards import service
    from tests.factories import make_item

    async def own() -> tuple[int, int]:
        editor = await make_member(role="editor", name="Inès Moreau")
        item_id = await make_item("offer", "Data engineer")
        await Candidate.insert(
            Candidate(
                kind="application",
                item=item_id,
                referrer=editor.id,
                name="Jeanne Durand",
                email="jeanne.durand@example.org",
                consent_at=now(),
            )
        )
        await ledger.credit(editor.id, 500, Reason.correction.value, "welcome", note="Welcome")
        reward = await Reward.insert(Reward(name="Café voucher", cost=150)).returning(Reward.id)
        await service.redeem(editor.id, reward[0]["id"])
        return editor.id, item_id

    editor_id, item_id = seed(own)
    editor = phone_as_member(browser, live_server, seed, editor_id)
    try:
        editor.goto(f"/pipeline/{item_id}")
        jeanne = editor.locator("li.pipeline__candidate", has_text="Jeanne Durand")
        expect(jeanne.get_by_text("Your own referral: another editor or an admin decides.")).to_be_visible()  # fmt: skip
        expect(jeanne.get_by_label("Stage")).to_have_count(0)
        check_accessibility(editor)
        editor.goto("/rewards/requests")
        voucher = editor.locator("li.request", has_text="Café voucher")
        expect(voucher.get_by_text("Your own reward request: another editor or an admin decides.")).to_be_visible()  # fmt: skip
        expect(voucher.get_by_role("button")).to_have_count(0)
        check_accessibility(editor)
    finally:
        finish_phone(editor)
