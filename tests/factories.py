"""Factories for real rows (people, content, rewards, push devices), made through Relay's own
tables and services."""

from __future__ import annotations

import functools
import io
import itertools
import subprocess
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image

from app.accounts.sessions import cookie_name, create_session
from app.accounts.tables import Member
from app.content import editing
from app.content.media import check_image, media_dir, store_image
from app.content.video import store_video
from app.core.files import StagedFiles
from app.core.forms import FormResult
from app.org.tables import Site, Team
from app.rewards.tables import Reward
from app.sharing import service as sharing
from push.subscriptions import save_subscription
from push.tables import PushSubscription
from tests.push_sink import FakeBrowser

_numbers = itertools.count(1)


async def make_team(name: str | None = None) -> int:
    rows = await Team.insert(Team(name=name or f"Team {next(_numbers)}")).returning(
        Team._meta.primary_key
    )
    return int(rows[0]["id"])


async def make_site(name: str | None = None) -> int:
    rows = await Site.insert(Site(name=name or f"Site {next(_numbers)}")).returning(
        Site._meta.primary_key
    )
    return int(rows[0]["id"])


async def make_member(
    role: str = "employee",
    name: str | None = None,
    email: str | None = None,
    team: int | None = None,
    site: int | None = None,
    language: str = "en",
    active: bool = True,
) -> Member:
    n = next(_numbers)
    member = Member(
        email=email or f"person{n}@example.com",
        name=name or f"Person {n}",
        role=role,
        team=team,
        site=site,
        language=language,
        active=active,
    )
    await member.save()
    return member


async def session_cookie(member: Member) -> tuple[str, str]:
    """A signed-in session for a member, as the (name, value) of its cookie."""
    return cookie_name(https=False), await create_session(member.id, "pytest")


async def make_item(
    kind: str = "story",
    title: str = "A story",
    *,
    body: str = "Some **text**.",
    published: datetime | bool | None = True,
    teams: list[int] | None = None,
    sites: list[int] | None = None,
    pinned: bool = False,
    tags: list[str] | None = None,
    image: str | None = None,
    video: str | None = None,
    language: str = "en",
    **offer: Any,
) -> int:
    values: dict[str, Any] = {
        "kind": kind,
        "title": title,
        "body": body,
        "language": language,
        "tags": editing.tags_column(tags or []),
        "captions": '{"linkedin": ["Proud of this one #team"]}',
        "audience_all": not (teams or sites),
        "pinned": pinned,
    }
    if kind == "offer":
        values |= {"contract": "permanent", "remote": "hybrid", "offer_status": "open", **offer}
    item_id = await editing.save_item(
        None,
        FormResult({**values, "teams": teams or [], "sites": sites or []}),
        None,
        image=image,
        video=video,
    )
    if published is True:
        await editing.publish(item_id, editing.now() - timedelta(minutes=1))
    elif isinstance(published, datetime):
        await editing.publish(item_id, published)
    return item_id


# Tiny videos ffmpeg makes from its test pattern: (output options, file suffix). Low size and
# frame rate, so that even the 61-second one takes a fraction of a second.
PATTERN = ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10"]
TONE = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000"]
VIDEOS: dict[str, tuple[list[str], str]] = {
    # 2 s of H.264 with AAC sound, its index first, as phones record them.
    "mp4": ([*PATTERN, *TONE, "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p",
             "-c:a", "aac", "-movflags", "+faststart"], ".mp4"),
    "webm": ([*PATTERN, "-t", "2", "-c:v", "libvpx-vp9", "-deadline", "realtime",
              "-cpu-used", "8"], ".webm"),
    "long": (["-f", "lavfi", "-i", "testsrc=size=64x48:rate=1", "-t", "61",
              "-c:v", "libx264", "-pix_fmt", "yuv420p"], ".mp4"),
    # MPEG-4 Part 2 in an MP4 file: a real video many phones cannot play.
    "mpeg4": ([*PATTERN, "-t", "2", "-c:v", "mpeg4"], ".mp4"),
    # A WebM holding only sound.
    "audio": ([*TONE, "-t", "2", "-c:a", "libopus"], ".webm"),
}  # fmt: skip


@functools.cache
def video_bytes(kind: str = "mp4") -> bytes:
    """A tiny video made by ffmpeg now (once per test process): see VIDEOS."""
    options, suffix = VIDEOS[kind]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / f"video{suffix}"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-nostdin", "-y", *options, str(out)],
            check=True,
            timeout=60,
        )
        return out.read_bytes()


def stored_video(data_dir: Path, kind: str = "mp4") -> str:
    """An uploaded video (and its poster) stored under final names, as after its row
    committed; its file name."""
    files = StagedFiles(media_dir(data_dir))
    name = store_video(video_bytes(kind), files)
    files.publish_blocking()
    return name


def jpeg_bytes(width: int = 800, height: int = 450, colour: str = "#4338ca") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "JPEG")
    return out.getvalue()


def stored_image(data_dir: Path, content: bytes | None = None, filename: str = "photo.jpg") -> str:
    """An uploaded image stored under its final names, as after its row committed; its key."""
    files = StagedFiles(media_dir(data_dir))
    key = store_image(check_image(content or jpeg_bytes(), filename), files).key
    files.publish_blocking()
    return key


async def shared_offer(sharer_name: str = "Léa Martin") -> tuple[Member, int, str]:
    """An open offer and a member's share link to it: (sharer, offer id, link code)."""
    sharer = await make_member(name=sharer_name)
    item_id = await make_item("offer", "Data engineer")
    return sharer, item_id, await sharing.link_code(sharer.id, item_id)


async def make_reward(name: str = "Café voucher", cost: int = 100, **fields: Any) -> int:
    rows = await Reward.insert(Reward(name=name, cost=cost, **fields)).returning(Reward.id)
    return int(rows[0]["id"])


async def subscribe(member_id: int, browser: FakeBrowser, device_name: str = "Pixel") -> int:
    """The browser opts in, through the same function the app's opt-in route uses."""
    return await save_subscription(
        member_id, browser.endpoint, browser.p256dh, browser.auth, device_name
    )


async def subscribe_many(member_id: int, browsers: Sequence[FakeBrowser]) -> None:
    """Many devices at once, for volume tests: rows written in bulk."""
    now = datetime.now(UTC)
    for start in range(0, len(browsers), 500):
        await PushSubscription.insert(
            *(
                PushSubscription(
                    member=member_id,
                    endpoint=b.endpoint,
                    p256dh=b.p256dh,
                    auth=b.auth,
                    created_at=now,
                )
                for b in browsers[start : start + 500]
            )
        )


async def make_event(
    title: str = "Job fair at INSA Lyon",
    *,
    starts: datetime | None = None,
    hours: int = 3,
    capacity: int = 10,
    time_zone: str = "Europe/Paris",
    deadline_before: timedelta = timedelta(hours=2),
    by: int | None = None,
    **fields: str,
) -> int:
    """An event published now, through the editors' form check and save (times typed in the
    event's zone), starting in two days unless ``starts`` (UTC) says otherwise."""
    from zoneinfo import ZoneInfo

    from app.events import service as events

    zone = ZoneInfo(time_zone)
    start = starts or (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)

    def local(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")

    form = events.check_event(
        {
            "title": title,
            "body": "Meet students and tell them about **your work**.",
            "kind": "job_fair",
            "language": "en",
            "place": "INSA Lyon, 20 avenue Albert Einstein, Villeurbanne",
            "online_url": "",
            "needs": "2 engineers to talk about their work on the stand",
            "capacity": str(capacity),
            "time_zone": time_zone,
            "starts_at": local(start),
            "ends_at": local(start + timedelta(hours=hours)),
            "signup_deadline": local(start - deadline_before),
            **fields,
        }
    )
    assert form.ok, form.errors
    if by is None:
        by = (await make_member(role="editor")).id
    return await events.save_event(None, form, by)
