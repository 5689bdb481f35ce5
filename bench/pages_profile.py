"""Each signed-in page's CPU per request and its query count, in this process, against the
bare baseline doing the same shape of work in this process too.

    python -m bench.pages_profile --keep DIR [--repeat 40] [--pages feed,ping] [--profile PATH]
        [--sql]

DIR holds bench/pages.py's seeded SQLite data (``python -m bench.pages --only sqlite
--keep DIR`` seeds it). Relay's app and bench/bare.py's app are called directly as ASGI
apps in this process (no server, no network, no HTTP client: what is measured is the app
alone), each page of bench/pages.py ``--repeat`` times, alternating with the bare app's
``/page`` of the same rows and size: the median and least CPU time of this process per
request (``time.process_time``, which a loaded machine disturbs far less than wall time;
SQLite's own work in its threads is counted too), the ratio bare / Relay (the share of the
bare stack's throughput Relay would reach if CPU were all), and how many SQL statements one
request runs. Then ``/ping`` without a cookie, with a session cookie, and the bare app's.
``--profile PAGE`` (a path or a page's name) prints cProfile's costliest functions for it.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import os
import pstats
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.feed import BROWSER
from bench.insights_profile import QueryCount
from bench.pages import PAGES

App = Callable[..., Any]


async def asgi_get(app: App, url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """One GET straight into an ASGI app: its status and body (as sent, gzipped or not)."""
    parts = urlsplit(url)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": parts.path,
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 40000),
        "server": ("localhost", 8000),
        "state": {},
    }
    status = 0
    body: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(body)


async def cpu_per_request(app: App, url: str, headers: dict[str, str], repeat: int) -> list[float]:
    times = []
    for _n in range(repeat):
        started = time.process_time()
        await asgi_get(app, url, headers)
        times.append((time.process_time() - started) * 1000)
    return times


def line(label: str, relay: list[float], bare: list[float] | None, queries: int | None) -> str:
    ratio = f"{statistics.median(bare) / statistics.median(relay):5.2f}×" if bare else "     -"
    bare_ms = f"{statistics.median(bare):6.3f}" if bare else f"{'-':>6}"
    count = f"{queries:3d}" if queries is not None else "  -"
    return (
        f"{label:<22} {statistics.median(relay):7.3f} {min(relay):7.3f} {bare_ms} {ratio} {count}"
    )


async def measure(data_dir: Path, args: argparse.Namespace) -> None:
    from app.core.settings import Settings
    from app.main import create_app
    from bench import bare

    token, editor_token = json.loads((data_dir / "bench-tokens.json").read_text())
    env = {
        "RELAY_DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'relay.sqlite3'}",
        "PUBLIC_URL": "http://localhost:8000",
        "RELAY_EMBEDDED_WORKER": "off",
        "WEB_CONCURRENCY": "1",
    }
    app = create_app(Settings.from_env(env))
    os.environ["DATABASE_URL"] = env["DATABASE_URL"]
    baseline = bare.create_app()
    wanted = set(args.pages.split(",")) if args.pages else None
    queries = QueryCount()
    queries.install()
    repeat = args.repeat
    print(f"CPU per request in-process, ms ({repeat} requests each, alternating with the bare app)")
    print(f"{'page':<22} {'median':>7} {'least':>7} {'bare':>6} {'bare/relay':>6} {'sql':>3}")
    async with app.lifespan(), baseline.lifespan():
        cookie = {"Cookie": f"relay_session={token}"}
        _status, feed = await asgi_get(app, "/", {**cookie, "Accept": "text/html"})
        item = re.findall(r'href="/items/(\d+)"', feed.decode())[3]
        more = re.search(r'hx-get="(/\?after=[^"]+)" hx-trigger="revealed"', feed.decode())
        for page in PAGES:
            if wanted and page.name not in wanted:
                continue
            path = page.path.format(item=item) if page.path != "{next}" else ""
            if not path:
                path = more.group(1).replace("&amp;", "&") if more else "/"
            if args.profile and args.profile not in (path, page.name):
                continue
            cookie = {"Cookie": f"relay_session={editor_token if page.editor else token}"}
            headers = {**BROWSER, **cookie}
            if page.fragment:
                headers["HX-Request"] = "true"
            status, _body = await asgi_get(app, path, headers)
            assert status == 200, (path, status)
            size = len((await asgi_get(app, path, {**headers, "Accept-Encoding": "identity"}))[1])
            bare_url = f"/page?rows={page.rows}&size={size}"
            await asgi_get(baseline, bare_url, headers)
            queries.n = 0
            queries.shown = [] if args.sql else None
            await asgi_get(app, path, headers)
            count = queries.n
            for statement in queries.shown or []:
                print(f"    {statement}")
            queries.shown = None
            relay_times: list[float] = []
            bare_times: list[float] = []
            for _round in range(4):  # alternating, so that the machine's load falls on both
                relay_times += await cpu_per_request(app, path, headers, repeat // 4)
                bare_times += await cpu_per_request(baseline, bare_url, headers, repeat // 4)
            print(line(page.name, relay_times, bare_times, count), flush=True)
            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
                await cpu_per_request(app, path, headers, repeat)
                profiler.disable()
                stats = pstats.Stats(profiler)
                stats.sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(
                    r"app/|jinja|piccolo|litestar|templates/", 50
                )
        if not args.profile and (not wanted or "ping" in wanted):
            plain = {"Accept-Encoding": "gzip"}
            signed = {**plain, "Cookie": f"relay_session={token}"}
            figures: dict[str, list[float]] = {"plain": [], "signed": [], "bare": []}
            for _round in range(8):
                figures["plain"] += await cpu_per_request(app, "/ping", plain, repeat * 5)
                figures["signed"] += await cpu_per_request(app, "/ping", signed, repeat * 5)
                figures["bare"] += await cpu_per_request(baseline, "/ping", plain, repeat * 5)
            print(line("/ping, no cookie", figures["plain"], figures["bare"], None))
            print(
                line("/ping, session cookie", figures["signed"], figures["plain"], None)
                + "  (ratio: against /ping without a cookie)"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", required=True, help="bench/pages.py's seeded SQLite folder")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--pages", default=None, help="comma-separated page names, and ping")
    parser.add_argument("--profile", default=None, help="a page's path or name")
    parser.add_argument("--sql", action="store_true", help="print the statements of a request")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(measure(Path(args.keep), args))


if __name__ == "__main__":
    main()
