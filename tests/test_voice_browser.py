"""Employees' stories and questions in a real Chromium at phone size, in French and English."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from app.notifications.tables import Nudge
from app.voice.tables import Proposal
from tests.browser import SHARE_STUB, check_accessibility, finish_phone, phone_as, phone_as_member
from tests.factories import jpeg_bytes, make_member, make_team

pytestmark = pytest.mark.browser


def test_an_employee_story_is_edited_approved_published_with_her_name_and_shared(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    team = seed(lambda: make_team("Data team"))
    author_row = seed(lambda: make_member(name="Léa Martin", team=team, language="fr"))
    author = phone_as_member(browser, live_server, seed, author_row.id)
    try:
        author.goto("/")
        check_accessibility(author)
        author.get_by_role("link", name="Racontez votre histoire").click()
        expect(author.get_by_role("heading", name="Racontez votre histoire")).to_be_visible()
        check_accessibility(author)
        author.get_by_role("button", name="Envoyer à l’équipe du programme").click()
        expect(author.get_by_text("Donnez un titre à votre histoire.")).to_be_visible()
        check_accessibility(author)
        author.get_by_label("Titre").fill("Mon premier mois")
        author.get_by_label("Votre histoire").fill("On a livré **beaucoup**.")
        author.get_by_label("Photos").set_input_files(
            {"name": "equipe.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}
        )
        author.get_by_label("Mon nom peut figurer sur la page publique").check()
        author.get_by_role("button", name="Envoyer à l’équipe du programme").click()
        expect(author.get_by_text("Merci ! L’équipe du programme va lire")).to_be_visible()
        expect(author.get_by_text("En attente de l’équipe du programme")).to_be_visible()
        check_accessibility(author)
    finally:
        finish_phone(author)

    editor = phone_as(browser, live_server, seed, role="editor", name="Inès Moreau")
    try:
        editor.goto("/studio")
        check_accessibility(editor)
        editor.get_by_role("link", name="Employees' voice").click()
        expect(editor.get_by_role("heading", name="Stories to moderate")).to_be_visible()
        check_accessibility(editor)
        editor.get_by_role("link", name="Mon premier mois").click()
        expect(editor.get_by_text("By Léa Martin, Data team")).to_be_visible()
        expect(editor.get_by_role("img", name="Photo 1 of the story")).to_be_visible()
        check_accessibility(editor)
        editor.get_by_label("Text (Markdown)").fill("On a livré **beaucoup**, en équipe.")
        editor.get_by_role("button", name="Approve").click()
        expect(editor.get_by_text("Sent to the author")).to_be_visible()
        check_accessibility(editor)
    finally:
        finish_phone(editor)

    author = phone_as_member(browser, live_server, seed, author_row.id)
    author.add_init_script(SHARE_STUB)
    try:
        author.goto("/")
        # Told in the app (and by push: the nudge below)…
        author.get_by_role("link", name="L’équipe du programme a répondu").click()
        check_accessibility(author)
        author.get_by_role("link", name="Mon premier mois").click()
        expect(author.get_by_text("en équipe.")).to_be_visible()
        check_accessibility(author)
        author.get_by_role("button", name="Publier cette version").click()
        card_title = author.get_by_role("heading", name="Mon premier mois", level=1)
        expect(card_title).to_be_visible()
        expect(author.get_by_text("Par Léa, Data team")).to_be_visible()
        check_accessibility(author)
        author.goto("/")
        card = author.get_by_role("article", name="Mon premier mois")
        expect(card.get_by_text("Par Léa, Data team")).to_be_visible()
        check_accessibility(author)
        with author.expect_response(lambda r: r.url.endswith("/shares")):
            card.locator("[data-share-now]").click()
        shared = author.evaluate("window.__shared")
        assert len(shared) == 1 and "/r/" in shared[0]["url"]
        url = shared[0]["url"]
    finally:
        finish_phone(author)

    def nudges() -> list[str]:
        return [
            r["title"]
            for r in seed(
                lambda: (
                    Nudge.select(Nudge.title)
                    .where(Nudge.member == author_row.id)
                    .order_by(Nudge.id)
                )
            )
        ]

    assert nudges() == ["Votre histoire a été retouchée", "Votre histoire est publiée"]
    assert seed(lambda: Proposal.select(Proposal.state).first())["state"] == "published"

    visitor = browser.new_context()
    page = visitor.new_page()
    try:
        page.goto(url)
        expect(page.get_by_role("heading", name="Mon premier mois")).to_be_visible()
        # A visitor reads the page's words in their browser's language (English here).
        expect(page.get_by_text("By Léa, Data team")).to_be_visible()
        check_accessibility(page)
    finally:
        visitor.close()


def test_a_member_asks_a_question_that_is_answered_and_published_to_the_faq(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    member = seed(lambda: make_member(name="Zoé Petit"))
    phone = phone_as_member(browser, live_server, seed, member.id)
    try:
        phone.goto("/")
        check_accessibility(phone)
        phone.get_by_role("link", name="Ask the team").click()
        expect(phone.get_by_role("heading", name="Ask the team")).to_be_visible()
        check_accessibility(phone)
        phone.get_by_label("Your question").fill("May I share job offers on TikTok?")
        phone.get_by_label("Others may see it, without my name").check()
        phone.get_by_role("button", name="Send my question").click()
        expect(phone.get_by_text("Your question is sent.")).to_be_visible()
        expect(phone.get_by_text("Waiting for an answer")).to_be_visible()
        check_accessibility(phone)
    finally:
        finish_phone(phone)

    editor = phone_as(browser, live_server, seed, role="editor", language="fr")
    try:
        editor.goto("/studio/voice")
        check_accessibility(editor)
        editor.get_by_role("link", name="May I share job offers on TikTok?").click()
        check_accessibility(editor)
        editor.get_by_label("Réponse (Markdown)").fill("Yes: **every network** works.")
        editor.get_by_label("Publier la question et sa réponse dans la FAQ").check()
        editor.get_by_label("La question telle que la FAQ l’affiche").fill(
            "Can I share offers on TikTok?"
        )
        editor.get_by_role("button", name="Envoyer la réponse").click()
        expect(editor.get_by_text("Réponse enregistrée")).to_be_visible()
        check_accessibility(editor)
    finally:
        finish_phone(editor)

    phone = phone_as_member(browser, live_server, seed, member.id)
    try:
        phone.goto("/")
        check_accessibility(phone)
        phone.get_by_role("link", name="The programme team replied").click()
        expect(phone.locator("#questions").get_by_text("every network")).to_be_visible()
        check_accessibility(phone)
        phone.goto("/guides/linkedin")
        check_accessibility(phone)
        phone.get_by_role("link", name="Questions and answers").click()
        expect(phone.get_by_role("heading", name="Questions and answers")).to_be_visible()
        check_accessibility(phone)
        phone.get_by_label("Search the questions").fill("tiktok")
        expect(phone.get_by_role("heading", name="Can I share offers on TikTok?")).to_be_visible()
        expect(phone.get_by_text("Zoé")).to_have_count(0)
        phone.get_by_label("Search the questions").fill("payroll")
        expect(phone.get_by_text("No question matches.")).to_be_visible()
        check_accessibility(phone)
    finally:
        finish_phone(phone)
    titles = seed(lambda: Nudge.select(Nudge.title).where(Nudge.member == member.id))
    assert [t["title"] for t in titles] == ["The programme team answered you"]
