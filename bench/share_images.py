"""The images made for Instagram and TikTok: cold generation and warm serving.

    python -m bench.share_images [--seconds 8] [--connections 32] [--workers 1]

- **cold**: :func:`app.sharing.images.draw` for a story (1080×1920) and a post (1080×1080),
  each with an item image and without, over varied titles (long, right-to-left, emoji), in
  this process: the time to make one image (the target is ≤ 150 ms), then the same with the
  atomic write (``make``: fsync and rename) that a first request pays;
- **warm**: ``relay serve`` (granian, one worker by default, demo data on SQLite), a demo
  employee's story image, made by a first request, then loaded with wrk, against the
  ceiling (``GET /ping``) and an uploaded image of similar size (``GET /media/…``) in the
  same run (the target is ≥ 2,000 req/s on one worker).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import HEADER, RelayServer, load

TITLES = [
    "Senior backend engineer (Python, PostgreSQL) in Lyon",
    "Our new office opens in Bordeaux: " + "come and see it, " * 12,
    "משרה חדשה: מהנדסת תוכנה בכירה בצוות התשתיות",
    "وظيفة جديدة: مهندس برمجيات أول",
    "Hackathon 🚀 weekend 🎉 with the whole team ★",
]


def cold(samples: int) -> None:
    from PIL import Image

    from app.sharing import images

    work = Path(tempfile.mkdtemp(prefix="relay-bench-images-"))
    picture = work / "picture.jpg"
    Image.new("RGB", (1200, 675), (200, 120, 60)).save(picture, quality=85)
    # Fonts and glyph checks are loaded once per process: not part of an image's time.
    images.draw(images.Poster("post", TITLES[4], "Relay", "#4f46e5", "http://x/r/a", "Scan", None))
    print(f"{'cold generation':<44} {'median ms':>10} {'max ms':>8} {'KB':>6}")
    for fmt in images.FORMATS:
        for with_image in (True, False):
            times, sizes = [], []
            for n in range(samples):
                poster = images.Poster(
                    format=fmt,
                    title=f"{TITLES[n % len(TITLES)]} {n}",
                    org_name="Demo Company",
                    colour="#4f46e5",
                    qr_url=f"http://localhost:8000/r/code{n:08d}?via=qr",
                    call_to_action="Scan to apply",
                    image=str(picture) if with_image else None,
                )
                started = time.perf_counter()
                data = images.draw(poster)
                times.append((time.perf_counter() - started) * 1000)
                sizes.append(len(data))
            label = f"draw {fmt} {'with' if with_image else 'without'} image"
            print(
                f"{label:<44} {statistics.median(times):>10.1f} {max(times):>8.1f} "
                f"{statistics.mean(sizes) / 1024:>6.0f}"
            )
        times = []
        for n in range(samples):
            poster = images.Poster(
                fmt, f"Made and written {n}", "Demo", "#0f766e", f"http://x/r/{n}", "Scan", None
            )
            started = time.perf_counter()
            images.make(work, 1, n, poster)
            times.append((time.perf_counter() - started) * 1000)
        label = f"make {fmt} (draw + atomic write)"
        print(f"{label:<44} {statistics.median(times):>10.1f} {max(times):>8.1f}")


async def demo_media_key(env: dict[str, str]) -> str | None:
    from app.content.tables import ContentItem
    from app.core import db
    from app.core.settings import Settings

    db.use_engine(db.engine_from_url(Settings.from_env(env).database_url))
    row = await ContentItem.select(ContentItem.image).where(ContentItem.image.is_not_null()).first()
    return row["image"] if row else None


def warm(args: argparse.Namespace) -> None:
    with RelayServer(workers=args.workers) as relay:
        cookie = relay.session_cookie("lea.martin@demo.relay")
        with httpx.Client(base_url=relay.url, headers={"Cookie": cookie}) as client:
            feed = client.get("/", headers={"Accept": "text/html"}).text
            item = re.search(r'data-share-now data-item="(\d+)"', feed)
            assert item, "the demo feed has an item to share"
            sheet = client.get(f"/items/{item.group(1)}/share").text
            story = re.search(r'href="(/share-images/[^"]+)" download="\d+-story', sheet)
            post = re.search(r'href="(/share-images/[^"]+)" download="\d+-post', sheet)
            assert story and post, "the sheet names the story and post images"
            started = time.perf_counter()
            first = client.get(story.group(1))
            made_ms = (time.perf_counter() - started) * 1000
            assert first.status_code == 200, first.status_code
            # The process has now loaded Pillow, the fonts and the item's image: the next
            # image made is what any later first request pays.
            started = time.perf_counter()
            second = client.get(post.group(1))
            next_ms = (time.perf_counter() - started) * 1000
            assert second.status_code == 200, second.status_code
        key = asyncio.run(demo_media_key(relay.env))
        common = {"seconds": args.seconds, "connections": args.connections}
        print(
            f"\nfirst request for a story image (made, fresh process): {made_ms:.0f} ms, "
            f"{len(first.content) // 1024} KB\n"
            f"first request for a post image (made, process warm): {next_ms:.0f} ms, "
            f"{len(second.content) // 1024} KB\n"
        )
        print(HEADER)
        ceiling = load("GET /ping (ceiling)", f"{relay.url}/ping", **common)
        rows = [ceiling]
        if key:
            rows.append(
                load(
                    "GET /media/{key}-1200.jpg (uploaded image)",
                    f"{relay.url}/media/{key}-1200.jpg",
                    **common,
                )
            )
        rows.append(
            load("GET /share-images/… story (warm)", f"{relay.url}{story.group(1)}", **common)
        )
    for row in rows:
        print(row.row(None if row is ceiling else ceiling))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    print(
        f"Share images benchmark: {args.samples} images per kind; granian, {args.workers} "
        f"worker(s), {args.connections} connections, {args.seconds}s per figure, wrk over loopback\n"
    )
    cold(args.samples)
    warm(args)


if __name__ == "__main__":
    main()
