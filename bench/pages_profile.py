"""Each signed-in page's CPU per request and its query count, in this process.

    python -m bench.pages_profile --keep DIR [--repeat 30] [--profile PATH]

DIR holds bench/pages.py's seeded SQLite data (``python -m bench.pages --only sqlite
--keep DIR`` seeds it). Relay's app is served in this process (no server, no network) and
each page of bench/pages.py is requested ``--repeat`` times: the median and least CPU time
of this process per request (``time.process_time``, which a loaded machine disturbs far
less than wall time, the least figure least of all; SQLite's own work in its threads is
counted too) and how many SQL statements
one request runs. ``--profile PATH`` prints cProfile's costliest functions for that page.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import pstats
import re
import statistics
import time
from pathlib import Path

import httpx

from bench.feed import BROWSER
from bench.insights_profile import QueryCount
from bench.pages import PAGES


async def measure(data_dir: Path, args: argparse.Namespace) -> None:
    from app.core.settings import Settings
    from app.main import create_app

    token, editor_token = json.loads((data_dir / "bench-tokens.json").read_text())
    env = {
        "RELAY_DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'relay.sqlite3'}",
        "PUBLIC_URL": "http://localhost:8000",
        "RELAY_EMBEDDED_WORKER": "off",
        "WEB_CONCURRENCY": "1",
    }
    app = create_app(Settings.from_env(env))
    queries = QueryCount()
    queries.install()
    async with (
        app.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
            base_url="http://localhost:8000",
        ) as client,
    ):
        feed = await client.get("/", headers={**BROWSER, "Cookie": f"relay_session={token}"})
        item = re.findall(r'href="/items/(\d+)"', feed.text)[3]
        more = re.search(r'hx-get="(/\?after=[^"]+)" hx-trigger="revealed"', feed.text)
        for page in PAGES:
            path = page.path.format(item=item) if page.path != "{next}" else ""
            if not path:
                path = more.group(1).replace("&amp;", "&") if more else "/"
            if args.profile and path != args.profile:
                continue
            cookie = editor_token if page.editor else token
            headers = {**BROWSER, "Cookie": f"relay_session={cookie}"}
            if page.fragment:
                headers["HX-Request"] = "true"
            first = await client.get(path, headers=headers)
            queries.n = 0
            await client.get(path, headers=headers)
            count = queries.n
            times = []
            profiler = cProfile.Profile() if args.profile else None
            for _n in range(args.repeat):
                started = time.process_time()
                if profiler:
                    profiler.enable()
                await client.get(path, headers=headers)
                if profiler:
                    profiler.disable()
                times.append((time.process_time() - started) * 1000)
            print(
                f"{page.name:<14} {first.status_code} CPU a request: median "
                f"{statistics.median(times):6.2f} ms, least {min(times):6.2f} ms; {count:2d} queries",
                flush=True,
            )
            if profiler:
                stats = pstats.Stats(profiler)
                stats.sort_stats("cumulative").print_stats(r"app/|jinja|piccolo", 40)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", required=True, help="bench/pages.py's seeded SQLite folder")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--profile", default=None)
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(measure(Path(args.keep), args))


if __name__ == "__main__":
    main()
