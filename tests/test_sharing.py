"""Sharing over HTTP: the one-tap links the feed carries, one share for copy-then-link, the
bottom sheet's fragment, and the images made for Instagram and TikTok."""

from __future__ import annotations

import re

from litestar.testing import AsyncTestClient

from app.content.tables import ContentItem
from app.sharing import service as sharing
from app.sharing.tables import Share, ShareLink
from tests.factories import make_item
from tests.helpers import HTML, sign_in


async def test_the_feed_and_item_page_carry_each_cards_tracked_link_and_default_caption(
    client: AsyncTestClient,
) -> None:
    story = await make_item(title="Team offsite")
    offer = await make_item(title="Backend engineer", kind="offer")
    await ContentItem.update({ContentItem.captions: "{}"}).where(ContentItem.id == offer)
    member = await sign_in(client, name="Léa Martin")
    feed = await client.get("/", headers=HTML)
    links = dict(re.findall(r'data-item="(\d+)" data-url="([^"]+)"', feed.text))
    codes = await sharing.link_codes(member.id, [story, offer])
    assert links == {
        str(story): f"http://localhost:8000/r/{codes[story]}",
        str(offer): f"http://localhost:8000/r/{codes[offer]}",
    }
    assert 'data-caption="Proud of this one #team"' in feed.text
    # No caption suggested: a sentence in the member's language around the title.
    assert 'data-caption="We are hiring: Backend engineer"' in feed.text
    again = await client.get("/", headers=HTML)
    assert dict(re.findall(r'data-item="(\d+)" data-url="([^"]+)"', again.text)) == links
    assert await ShareLink.count() == 2
    page = await client.get(f"/items/{story}", headers=HTML)
    assert f'data-url="{links[str(story)]}"' in page.text


async def test_copying_the_link_then_opening_a_network_is_one_share(
    client: AsyncTestClient,
) -> None:
    item = await make_item(title="Team offsite")
    member = await sign_in(client)
    first = await sharing.share(member.id, item, "copy")
    assert first.recorded and first.points == 7
    then = await sharing.share(member.id, item, "linkedin")
    assert then.recorded and then.points == 0
    rows = await Share.select(Share.network).where(Share.member == member.id)
    assert [r["network"] for r in rows] == ["linkedin"]
    # A copy after a share adds nothing; another network is another share.
    assert (await sharing.share(member.id, item, "copy")).recorded is False
    assert (await sharing.share(member.id, item, "whatsapp")).recorded is True
    assert await Share.count().where(Share.member == member.id) == 2


async def test_the_sheet_fragment_is_what_htmx_puts_in_the_bottom_sheet(
    client: AsyncTestClient,
) -> None:
    item = await make_item(title="Team offsite")
    await sign_in(client)
    sheet = await client.get(
        f"/items/{item}/share",
        headers={**HTML, "hx-request": "true", "hx-target": "share-dialog-body"},
    )
    assert sheet.status_code == 200
    assert sheet.text.lstrip().startswith('<section class="share" data-share')
    assert "How it looks on LinkedIn" in sheet.text
    assert "<h1" not in sheet.text and "Good practice before you post" not in sheet.text
    assert "HX-Target" in sheet.headers["vary"]
    page = await client.get(f"/items/{item}/share", headers=HTML)
    assert "Good practice before you post" in page.text
