"""Sharing over HTTP: the one-tap links the feed carries, one share for copy-then-link, the
bottom sheet's fragment, and the images made for Instagram and TikTok."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from litestar.testing import AsyncTestClient
from PIL import Image, ImageDraw

from app.activity.tables import Activity
from app.content.tables import ContentItem
from app.core.settings import Settings
from app.sharing import images
from app.sharing import service as sharing
from app.sharing.tables import Share, ShareLink
from tests.factories import make_item, make_member, stored_image
from tests.helpers import HTML, PHONE, all_recorded, csrf, sign_in


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


def decoded_qr(data: bytes) -> list[str]:
    import zxingcpp

    with Image.open(io.BytesIO(data)) as image:
        return [r.text for r in zxingcpp.read_barcodes(image.convert("L"))]


async def sheet_images(client: AsyncTestClient, item: int) -> tuple[str, dict[str, str]]:
    sheet = await client.get(f"/items/{item}/share", headers=HTML)
    url = re.search(r'data-url="([^"]+)"', sheet.text).group(1)  # type: ignore[union-attr]
    story = re.search(r'href="(/share-images/[^"]+)" download="\d+-story', sheet.text)
    post = re.search(r'href="(/share-images/[^"]+)" download="\d+-post', sheet.text)
    assert story and post
    return url, {"story": story.group(1), "post": post.group(1)}


async def test_a_member_gets_a_story_and_a_post_image_with_a_qr_code_of_their_link(
    client: AsyncTestClient, settings: Settings
) -> None:
    item = await make_item(
        title="Backend engineer", kind="offer", image=stored_image(settings.data_dir)
    )
    member = await sign_in(client)
    url, paths = await sheet_images(client, item)
    sizes = {"story": (1080, 1920), "post": (1080, 1080)}
    made = {}
    for fmt, path in paths.items():
        response = await client.get(path)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/jpeg"
        with Image.open(io.BytesIO(response.content)) as image:
            assert image.size == sizes[fmt]
        assert decoded_qr(response.content) == [f"{url}?via=qr"]
        made[fmt] = response.content
    folder = settings.data_dir / "share-images" / str(item)
    names = sorted(p.name for p in folder.iterdir())
    assert [n.split("-")[:2] for n in names] == [
        [str(member.id), "post"],
        [str(member.id), "story"],
    ]
    # Served again from the disk, unchanged; a new title makes new images, the old ones go.
    assert (await client.get(paths["story"])).content == made["story"]
    await ContentItem.update({ContentItem.title: "Senior backend engineer"}).where(
        ContentItem.id == item
    )
    _, renamed = await sheet_images(client, item)
    assert renamed["story"] != paths["story"]
    assert (await client.get(renamed["story"])).status_code == 200
    assert (await client.get(paths["story"])).status_code == 404  # not the current one: not made
    assert len(list(folder.glob(f"{member.id}-story-*.jpg"))) == 1


async def test_an_item_withdrawn_from_the_feed_has_its_images_removed_and_no_longer_served(
    client: AsyncTestClient, settings: Settings
) -> None:
    item = await make_item(title="Team offsite")
    await sign_in(client, "editor")
    _, paths = await sheet_images(client, item)
    assert (await client.get(paths["story"])).status_code == 200
    folder = settings.data_dir / "share-images" / str(item)
    assert folder.is_dir()
    headers = await csrf(client, f"/studio/{item}")
    response = await client.post(
        f"/studio/{item}/unpublish", headers=headers, follow_redirects=False
    )
    assert response.status_code == 303
    assert not folder.exists()
    assert (await client.get(paths["story"])).status_code == 404
    assert (await client.get(f"/items/{item}/share", headers=HTML)).status_code == 404
    # Archived: the same.
    other = await make_item(title="Hackathon")
    _, paths = await sheet_images(client, other)
    assert (await client.get(paths["post"])).status_code == 200
    headers = await csrf(client, f"/studio/{other}")
    await client.post(f"/studio/{other}/archive", headers=headers, follow_redirects=False)
    assert not (settings.data_dir / "share-images" / str(other)).exists()
    assert (await client.get(paths["post"])).status_code == 404


async def test_image_urls_refuse_what_relay_did_not_make(client: AsyncTestClient) -> None:
    item = await make_item(title="Team offsite")
    member = await sign_in(client)
    _, paths = await sheet_images(client, item)
    name = paths["story"].rsplit("/", 1)[1]
    for path in [
        f"/share-images/{item}/nothing.jpg",
        f"/share-images/{item}/..%2F..%2Fetc%2Fpasswd",
        f"/share-images/{item}/{member.id + 1}-story-{'0' * 20}.jpg",  # someone else's
        f"/share-images/{item}/{member.id}-story-{'0' * 20}.jpg",  # not what it shows
        f"/share-images/{item}/{member.id}-banner-{'0' * 20}.jpg",
        f"/share-images/{item + 100}/{name}",  # no such item
        f"/share-images/99999999999999999999/{name}",
    ]:
        response = await client.get(path)
        assert response.status_code in (400, 404), (path, response.status_code)
    client.cookies.clear()  # signed out: only what was made is served
    assert (await client.get(paths["story"])).status_code == 404


def test_long_rtl_and_emoji_titles_wrap_fit_and_draw_without_tofu() -> None:
    canvas = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    face = images.font(True, 76)
    lines = images.wrap(canvas, "Engineer " * 60, face, 936, 5)
    assert len(lines) == 5 and lines[-1].endswith("…")
    assert all(canvas.textlength(line, font=face) <= 936 for line in lines)
    word = images.wrap(canvas, "x" * 400, face, 936, 2)
    assert len(word) == 2 and word[-1].endswith("…")
    assert images.clean("Launch 🚀 party") == "Launch party"  # no glyph: left out, not a box
    assert images.clean("שלום עולם") == "שלום עולם"
    assert images.clean("مرحبا") == "مرحبا"
    for title in ["משרה חדשה: מהנדס תוכנה", "وظيفة جديدة", "🎉🎉🎉", ""]:
        for fmt in images.FORMATS:
            poster = images.Poster(
                fmt, title, "Acme", "#ffffff", "http://x/r/a?via=qr", "Scan", None
            )
            with Image.open(io.BytesIO(images.draw(poster))) as image:
                assert image.size == images.FORMATS[fmt]


async def test_a_click_through_a_qr_code_counts_like_any_and_is_marked_as_from_an_image(
    client: AsyncTestClient,
) -> None:
    item = await make_item(title="Backend engineer", kind="offer")
    members = [await make_member(name=name) for name in ("Léa Martin", "Paul Roy", "Ana Diaz")]
    codes = [await sharing.link_code(m.id, item) for m in members]
    # Each member's link once: through the QR code, plainly, and with a "via" Relay never makes.
    for code, via in zip(codes, ["qr", "", "spam"], strict=True):
        page = await client.get(
            f"/r/{code}" + (f"?via={via}" if via else ""), headers={**HTML, "user-agent": PHONE}
        )
        assert page.status_code == 200
        token = re.search(r'data-beacon-token="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        seen = await client.post(
            f"/r/{code}/seen",
            data={"token": token, **({"via": via} if via else {})},
            headers={"user-agent": PHONE, "sec-fetch-site": "same-origin"},
        )
        assert seen.status_code == 204
    await all_recorded(client)
    for member in members:
        assert await sharing.genuine_clicks_by_item(member.id, [item]) == {item: 1}
    rows = await Activity.select(Activity.member, Activity.detail).where(Activity.kind == "click")
    via_of = {r["member"]: json.loads(r["detail"]).get("via", "") for r in rows}
    assert via_of == {members[0].id: "qr", members[1].id: "", members[2].id: ""}


def test_the_same_image_asked_twice_at_once_is_made_once(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    poster = images.Poster("story", "Team offsite", "Acme", "#4f46e5", "http://x/r/a", "Scan", None)
    with ThreadPoolExecutor(4) as pool:
        names = list(pool.map(lambda _: images.make(tmp_path, 7, 3, poster), range(4)))
    assert len(set(names)) == 1
    assert [p.name for p in (tmp_path / "share-images" / "7").iterdir()] == [names[0]]
