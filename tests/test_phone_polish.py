"""Issue 18, "Awkward": what is checked without a browser (the browser's view of the same
points is in test_phone_polish_browser.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar.testing import AsyncTestClient

from app.content import editing
from app.content.feed import credits_by_name
from app.content.markdown import plain_excerpt
from app.core.clock import now
from app.notifications.preferences import remember_time_zone
from tests.helpers import HTML, create_in_studio, csrf, form_token, sign_in


def test_an_excerpt_keeps_list_items_and_paragraphs_apart() -> None:
    body = (
        "Our teams met in Lyon to plan 2027.\n\n"
        "- Workshops on our product roadmap\n"
        "- A hike in the Alps\n\n"
        "## Next\n\n"
        "**Thanks** to everyone &amp; see you [soon](https://example.com)!"
    )
    assert plain_excerpt(body, 500) == (
        "Our teams met in Lyon to plan 2027. Workshops on our product roadmap · "
        "A hike in the Alps · Next · Thanks to everyone & see you soon!"
    )


def test_an_excerpt_is_cut_on_a_word_within_its_length() -> None:
    excerpt = plain_excerpt("- " + "\n- ".join(f"point number {n}" for n in range(40)), 60)
    assert len(excerpt) <= 60 and excerpt.endswith("…")
    assert excerpt.startswith("point number 0 · point number 1 · ")


async def test_studio_times_are_typed_and_shown_in_the_editors_time_zone_and_kept_in_utc(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    editor = await sign_in(client, "editor")
    await remember_time_zone(editor.id, "America/New_York", now())
    status, location = await create_in_studio(
        client,
        {"title": "Open day", "body": "Come.", "language": "en", "audience": "all",
         "expires_at": "2099-01-15T09:00"},
    )  # fmt: skip
    assert status == 303, location
    item_id = int(location.rsplit("/", 1)[1].split("?")[0])
    item = await editing.item_by_id(item_id)
    assert item is not None
    assert item["expires_at"] == datetime(2099, 1, 15, 14, 0, tzinfo=UTC)
    page = await client.get(f"/studio/{item_id}", headers=HTML)
    assert "Expires at (America/New_York time, optional)" in page.text
    assert 'value="2099-01-15T09:00"' in page.text
    assert "Publish at (America/New_York time)" in page.text

    headers = await csrf(client, f"/studio/{item_id}")
    scheduled = await client.post(
        f"/studio/{item_id}/publish", data={"publish_at": "2099-01-01T08:00"}, headers=headers,
        follow_redirects=False,
    )  # fmt: skip
    assert scheduled.status_code == 303
    item = await editing.item_by_id(item_id)
    assert item is not None and item["publish_at"] == datetime(2099, 1, 1, 13, 0, tzinfo=UTC)
    page = await client.get(f"/studio/{item_id}", headers=HTML)
    assert "Jan 1, 2099, 8:00\u202fAM (America/New_York)" in page.text


async def test_without_javascript_a_switch_saves_with_its_save_button(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    member = await sign_in(client)
    me = await client.get("/me", headers=HTML)
    assert 'role="switch" name="credit" value="on" checked' in me.text
    assert 'class="button button--quiet without-script" type="submit">Save<' in me.text
    saved = await client.post(
        "/me/sharing", data={"_csrf_token": form_token(me.text)}, headers=HTML,
        follow_redirects=False,
    )  # fmt: skip
    assert saved.status_code == 303 and saved.headers["location"] == "/me"
    assert await credits_by_name(member.id) is False


async def test_the_time_zone_search_works_without_javascript(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await sign_in(client)
    found = await client.get("/notifications?zone_find=sao+PAULO", headers=HTML)
    assert found.status_code == 200
    assert '<option value="America/Sao_Paulo">Sao Paulo</option>' in found.text
    assert "Asia/Tokyo" not in found.text
    assert (
        '<optgroup label="Americas">' in found.text and '<optgroup label="Asia">' not in found.text
    )
    everything = await client.get("/notifications", headers=HTML)
    assert everything.text.count("<optgroup") == 11  # suggested, 9 regions, UTC


def test_an_excerpt_keeps_the_no_break_space_of_french_punctuation() -> None:
    assert plain_excerpt("Merci à toutes et tous\u00a0!\n\n**Stack**\u00a0: Python") == (
        "Merci à toutes et tous\u00a0! Stack\u00a0: Python"
    )
