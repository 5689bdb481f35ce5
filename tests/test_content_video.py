"""Short videos for stories and offers: checked by their content with ffprobe, a poster drawn,
played on the item page and the public page, refused with a sentence that says why."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from litestar.testing import AsyncTestClient
from PIL import Image

from app.content import video as content_video
from app.content.media import media_dir
from app.content.tables import ContentItem
from app.core.clock import now
from app.core.settings import Settings
from app.notifications.jobs import sweep_orphan_files
from app.sharing import service as sharing
from tests.factories import make_item, make_member, stored_video, video_bytes
from tests.helpers import as_member, create_in_studio, csrf, sign_in

FIELDS = {"title": "Our new office", "language": "en", "audience": "all"}


def stored(settings: Settings) -> set[str]:
    folder = media_dir(settings.data_dir)
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


async def item_video(item_id: int) -> str | None:
    row = await ContentItem.select(ContentItem.video).where(ContentItem.id == item_id).first()
    assert row is not None
    return row["video"]


async def test_an_editor_uploads_a_short_mp4_that_members_and_candidates_play_with_its_poster(
    client: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
) -> None:
    await sign_in(client, "editor")
    upload = video_bytes("mp4")
    status, location = await create_in_studio(
        client, FIELDS, video=("office.mp4", upload, "video/mp4")
    )
    assert status == 303, location
    item_id = int(location.split("/")[2].split("?")[0])
    name = await item_video(item_id)
    assert name and re.fullmatch(r"[A-Za-z0-9_-]{16}\.mp4", name)
    key = name.removesuffix(".mp4")
    # The video as sent and its poster, under their final names only.
    assert stored(settings) == {name, f"{key}-poster.jpg"}
    assert (media_dir(settings.data_dir) / name).read_bytes() == upload
    with Image.open(media_dir(settings.data_dir) / f"{key}-poster.jpg") as poster:
        assert poster.format == "JPEG" and poster.size == (160, 120)
    # The studio shows it to the editor before it is published.
    studio = await client.get(f"/studio/{item_id}")
    assert f'poster="/videos/{key}-poster.jpg"' in studio.text
    assert (await client.get(f"/videos/{name}")).status_code == 200

    await client.post(f"/studio/{item_id}/publish", headers=await csrf(client, "/studio"))
    employee = await make_member()
    await as_member(client, employee.id)
    page = (await client.get(f"/items/{item_id}")).text
    tag = re.search(r"<video [^>]*>", page)
    assert tag, "the item page plays the video"
    assert 'controls preload="none"' in tag.group(0)
    assert f'poster="/videos/{key}-poster.jpg"' in tag.group(0)
    assert "autoplay" not in tag.group(0)
    assert f'<source src="/videos/{name}" type="video/mp4">' in page

    code = await sharing.link_code(employee.id, item_id)
    client.cookies.clear()
    landing = await client.get(f"/r/{code}")
    assert landing.status_code == 200
    tag = re.search(r"<video [^>]*>", landing.text)
    assert tag and f'poster="/videos/{key}-poster.jpg"' in tag.group(0)
    assert 'preload="none"' in tag.group(0) and "autoplay" not in tag.group(0)
    assert "media-src 'self'" in landing.headers["content-security-policy"]

    # Players ask for byte ranges (an iPhone plays nothing otherwise).
    whole = await client.get(f"/videos/{name}")
    assert whole.status_code == 200 and whole.content == upload
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    part = await client.get(f"/videos/{name}", headers={"range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(upload)}"
    assert part.content == upload[100:200]
    tail = await client.get(f"/videos/{name}", headers={"range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == upload[-10:]
    beyond = await client.get(f"/videos/{name}", headers={"range": f"bytes={len(upload)}-"})
    assert beyond.status_code == 416
    poster = await client.get(f"/videos/{key}-poster.jpg")
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/jpeg"
    assert (await client.get("/videos/../relay.sqlite3")).status_code == 404
    assert (await client.get(f"/videos/{key}.webm")).status_code == 404


async def test_a_withdrawn_items_video_is_no_longer_served_and_a_replaced_one_is_swept(
    client: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
) -> None:
    name = stored_video(settings.data_dir, "webm")
    key = name.removesuffix(".webm")
    item_id = await make_item(title="Team offsite", video=name)
    assert (await client.get(f"/videos/{name}")).headers["content-type"] == "video/webm"
    await sign_in(client, "editor")
    headers = await csrf(client, "/studio")
    await client.post(f"/studio/{item_id}/archive", headers=headers)
    client.cookies.clear()
    # Archived: neither the video nor its poster is served to anyone but editors.
    assert (await client.get(f"/videos/{name}")).status_code == 404
    assert (await client.get(f"/videos/{key}-poster.jpg")).status_code == 404
    await sign_in(client, "editor")
    assert (await client.get(f"/videos/{name}")).status_code == 200

    # The editor takes the video off: its files go with the next sweep, an hour on.
    form = {**FIELDS, "title": "Team offsite", "remove_video": "on", "kind": "story"}
    answer = await client.post(
        f"/studio/{item_id}",
        data=form,
        files={"image": ("", b"", "application/octet-stream")},
        headers=await csrf(client, f"/studio/{item_id}"),
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:300]
    assert await item_video(item_id) is None
    kept = stored_video(settings.data_dir)  # another item's, still in use
    await make_item(title="Still here", video=kept)
    assert await sweep_orphan_files(settings.data_dir, now()) == 0  # young files stay
    assert await sweep_orphan_files(settings.data_dir, now() + timedelta(hours=2)) == 2
    assert stored(settings) == {kept, kept.replace(".mp4", "-poster.jpg")}


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), "#4338ca").save(out, "PNG")
    return out.getvalue()


REFUSED = [
    ("long", "This video lasts 61 seconds: at most 60 are accepted. Cut it shorter."),
    ("text", "This file is not a video. Choose an MP4 or WebM video."),
    ("png", "This file is not a video. Choose an MP4 or WebM video."),
    (
        "mpeg4",
        "This video is encoded as MPEG-4 Part 2, which not every phone can play. Export it "
        "as MP4 (H.264) or WebM (VP9).",
    ),
    ("audio", "This file is sound only, with no picture. Choose an MP4 or WebM video."),
]


@pytest.mark.parametrize(("kind", "sentence"), REFUSED, ids=[k for k, _s in REFUSED])
async def test_a_refused_video_gets_a_sentence_next_to_its_field_and_nothing_is_stored(
    client: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
    kind: str,
    sentence: str,
) -> None:
    content = {"text": b"Not a video at all, just notes.\n", "png": png_bytes()}.get(kind)
    await sign_in(client, "editor")
    status, text = await create_in_studio(
        client,
        {**FIELDS, "body": "Bright and green."},
        video=("clip.mp4", content or video_bytes(kind), "video/mp4"),
    )
    assert status == 422
    assert f'<p class="field-error" id="video-error">{sentence}</p>' in text
    assert 'name="video" accept="video/mp4,video/webm" aria-invalid="true"' in text
    assert 'value="Our new office"' in text and "Bright and green." in text
    assert await ContentItem.count() == 0
    assert not stored(settings)


async def test_a_video_over_50_mb_is_refused_with_a_sentence_not_an_error_page(
    client: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
) -> None:
    await sign_in(client, "editor")
    # Well-formed as far as its first bytes go; its size alone refuses it.
    big = video_bytes("mp4") + b"\x00" * content_video.MAX_VIDEO_BYTES
    # With the title missing too, both sentences show at once.
    status, text = await create_in_studio(
        client, {**FIELDS, "title": ""}, video=("big.mp4", big, "video/mp4")
    )
    assert status == 422
    assert "This video is larger than 50 MB. Shorten it or export it at a lower quality." in text
    assert "Give it a title." in text
    assert not stored(settings)


async def test_without_ffprobe_editors_are_told_and_their_form_is_kept(
    client: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(content_video, "FFPROBE", str(settings.data_dir / "no" / "ffprobe"))
    await sign_in(client, "editor")
    status, text = await create_in_studio(
        client, FIELDS, video=("office.mp4", video_bytes("mp4"), "video/mp4")
    )
    assert status == 422
    assert (
        "Videos cannot be checked on this server: ffprobe (part of ffmpeg) is not installed. "
        "Your text is kept; ask your administrator to install ffmpeg."
    ) in text
    assert 'value="Our new office"' in text
    assert await ContentItem.count() == 0 and not stored(settings)
    # A story without a video is saved as ever.
    status, _location = await create_in_studio(client, FIELDS)
    assert status == 303


async def test_a_probe_that_hangs_is_stopped_and_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(content_video, "PROBE_TIMEOUT", 0.001)
    with pytest.raises(content_video.VideoRefused, match="took too long to read"):
        await content_video.check_video(video_bytes("mp4"))


def test_byte_ranges_are_read_as_players_send_them() -> None:
    from app.content.video import byte_range

    assert byte_range(None, 1000) is None
    assert byte_range("bytes=0-", 1000) == (0, 999)
    assert byte_range("bytes=10-19", 1000) == (10, 19)
    assert byte_range("bytes=990-5000", 1000) == (990, 999)
    assert byte_range("bytes=-100", 1000) == (900, 999)
    assert byte_range("bytes=-5000", 1000) == (0, 999)
    assert byte_range("bytes=0-1,5-9", 1000) is None  # several ranges: the whole file
    assert byte_range("bytes=1000-", 1000) is False
    assert byte_range("bytes=20-10", 1000) is False
    assert byte_range("bytes=-", 1000) is False
    assert byte_range("bytes=-0", 1000) is False
    assert byte_range("items=0-1", 1000) is None
    assert byte_range("bytes=99999999999999999999-", 1000) is False
