"""Stored files: big images do not stall the server, crashes leave no file without a row, and
a full or read-only disk gives a sentence instead of an error page."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from litestar.testing import AsyncTestClient
from PIL import Image, ImageDraw

from app.candidates import cvs
from app.candidates.tables import Candidate
from app.content.media import media_dir
from app.content.tables import ContentItem
from app.core import files
from app.core.clock import now
from app.core.settings import Settings
from app.notifications.jobs import sweep_orphan_files
from app.sharing import service as sharing
from tests.conftest import LiveServer
from tests.factories import make_item, make_member, session_cookie, stored_image
from tests.helpers import (
    GOOD,
    HTML,
    PDF,
    apply,
    create_in_studio,
    csrf_token_of,
    form_token,
    sign_in,
)

FULL_DISK = (
    "The server could not store the file: its disk is full or read-only. Your text is kept; "
    "try again later or tell your administrator."
)


def png(width: int, height: int, mode: str = "RGB") -> bytes:
    """A large but well-compressed picture, like a screenshot or a poster."""
    image = Image.new(mode, (width, height), "#4338ca")
    ImageDraw.Draw(image).ellipse((width // 4, height // 4, width // 2, height // 2), "#f59e0b")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def stored_names(data_dir: Path, folder: str) -> set[str]:
    path = data_dir / folder
    return {p.name for p in path.iterdir()} if path.is_dir() else set()


def slowest_ping_during(server: LiveServer, work: Any) -> tuple[float, int, Any]:
    """Run ``work`` in a thread and ask /ping in a loop meanwhile: the slowest answer (s),
    how many were asked, and what ``work`` returned."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    slowest, count = 0.0, 0
    with httpx.Client(base_url=server.url) as pinger:
        pinger.get("/ping")  # the connection is open before the clock starts
        thread.start()
        while thread.is_alive():
            started = time.perf_counter()
            assert pinger.get("/ping").text == "pong"
            slowest = max(slowest, time.perf_counter() - started)
            count += 1
    thread.join()
    return slowest, count, result[0]


def decode_elsewhere(image: bytes, at_least: float) -> None:
    """Decode and shrink ``image`` in a process of its own, again until ``at_least`` seconds
    have passed: a core as busy as an upload's, with nothing shared with the server."""
    code = (
        "import io, sys, time\n"
        "from PIL import Image\n"
        "data, until = sys.stdin.buffer.read(), time.monotonic() + float(sys.argv[1])\n"
        "while True:\n"
        "    Image.open(io.BytesIO(data)).resize((1200, 1200))\n"
        "    if time.monotonic() >= until:\n"
        "        break\n"
    )
    subprocess.run([sys.executable, "-c", code, str(at_least)], input=image, check=True)


def test_an_editor_uploading_a_huge_image_does_not_stall_the_server(
    live_server: LiveServer, seed: Any
) -> None:
    async def editor() -> tuple[str, str]:
        return await session_cookie(await make_member(role="editor"))

    name, value = seed(editor)
    data_dir = Path(live_server.env["RELAY_DATA_DIR"])
    with httpx.Client(base_url=live_server.url, cookies={name: value}, timeout=60) as browser:
        token = csrf_token_of(browser.get("/studio/new", headers=HTML).text)

        def upload(title: str, image: bytes) -> httpx.Response:
            return browser.post(
                "/studio/new?kind=story",
                data={"kind": "story", "title": title, "language": "en", "audience": "all"},
                files={"image": ("poster.png", image, "image/png")},
                headers={"x-csrftoken": token, **HTML},
            )

        # What this machine adds by itself: other processes share its cores (in CI the other
        # suite and its Chromium), and a ping can wait for a core whatever Relay does. The
        # upload itself keeps a core busy decoding, which on a loaded 2-core machine delays
        # pings by scheduling alone. So the machine's noise is measured right after, over a
        # window as long, with the same decoding done in another process: what is left is
        # what Relay's own loop adds. On a quiet machine that is a few milliseconds and the
        # bound is the 50 ms of the issue; a stall is seconds (8 s for this upload when it
        # was decoded on the event loop of a loaded 2-core machine).
        accepted = png(6000, 6000)
        started = time.monotonic()
        slowest, count, response = slowest_ping_during(
            live_server, lambda: upload("A big poster", accepted)
        )
        took = time.monotonic() - started
        noise, _count, _none = slowest_ping_during(
            live_server, lambda: decode_elsewhere(accepted, took)
        )
        bound = 0.05 + 2 * noise
        # 36 million pixels: accepted, decoded and resized while the server kept answering.
        assert response.status_code == 303, response.text[:300]
        print(f"\n/ping while another process decodes it: slowest {noise * 1000:.1f} ms")
        print(f"/ping during a 6000×6000 upload: slowest {slowest * 1000:.1f} ms of {count}")
        assert count >= 5 and slowest < bound, (count, slowest, noise)
        assert len(stored_names(data_dir, "media")) == 2  # the two widths, under final names

        # 64 million RGBA pixels in a few hundred KB: refused from its header, nothing decoded.
        bomb = png(8000, 8000, "RGBA")
        slowest, count, response = slowest_ping_during(
            live_server, lambda: upload("A pixel bomb", bomb)
        )
        assert response.status_code == 422
        assert "This image has too many pixels: at most 40 million" in response.text
        assert 'value="A pixel bomb"' in response.text
        assert slowest < bound, (count, slowest, noise)
        assert len(stored_names(data_dir, "media")) == 2
    print(f"/ping during an 8000×8000 upload: slowest {slowest * 1000:.1f} ms of {count}")


def test_a_server_killed_during_cv_uploads_leaves_no_file_without_a_row(
    live_server: LiveServer, seed: Any, env: dict[str, str], tmp_path: Path
) -> None:
    async def offer() -> str:
        sharer = await make_member(name="Léa Martin")
        return await sharing.link_code(sharer.id, await make_item("offer", "Data engineer"))

    code = seed(offer)
    cv = PDF + b"%" * (cvs.MAX_CV_BYTES - len(PDF) - 1)  # as large as allowed
    data_dir = Path(env["RELAY_DATA_DIR"])
    answered = threading.Event()

    def candidate(n: int) -> None:
        with httpx.Client(base_url=live_server.url, timeout=30) as phone:
            with_form = phone.get(f"/r/{code}", headers=HTML)
            fields = {
                **GOOD,
                "email": f"c{n}@example.org",
                "_csrf_token": form_token(with_form.text),
            }
            try:
                phone.post(
                    f"/r/{code}/apply",
                    data=fields,
                    files={"cv": ("cv.pdf", cv, "application/pdf")},
                    headers={"hx-request": "true"},
                )
                answered.set()
            except httpx.TransportError:
                pass  # the server died under this one

    threads = [threading.Thread(target=candidate, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    assert answered.wait(timeout=60)
    os.kill(live_server.process.pid, signal.SIGKILL)  # the others are somewhere mid-way
    live_server.process.wait()
    for thread in threads:
        thread.join()

    restarted = LiveServer(env, tmp_path / "restarted.log")
    try:

        async def sweep_an_hour_later() -> set[str]:
            await sweep_orphan_files(data_dir, now() + timedelta(hours=1, minutes=1))
            rows = await Candidate.select(Candidate.cv).where(Candidate.cv.is_not_null())
            return {row["cv"] for row in rows}

        keys = seed(sweep_an_hour_later)
    finally:
        restarted.stop()
    assert keys, "at least the answered application was stored"
    on_disk = stored_names(data_dir, "cvs")
    assert on_disk == keys  # no file without a row, no row without its file, no .part left
    for key in keys:
        assert (data_dir / "cvs" / key).read_bytes() == cv  # never a truncated file


async def test_the_sweep_finishes_interrupted_renames_and_removes_what_no_row_names(
    settings: Settings,
) -> None:
    folder = media_dir(settings.data_dir)
    named = stored_image(settings.data_dir)  # a row will name it
    orphan = stored_image(settings.data_dir)  # its row was deleted, then the process died
    staged = files.StagedFiles(folder)
    committed = "A" * 16  # committed, then killed before the rename
    staged.write(f"{committed}-600.jpg", b"whole")
    staged.write(f"{'B' * 16}-600.jpg", b"never committed")  # killed before the commit
    await make_item(title="Named", image=named)
    await make_item(title="Committed", image=committed)
    (folder / "notes.txt").write_text("not Relay's")

    # Within the hour nothing unnamed goes: it may be an upload in progress.
    assert await sweep_orphan_files(settings.data_dir, now()) == 0
    assert f"{committed}-600.jpg" in stored_names(settings.data_dir, "media")
    assert await sweep_orphan_files(settings.data_dir, now() + timedelta(hours=2)) == 3
    assert stored_names(settings.data_dir, "media") == {
        f"{named}-600.jpg",
        f"{named}-1200.jpg",
        f"{committed}-600.jpg",
        "notes.txt",
    }
    assert (folder / f"{committed}-600.jpg").read_bytes() == b"whole"
    assert orphan not in str(stored_names(settings.data_dir, "media"))


async def test_a_full_disk_gives_the_editor_a_sentence_and_keeps_their_form(
    client: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
) -> None:
    # No write can reach a folder whose path is a file, whoever the server runs as.
    (settings.data_dir / "media").write_bytes(b"")
    await sign_in(client, "editor")
    status, text = await create_in_studio(
        client,
        {"title": "Our new office", "body": "Bright and green.", "language": "en",
         "audience": "all"},
        image=("office.png", png(800, 600), "image/png"),
    )  # fmt: skip
    assert status == 422
    assert FULL_DISK in text
    assert 'value="Our new office"' in text and "Bright and green." in text
    assert await ContentItem.count() == 0


async def test_a_full_disk_gives_the_candidate_a_sentence_and_keeps_their_application(
    client: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
) -> None:
    (settings.data_dir / "cvs").write_bytes(b"")
    sharer = await make_member(name="Léa Martin")
    code = await sharing.link_code(sharer.id, await make_item("offer", "Data engineer"))
    response = await apply(client, code, GOOD)
    assert response.status_code == 422
    assert FULL_DISK in response.text
    assert 'value="Jeanne Durand"' in response.text
    assert await Candidate.count() == 0


async def test_health_says_when_the_data_directory_is_not_writable(settings: Settings) -> None:
    from app.main import create_app

    blocked = settings.data_dir / "blocked"
    blocked.write_bytes(b"")
    unwritable = dataclasses.replace(settings, data_dir=blocked / "data")
    async with AsyncTestClient(create_app(unwritable)) as client:
        response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert response.json()["data_dir"] == "not writable"
    async with AsyncTestClient(create_app(settings)) as client:
        assert (await client.get("/healthz")).json()["status"] == "ok"
    assert not [p for p in settings.data_dir.iterdir() if re.match(r"\.health-", p.name)]
