"""Members' profile photos: added and removed on Me, checked like every image, shown on the
leaderboard and the wall of fame, and initials (or nobody's face) otherwise."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from litestar.testing import AsyncTestClient
from PIL import Image

from app.accounts.tables import Member
from app.content.media import MAX_BYTES
from app.content.tables import ContentItem
from app.core.clock import now
from app.core.settings import Settings
from app.notifications.jobs import sweep_orphan_files
from app.points import ledger
from app.points.tables import Action
from app.voice import stories
from app.web.templating import avatar
from tests.databases import ROOT
from tests.factories import make_member
from tests.helpers import HTML, HTMX, as_member, csrf, csrf_token_of, form_token, sign_in


def png_bytes(width: int = 400, height: int = 300) -> bytes:
    """A real PNG, wider than tall (so the square crop shows), drawn with Pillow."""
    image = Image.new("RGB", (width, height), "#0e7490")
    image.paste((250, 200, 40), (0, 0, width // 4, height))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Phone maker"  # Make
    exif[0x8825] = {2: (48.0, 51.0, 24.0)}  # a GPS position
    out = io.BytesIO()
    Image.new("RGB", (640, 480), "#7e22ce").save(out, "JPEG", exif=exif)
    return out.getvalue()


async def upload(
    client: AsyncTestClient,  # type: ignore[type-arg]
    content: bytes,
    filename: str = "me.png",
    headers: dict[str, str] | None = None,
) -> object:
    page = await client.get("/me", headers=HTML)
    return await client.post(
        "/me/photo",
        data={"_csrf_token": form_token(page.text)},
        files={"photo": (filename, content, "image/png")},
        headers=headers or HTML,
        follow_redirects=False,
    )


async def photo_of(member_id: int) -> str | None:
    row = await Member.select(Member.photo).where(Member.id == member_id).first()
    assert row is not None
    return row["photo"]


async def test_a_png_is_stored_as_small_squares_and_shown_on_the_leaderboard(
    client: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
) -> None:
    member = await sign_in(client, "employee", name="Léa Martin")
    await ledger.credit(member.id, 40, Action.share.value, "s1")
    before = await client.get("/leaderboard?period=all", headers=HTML)
    assert ">LM</span>" in before.text  # initials until there is a photo

    answer = await upload(client, png_bytes())
    assert answer.status_code == 303  # type: ignore[attr-defined]
    key = await photo_of(member.id)
    assert key is not None
    for side in (96, 192):
        served = await client.get(f"/media/{key}-{side}.jpg")
        assert served.status_code == 200
        image = Image.open(io.BytesIO(served.content))
        assert (image.format, image.size) == ("JPEG", (side, side))

    me = await client.get("/me", headers=HTML)
    assert f"/media/{key}-96.jpg" in me.text
    assert "Remove photo" in me.text
    board = await client.get("/leaderboard?period=all", headers=HTML)
    assert re.search(
        rf'<img class="face face--40" src="/media/{key}-96\.jpg"[^>]* alt=""', board.text
    )
    assert ">LM</span>" not in board.text
    # Another member sees it too, next to the name.
    await sign_in(client, "employee")
    seen = await client.get("/leaderboard?period=all", headers=HTML)
    assert f"/media/{key}-96.jpg" in seen.text and "Léa Martin" in seen.text
    fame = await client.get("/wall-of-fame", headers=HTML)
    assert f"/media/{key}-96.jpg" in fame.text


async def test_metadata_is_dropped(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    member = await sign_in(client, "employee")
    assert (await upload(client, jpeg_with_exif(), "me.jpg")).status_code == 303  # type: ignore[attr-defined]
    key = await photo_of(member.id)
    served = await client.get(f"/media/{key}-192.jpg")
    assert not Image.open(io.BytesIO(served.content)).getexif()


async def test_a_text_file_named_png_is_refused_next_to_the_field(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    member = await sign_in(client, "employee")
    refused = await upload(client, b"Just some words, not a picture.\n", "holiday.png")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    text = refused.text  # type: ignore[attr-defined]
    assert 'id="photo-error">This image is damaged or is not really an image' in text
    assert 'aria-invalid="true" aria-describedby="photo-error photo-hint"' in text
    assert await photo_of(member.id) is None
    # With htmx, only the photo's block comes back, with the same sentence.
    page = await client.get("/me", headers=HTML)
    fragment = await upload(
        client, b"still text", "x.png", headers={**HTMX, "x-csrftoken": csrf_token_of(page.text)}
    )
    assert fragment.status_code == 422  # type: ignore[attr-defined]
    assert fragment.text.lstrip().startswith('<div id="photo-block"')  # type: ignore[attr-defined]
    assert "not really an image" in fragment.text  # type: ignore[attr-defined]


async def test_too_big_too_small_and_no_file_are_refused(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    member = await sign_in(client, "employee")
    big = png_bytes() + b"\0" * MAX_BYTES
    too_big = await upload(client, big, "big.png")
    assert too_big.status_code == 422  # type: ignore[attr-defined]
    assert "This image is larger than 8 MB. Choose a smaller one." in too_big.text  # type: ignore[attr-defined]
    small = await upload(client, png_bytes(120, 120), "small.png")
    assert "This image is too small: at least 200 pixels a side." in small.text  # type: ignore[attr-defined]
    page = await client.get("/me", headers=HTML)
    empty = await client.post(
        "/me/photo", data={"_csrf_token": form_token(page.text)}, headers=HTML
    )
    assert empty.status_code == 422
    assert "Choose a photo: a JPEG, PNG or WebP image." in empty.text
    assert await photo_of(member.id) is None


async def test_removing_the_photo_brings_back_initials_and_the_file_is_swept(
    client: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
) -> None:
    member = await sign_in(client, "employee", name="Omar Haddad")
    await ledger.credit(member.id, 10, Action.share.value, "s1")
    await upload(client, png_bytes())
    first = await photo_of(member.id)
    await upload(client, png_bytes(300, 500))  # replaced: the first one's files are unnamed
    second = await photo_of(member.id)
    assert first and second and first != second
    page = await client.get("/me", headers=HTML)
    removed = await client.post(
        "/me/photo/remove",
        data={"_csrf_token": form_token(page.text)},
        headers=HTML,
        follow_redirects=False,
    )
    assert removed.status_code == 303
    assert await photo_of(member.id) is None
    board = await client.get("/leaderboard?period=all", headers=HTML)
    assert ">OH</span>" in board.text and "/media/" not in board.text
    media = settings.data_dir / "media"
    assert {p.name for p in media.iterdir()} >= {f"{first}-96.jpg", f"{second}-192.jpg"}
    # A young file stays (its row may be committing); an hour later no row names them.
    assert await sweep_orphan_files(settings.data_dir, now()) == 0
    assert await sweep_orphan_files(settings.data_dir, now() + timedelta(hours=2)) == 4
    # A photo in use is kept by the same sweep.
    await upload(client, png_bytes())
    kept = await photo_of(member.id)
    await sweep_orphan_files(settings.data_dir, now() + timedelta(hours=2))
    assert (media / f"{kept}-96.jpg").is_file()


async def test_a_member_who_is_not_named_shows_no_photo_and_no_initials(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    shy = await sign_in(client, "employee", name="Zoé Quiet")
    await ledger.credit(shy.id, 30, Action.share.value, "s1")
    await upload(client, png_bytes())
    key = await photo_of(shy.id)
    await Member.update({Member.leaderboard_anonymous: True}).where(Member.id == shy.id)
    other = await make_member(name="Paul Vue")
    await ledger.credit(other.id, 20, Action.share.value, "s2")
    await as_member(client, other.id)
    for path in ("/leaderboard?period=all", "/wall-of-fame"):
        page = await client.get(path, headers=HTML)
        assert "Anonymous ambassador" in page.text
        assert f"/media/{key}" not in page.text and ">ZQ</span>" not in page.text
        assert "face--neutral" in page.text
        assert ">PV</span>" in page.text


async def test_a_published_story_shows_its_authors_photo_in_the_feed_and_on_its_page(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    author = await sign_in(client, name="Inès Roy")
    await upload(client, png_bytes())
    key = await photo_of(author.id)
    headers = await csrf(client, "/voice/stories/new")
    no_file = ("", b"", "application/octet-stream")
    proposed = await client.post(
        "/voice/stories/new",
        data={"title": "Open day", "body": "Fun."},
        files=[("photos", no_file), ("video", no_file)],
        headers=headers,
        follow_redirects=False,
    )
    match = re.search(r"/voice/stories/(\d+)", proposed.headers.get("location", ""))
    assert match, proposed.text[:500]
    editor = await make_member(role="editor")
    assert await stories.approve(int(match.group(1)), editor.id, "Open day", "Fun.") == "published"
    item = await ContentItem.select(ContentItem.id).where(ContentItem.byline_member == author.id)
    assert len(item) == 1
    reader = await make_member()
    await as_member(client, reader.id)
    feed = await client.get("/", headers=HTML)
    byline = re.search(r'<p class="feed-card__byline byline">.*?</p>', feed.text, re.S)
    assert byline and f"/media/{key}-96.jpg" in byline.group(0) and "By Inès" in byline.group(0)
    page = await client.get(f"/items/{item[0]['id']}", headers=HTML)
    assert f"/media/{key}-96.jpg" in page.text
    # Without a photo, the author's initial in its coloured circle (the card is drawn again).
    await Member.update({Member.photo: None}).where(Member.id == author.id)
    feed = await client.get("/", headers=HTML)
    assert f"/media/{key}" not in feed.text
    assert re.search(
        r'<span class="face face--28 face--c\d" aria-hidden="true">I</span>', feed.text
    )


def test_every_initials_colour_reads_at_4_5_to_1_and_ids_spread_over_the_palette() -> None:
    css = (ROOT / "static" / "app.css").read_text()
    colours = dict(re.findall(r"\.face--(c\d|neutral) \{ background: (#[0-9a-f]{6}); \}", css))
    assert set(colours) == {f"c{n}" for n in range(8)} | {"neutral"}

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    for colour in colours.values():
        assert 1.05 / (luminance(colour) + 0.05) >= 4.5, colour  # white text on it
    used = {
        re.search(r"face--(c\d)", avatar(n, "Ana Bo", None)).group(1)  # type: ignore[union-attr]
        for n in range(1, 41)
    }
    assert used == {f"c{n}" for n in range(8)}
