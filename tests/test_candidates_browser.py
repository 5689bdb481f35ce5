"""Candidates in a real Chromium at phone size: a shared link counts a genuine click."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, expect

from app.sharing import service as sharing
from tests.browser import (
    SHARE_STUB,
    check_accessibility,
    finish_phone,
    open_phone,
    phone_as,
    phone_as_member,
)
from tests.conftest import LiveServer
from tests.factories import make_item, make_member
from tests.helpers import eventually

pytestmark = pytest.mark.browser


def test_a_candidate_opening_a_shared_link_is_one_genuine_click_for_the_sharer(
    phone: Page, seed: Any
) -> None:
    async def shared() -> tuple[int, int, str]:
        sharer = await make_member(name="Léa Martin")
        item_id = await make_item("offer", "Data engineer")
        return sharer.id, item_id, await sharing.link_code(sharer.id, item_id)

    sharer_id, item_id, code = seed(shared)
    with phone.expect_response(lambda r: r.url.endswith(f"/r/{code}/seen")) as beacon:
        phone.goto(f"/r/{code}")
    assert beacon.value.status == 204
    expect(phone.get_by_text("Shared by Léa")).to_be_visible()
    expect(phone.get_by_role("heading", name="Data engineer")).to_be_visible()
    check_accessibility(phone)

    def clicks() -> int:
        return seed(lambda: sharing.genuine_clicks_by_item(sharer_id, [item_id]))[item_id]

    eventually(lambda: clicks() == 1)
    phone.reload()  # the same visitor again, the same day
    check_accessibility(phone)
    eventually(lambda: seed(lambda: _visits(code)) == 2)
    assert clicks() == 1


async def _visits(code: str) -> int:
    from app.candidates.tables import Visit

    return await Visit.count().where(Visit.link.code == code)


def test_a_candidate_applies_with_a_cv_the_editor_moves_them_and_the_sharer_follows(
    browser: Browser, live_server: Any, seed: Any, tmp_path: Path
) -> None:
    async def shared() -> tuple[int, int, str]:
        sharer = await make_member(name="Léa Martin")
        item_id = await make_item("offer", "Data engineer")
        return sharer.id, item_id, await sharing.link_code(sharer.id, item_id)

    sharer_id, item_id, code = seed(shared)
    cv = tmp_path / "jeanne-durand.pdf"
    cv.write_bytes(b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")

    candidate = open_phone(browser, live_server.url)  # a separate browser context
    try:
        candidate.goto(f"/r/{code}")
        expect(candidate.get_by_text("Shared by Léa")).to_be_visible()
        check_accessibility(candidate)
        candidate.get_by_label("Your name").fill("Jeanne Durand")
        candidate.get_by_label("Email").fill("jeanne@")
        candidate.get_by_role("button", name="Send my application").click()
        expect(candidate.get_by_text("Enter an email address such as")).to_be_visible()
        expect(candidate.get_by_text("Tick the box to agree")).to_be_visible()
        check_accessibility(candidate)
        candidate.get_by_label("Email").fill("jeanne.durand@example.org")
        candidate.get_by_label("CV (PDF or Word, up to 5 MB)").set_input_files(str(cv))
        candidate.get_by_label("I agree that the company keeps my details").check()
        candidate.get_by_role("button", name="Send my application").click()
        expect(candidate.get_by_text("Your application has been sent")).to_be_visible()
        check_accessibility(candidate)
    finally:
        finish_phone(candidate)

    editor = phone_as(browser, live_server, seed, role="editor", name="Inès Moreau")
    try:
        editor.goto("/pipeline")
        check_accessibility(editor)
        editor.get_by_role("link", name="Data engineer").click()
        expect(editor.get_by_text("Referred by Léa Martin")).to_be_visible()
        expect(editor.get_by_text("Jeanne Durand")).to_be_visible()
        check_accessibility(editor)
        with editor.expect_response(lambda r: r.url.endswith("/stage")):
            editor.get_by_label("Stage").select_option("interview")
        expect(editor.get_by_label("Stage")).to_have_value("interview")
        check_accessibility(editor)
    finally:
        finish_phone(editor)

    sharer = phone_as_member(browser, live_server, seed, sharer_id)
    try:
        sharer.goto("/me")
        check_accessibility(sharer)
        sharer.get_by_role("link", name="My referrals").click()
        expect(sharer.get_by_text("Jeanne D. · Data engineer")).to_be_visible()
        expect(sharer.get_by_text("Interview")).to_be_visible()
        check_accessibility(sharer)
    finally:
        finish_phone(sharer)
    assert item_id


def test_the_admin_pages_and_the_recommendation_pages_work_at_phone_size(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    item_id = seed(lambda: make_item("offer", "Data engineer"))
    admin = phone_as(browser, live_server, seed, role="admin", name="Camille Laurent")
    try:
        admin.goto("/admin/clicks")
        expect(admin.get_by_role("heading", name="What counts as a click")).to_be_visible()
        check_accessibility(admin)
        admin.get_by_role("link", name="Candidates").click()
        admin.get_by_label("Privacy notice in English").fill("We keep your data 6 months.")
        admin.get_by_label("Days a shared link keeps crediting its sharer").fill("0")
        admin.get_by_role("button", name="Save").click()
        expect(admin.get_by_text("Enter a number of days from 1 to 365.")).to_be_visible()
        check_accessibility(admin)
        admin.get_by_label("Days a shared link keeps crediting its sharer").fill("45")
        admin.get_by_role("button", name="Save").click()
        expect(admin.get_by_text("Saved.")).to_be_visible()
        check_accessibility(admin)
    finally:
        finish_phone(admin)

    employee = phone_as(browser, live_server, seed, name="Hugo Bernard")
    try:
        employee.goto(f"/items/{item_id}")
        check_accessibility(employee)
        employee.get_by_role("link", name="Recommend a friend").click()
        expect(employee.get_by_role("heading", name="Recommend a friend")).to_be_visible()
        check_accessibility(employee)
        employee.get_by_role("button", name="Make their link").click()
        expect(employee.get_by_text("Enter your friend's name.")).to_be_visible()
        expect(employee.get_by_label("Your friend's name")).to_have_attribute(
            "aria-invalid", "true"
        )
        check_accessibility(employee)
        employee.goto("/recommendations/not-a-real-token")
        expect(employee.get_by_text("This link can no longer be used")).to_be_visible()
        check_accessibility(employee)
    finally:
        finish_phone(employee)


def test_a_friend_recommended_by_email_accepts_and_the_referrer_follows_their_stage(
    browser: Browser,
    env: dict[str, str],
    seed: Any,
    tmp_path: Path,
    smtp_server: Any,
) -> None:
    port, mailbox = smtp_server
    # Relay as shipped in one process: the embedded sender mails the consent request at once.
    server = LiveServer(
        {**env, "SMTP_URL": f"smtp://127.0.0.1:{port}", "RELAY_EMBEDDED_WORKER": "on"},
        tmp_path / "server.log",
    )
    try:
        item_id = seed(lambda: make_item("offer", "Data engineer"))
        employee = phone_as(browser, server, seed, name="Léa Martin")
        try:
            employee.goto(f"/items/{item_id}")
            check_accessibility(employee)
            employee.get_by_role("link", name="Recommend a friend").click()
            expect(employee.get_by_role("heading", name="Recommend a friend")).to_be_visible()
            check_accessibility(employee)
            employee.get_by_label("Your friend's name").fill("Paul Lefèvre")
            employee.get_by_label("Their email, if you want Relay to send them the link").fill(
                "paul.lefevre@example.org"
            )
            employee.get_by_label("Why them?").fill("We built the billing system together.")
            employee.get_by_role("button", name="Make their link").click()
            expect(employee.get_by_text("We have asked Paul Lefèvre")).to_be_visible()
            check_accessibility(employee)
            employee.get_by_role("link", name="My referrals").click()
            expect(employee.get_by_text("Waiting for them to agree")).to_be_visible()
            check_accessibility(employee)

            [mail] = mailbox.wait(1)
            assert mail["To"] == "paul.lefevre@example.org"
            body = mail.get_payload(decode=True).decode()
            link = re.search(r"https?://\S+(/recommendations/\S+)", body)
            assert link, body

            friend = open_phone(browser, server.url)  # the friend's own browser
            try:
                friend.goto(link.group(1))
                expect(friend.get_by_text("Léa Martin recommended you")).to_be_visible()
                expect(friend.get_by_label("Email")).to_have_value("paul.lefevre@example.org")
                check_accessibility(friend)
                friend.get_by_label("I agree that the company contacts me").check()
                friend.get_by_role("button", name="Yes, you may contact me").click()
                expect(friend.get_by_text("will contact you")).to_be_visible()
                check_accessibility(friend)
            finally:
                finish_phone(friend)

            editor = phone_as(browser, server, seed, role="editor", name="Inès Moreau")
            try:
                editor.goto(f"/pipeline/{item_id}")
                expect(editor.get_by_text("Paul Lefèvre")).to_be_visible()
                expect(editor.get_by_text("Referred by Léa Martin")).to_be_visible()
                check_accessibility(editor)
                with editor.expect_response(lambda r: r.url.endswith("/stage")) as moved:
                    editor.get_by_label("Stage").select_option("interview")
                assert moved.value.status == 200
                expect(editor.get_by_label("Stage")).to_have_value("interview")
                check_accessibility(editor)
            finally:
                finish_phone(editor)

            employee.reload()
            expect(employee.get_by_text("Paul Lefèvre · Data engineer")).to_be_visible()
            expect(employee.get_by_text("Interview")).to_be_visible()
            check_accessibility(employee)
        finally:
            finish_phone(employee)
    finally:
        server.stop()


def test_the_candidate_reads_the_privacy_notice_they_consent_to_in_their_language(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    async def draft() -> int:
        return await make_item("offer", "Cheffe de partie", published=False, language="fr")

    offer = seed(draft)
    editor = phone_as(browser, live_server, seed, role="editor")
    try:
        editor.goto(f"/studio/{offer}")
        publish = editor.get_by_role("button", name="Publish now")
        expect(publish).to_have_accessible_description(re.compile("the privacy notice"))
        check_accessibility(editor)
        publish.click()
        expect(editor.locator("#publish-error")).to_contain_text("an admin writes it")
        check_accessibility(editor)
    finally:
        finish_phone(editor)

    admin = phone_as(browser, live_server, seed, role="admin")
    try:
        admin.goto("/admin/candidates")
        admin.get_by_label("Privacy notice in French").fill(
            "Nous gardons vos informations **6 mois**."
        )
        admin.get_by_label("Privacy notice in English").fill(
            "We keep your details for **6 months**."
        )
        admin.get_by_role("button", name="Save").click()
        expect(admin.get_by_text("Saved.")).to_be_visible()
        check_accessibility(admin)
        admin.goto(f"/studio/{offer}")
        admin.get_by_role("button", name="Publish now").click()
        expect(admin.locator("[data-status]")).to_have_text("Published")
        check_accessibility(admin)
    finally:
        finish_phone(admin)

    async def link() -> str:
        return await sharing.link_code((await make_member()).id, offer)

    code = seed(link)
    candidate = open_phone(browser, live_server.url, locale="fr-FR")
    try:
        candidate.goto(f"/r/{code}")
        consent = candidate.get_by_label("J’accepte que l’entreprise conserve")
        expect(consent).to_have_accessible_description(re.compile("Lire l’avis"))
        check_accessibility(candidate)
        with candidate.context.expect_page() as opened:
            candidate.get_by_role("link", name="Lire l’avis de confidentialité").click()
        notice = opened.value
        expect(notice.get_by_role("heading", name="Avis de confidentialité")).to_be_visible()
        expect(notice.locator("[data-privacy-notice]")).to_have_text(
            "Nous gardons vos informations 6 mois."
        )
        check_accessibility(notice)
    finally:
        finish_phone(candidate)


def test_htmx_swaps_apply_no_inline_style_the_csp_refuses(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    """htmx writes no <style> of its own and does not copy style attributes while settling a
    swap: elements a script or the browser styled (autofill does) keep the CSP quiet."""

    async def shared() -> str:
        item_id = await make_item("offer", "Data engineer")
        return await sharing.link_code((await make_member()).id, item_id)

    code = seed(shared)
    candidate = open_phone(browser, live_server.url)
    try:
        candidate.goto(f"/r/{code}")
        assert candidate.evaluate("() => document.querySelectorAll('style').length") == 0
        assert (
            candidate.evaluate(
                "() => getComputedStyle(Object.assign(document.body.appendChild("
                "document.createElement('span')), {className: 'htmx-indicator'})).opacity"
            )
            == "0"
        )  # its indicator styles come from app.css
        for field in ["#apply-name", "#apply-email", "#apply-consent", "#apply-message"]:
            candidate.locator(field).evaluate("(el) => { el.style.outlineOffset = '1px'; }")
        candidate.get_by_label("Your name").fill("Jeanne Durand")
        candidate.get_by_role("button", name="Send my application").click()
        expect(candidate.get_by_text("Tick the box to agree")).to_be_visible()
        candidate.locator("#apply-email").evaluate("(el) => { el.style.outlineOffset = '2px'; }")
        candidate.get_by_label("Email").fill("jeanne.durand@example.org")
        candidate.get_by_label("I agree that the company keeps my details").check()
        candidate.get_by_role("button", name="Send my application").click()
        expect(candidate.get_by_text("Your application has been sent")).to_be_visible()
        check_accessibility(candidate)
    finally:
        finish_phone(candidate)  # fails on any console error, a CSP violation included


SHARE_STUB_AND_CLIPBOARD = (
    SHARE_STUB
    + """
window.__copied = [];
Object.defineProperty(navigator, "clipboard", {
  value: { writeText: async (text) => { window.__copied.push(text); } },
});
"""
)


def test_without_mail_an_employee_sends_a_single_use_link_and_the_friend_answers_with_it(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    """A default install (no SMTP_URL): the employee makes a link and sends it through the
    phone's share sheet; the friend fills in their details and agrees; HR saw only "pending"
    until then; the link then says it can no longer be used."""
    item_id = seed(lambda: make_item("offer", "Data engineer"))
    employee = phone_as(browser, live_server, seed, name="Léa Martin")
    employee.add_init_script(SHARE_STUB_AND_CLIPBOARD)
    try:
        employee.goto(f"/items/{item_id}")
        check_accessibility(employee)
        employee.get_by_role("link", name="Recommend a friend").click()
        expect(employee.get_by_role("heading", name="Recommend a friend")).to_be_visible()
        expect(employee.get_by_label("Their email", exact=False)).to_have_count(0)
        check_accessibility(employee)
        employee.get_by_label("Your friend's name").fill("Paul Lefèvre")
        employee.get_by_label("Why them?").fill("We built the billing system together.")
        employee.get_by_role("button", name="Make their link").click()
        expect(
            employee.get_by_role("heading", name="Send this link to Paul Lefèvre")
        ).to_be_visible()
        link = employee.get_by_label("Their link").input_value()
        assert re.fullmatch(rf"{re.escape(live_server.url)}/recommendations/[\w-]+", link)
        check_accessibility(employee)
        employee.get_by_role("button", name="Send the link…").click()
        expect(
            employee.get_by_text("Sent. Follow Paul Lefèvre under My referrals.")
        ).to_be_visible()
        [shared] = employee.evaluate("window.__shared")
        assert shared["url"] == link and "Hello Paul Lefèvre" in shared["text"]
        # The message links, for a phone without a share sheet: private messages only.
        whatsapp = employee.get_by_role("link", name="WhatsApp").get_attribute("href") or ""
        assert whatsapp.startswith("https://wa.me/?text=") and quote(link, safe="") in whatsapp
        sms = employee.get_by_role("link", name="SMS").get_attribute("href") or ""
        assert sms.startswith("sms:") and quote(link, safe="") in sms
        employee.get_by_role("button", name="Copy the message").click()
        expect(employee.get_by_text("Message and link copied.")).to_be_visible()
        assert employee.evaluate("window.__copied")[0].endswith(link)
        employee.set_viewport_size({"width": 1280, "height": 900})
        expect(
            employee.get_by_role("heading", name="Send this link to Paul Lefèvre")
        ).to_be_visible()
        check_accessibility(employee)
        employee.set_viewport_size({"width": 390, "height": 844})
        employee.get_by_role("link", name="My referrals").click()
        expect(employee.get_by_text("Waiting for them to agree")).to_be_visible()
        check_accessibility(employee)
    finally:
        finish_phone(employee)

    editor = phone_as(browser, live_server, seed, role="editor", name="Inès Moreau")
    try:
        editor.goto(f"/pipeline/{item_id}")
        expect(editor.get_by_text("A recommendation is pending")).to_be_visible()
        expect(editor.get_by_text("Paul")).to_have_count(0)
        check_accessibility(editor)
    finally:
        finish_phone(editor)

    friend = open_phone(browser, live_server.url)  # Paul's own phone
    try:
        friend.goto(link)
        expect(friend.get_by_text("Léa Martin recommended you")).to_be_visible()
        expect(friend.get_by_label("Your name")).to_have_value("Paul Lefèvre")
        check_accessibility(friend)
        friend.get_by_label("Email").fill("paul@")
        friend.get_by_role("button", name="Yes, you may contact me").click()
        expect(friend.get_by_text("Enter an email address such as")).to_be_visible()
        expect(friend.get_by_text("Tick the box to agree")).to_be_visible()
        check_accessibility(friend)
        friend.get_by_label("Email").fill("paul.lefevre@example.org")
        friend.get_by_label("I agree that the company contacts me").check()
        friend.get_by_role("button", name="Yes, you may contact me").click()
        expect(friend.get_by_text("will contact you")).to_be_visible()
        check_accessibility(friend)
        friend.goto(link)
        expect(friend.get_by_text("This link can no longer be used")).to_be_visible()
        check_accessibility(friend)
    finally:
        finish_phone(friend)

    editor = phone_as(browser, live_server, seed, role="editor", name="Inès Moreau")
    try:
        editor.goto(f"/pipeline/{item_id}")
        expect(editor.get_by_text("Paul Lefèvre")).to_be_visible()
        expect(editor.get_by_text("Referred by Léa Martin")).to_be_visible()
        check_accessibility(editor)
    finally:
        finish_phone(editor)


def test_a_candidate_reading_a_shared_story_goes_on_to_an_open_offer_credited_to_the_sharer(
    phone: Page, seed: Any
) -> None:
    async def shared() -> str:
        from app.candidates.tables import CandidatePolicy

        sharer = await make_member(name="Léa Martin")
        story = await make_item("story", "We are hiring in Lyon")
        await make_item("offer", "Data engineer")
        await CandidatePolicy.insert(CandidatePolicy(careers_url="https://jobs.example.com/"))
        return await sharing.link_code(sharer.id, story)

    code = seed(shared)
    phone.goto(f"/r/{code}")
    expect(phone.get_by_role("heading", name="We are hiring in Lyon")).to_be_visible()
    offers = phone.get_by_role("region", name="Open offers")
    expect(
        offers.get_by_role("link", name="See all our jobs on our careers site")
    ).to_have_attribute("href", "https://jobs.example.com/")
    check_accessibility(phone)
    phone.set_viewport_size({"width": 1280, "height": 900})
    expect(offers.get_by_role("link", name="Data engineer")).to_be_visible()
    check_accessibility(phone)
    phone.set_viewport_size({"width": 390, "height": 844})
    offers.get_by_role("link", name="Data engineer").click()
    expect(phone.get_by_role("heading", name="Data engineer")).to_be_visible()
    expect(phone.get_by_text("Shared by Léa")).to_be_visible()
    assert re.search(r"/r/[\w-]+$", phone.url) and not phone.url.endswith(code)
    check_accessibility(phone)
