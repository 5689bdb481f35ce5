"""Search ignores accents and case, the same on SQLite and PostgreSQL: the feed, the people
directory and the campaign link picker read a folded ``search_text`` column kept in step on
write, and the migration that added it filled it for the rows already there."""

from __future__ import annotations

import importlib

from litestar.testing import AsyncTestClient

from app.accounts.tables import Member
from app.content import editing
from app.content.tables import ContentItem
from app.core.forms import FormResult
from app.core.search import contains_pattern, folded
from tests.factories import make_item, make_member
from tests.helpers import HTML, sign_in


def test_folding_drops_accents_case_and_extra_spaces() -> None:
    assert folded("  Développeur   PYTHON ") == "developpeur python"
    assert folded("Chef de projet ÉTÉ · Œuvres") == "chef de projet ete · oeuvres"
    assert folded("Straße") == "strasse"
    assert contains_pattern("DÉVELOPPEUR") == "%developpeur%"
    assert contains_pattern("100%") == "%100%"
    assert contains_pattern("  ") is None and contains_pattern("%") is None


async def test_the_feed_finds_an_offer_whatever_the_accents_and_case(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await make_item("offer", title="Développeur Python")
    await make_item(title="Hackathon d’été")
    await sign_in(client)
    for term in ("developpeur", "développeur", "DEVELOPPEUR", "Développeur", "loppeur pyth"):
        found = await client.get("/", params={"q": term}, headers=HTML)
        assert "Développeur Python" in found.text, term
        assert "Hackathon" not in found.text, term
    summer = await client.get("/", params={"q": "ETE"}, headers=HTML)
    assert "Hackathon d’été" in summer.text
    nothing = await client.get("/", params={"q": "développeuse"}, headers=HTML)
    assert "Nothing matches" in nothing.text


async def test_a_title_changed_in_the_studio_is_found_by_its_new_words(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    item = await make_item(title="Old title")
    row = await ContentItem.select().where(ContentItem.id == item).first()
    assert row is not None and row["search_text"] == "old title"
    form = FormResult.of({})
    form.values = {"title": "Équipe Sécurité", "body": "", "teams": [], "sites": []}
    await editing.save_item(item, form, by=None)
    row = await ContentItem.select(ContentItem.search_text).where(ContentItem.id == item).first()
    assert row == {"search_text": "equipe securite"}


async def test_the_people_directory_finds_a_name_without_its_accents(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await make_member(name="Éloïse Martin", email="eloise.martin@example.com")
    await make_member(name="Hugo Bernard")
    await sign_in(client, "admin")
    for term in ("eloise", "ÉLOÏSE", "Eloïse mar", "ELOISE.MARTIN@"):
        page = await client.get("/admin/people", params={"q": term}, headers=HTML)
        assert "Éloïse Martin" in page.text, term
        assert "Hugo Bernard" not in page.text, term


async def test_the_campaign_link_picker_finds_items_without_their_accents(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await make_item("offer", title="Développeur Python")
    await sign_in(client, "editor")
    found = await client.get(
        "/campaigns/links", params={"link_q": "developpeur"}, headers={"hx-request": "true"}
    )
    assert "Développeur Python" in found.text


async def test_the_migration_fills_the_search_text_of_existing_rows(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    member = await make_member(name="Zoé Lefèvre", email="zoe@example.com")
    item = await make_item(title="Journée portes ouvertes")
    # As rows written before the column existed.
    await Member.update({Member.search_text: ""}).where(Member.id == member.id)
    await ContentItem.update({ContentItem.search_text: ""}).where(ContentItem.id == item)
    migration = importlib.import_module("piccolo_migrations.relay_2026_12_01t10_30_00_000000")
    manager = await migration.forwards()
    for fill in manager.raw:
        await fill()
    assert await Member.select(Member.search_text).where(Member.id == member.id) == [
        {"search_text": "zoe lefevre zoe@example.com"}
    ]
    assert await ContentItem.select(ContentItem.search_text).where(ContentItem.id == item) == [
        {"search_text": "journee portes ouvertes"}
    ]
