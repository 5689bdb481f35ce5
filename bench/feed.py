"""The signed-in feed with a realistic volume, on SQLite and PostgreSQL.

    python -m bench.feed [--seconds 8] [--connections 32] [--pg postgresql://postgres@127.0.0.1:5432/postgres]

Seeds 50,000 members, 2,000 items (stories and offers, some for one team, a few pinned) and
200,000 shares with bulk inserts, then measures the feed's first page (20 cards) for one
member with wrk: requests/s and p50/p99, with the ratio to /ping from the same run (and the
signed-in Me page, the shell's cost without the feed, for reference), and the public page
behind a tracked link. Then the
bytes transferred for the first visit and for the next-page fragment htmx loads on scroll.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.harness import (
    HEADER,
    ROOT,
    RelayServer,
    gather_statistics,
    load,
    on_each_database,
    page_bench_args,
)

MEMBERS = 50_000
ITEMS = 2_000
SHARES = 200_000
BATCH = 1_000
NETWORKS = ["native", "linkedin", "x", "facebook", "whatsapp", "email", "copy"]
BROWSER = {"Accept": "text/html", "Accept-Encoding": "gzip", "Accept-Language": "fr-FR,fr;q=0.9"}


def migrate(database_url: str, data_dir: Path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "RELAY_DATA_DIR": str(data_dir)}
    subprocess.run(
        [sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True
    )


async def seed(database_url: str) -> tuple[str, str]:
    """Bulk rows through Piccolo; returns a session token for a member of the first team and
    the code of one of their tracked links."""
    from app.accounts.sessions import create_session
    from app.accounts.tables import Member
    from app.content.tables import ContentItem, ContentTarget
    from app.core import db
    from app.org.tables import Organisation, Site, Team
    from app.sharing.service import link_code
    from app.sharing.tables import Share

    db.use_engine(db.engine_from_url(database_url))
    await db.open_pool(4)
    rng = random.Random(4)
    await Organisation.insert(Organisation(name="Bench Corp")).run()
    teams = [
        r["id"]
        for r in await Team.insert(*(Team(name=f"Team {n}") for n in range(20))).returning(Team.id)
    ]
    sites = [
        r["id"]
        for r in await Site.insert(*(Site(name=f"Site {n}") for n in range(8))).returning(Site.id)
    ]
    now = datetime.now(UTC).replace(microsecond=0)
    for start in range(0, MEMBERS, BATCH):
        await Member.insert(
            *(
                Member(
                    email=f"person{n}@bench.example",
                    name=f"Person {n}",
                    team=rng.choice(teams),
                    site=rng.choice(sites),
                    created_at=now,
                )
                for n in range(start, min(start + BATCH, MEMBERS))
            )
        )
    item_rows = []
    for n in range(ITEMS):
        offer = n % 3 == 0
        item_rows.append(
            ContentItem(
                kind="offer" if offer else "story",
                title=f"{'Offer' if offer else 'Story'} number {n}: something worth sharing",
                body=(
                    "A **paragraph** of text about this, long enough to make an excerpt "
                    "that is cut at a hundred and sixty characters, like real stories. " * 3
                ),
                excerpt="A paragraph of text about this, long enough to make an excerpt that is "
                "cut at a hundred and sixty characters, like real stories. A…",
                language="fr" if n % 2 else "en",
                tags=",tech," if n % 5 == 0 else ",culture,",
                captions='{"linkedin": ["Proud of this #bench"]}',
                image=None,
                audience_all=n % 5 != 1,
                pinned=n < 3,
                publish_at=now - timedelta(minutes=30 * n + 1),
                contract="permanent" if offer else "",
                remote="hybrid" if offer else "",
                offer_status="open" if offer else "draft",
                bonus_text="€1,000 for a successful referral" if offer else "",
                created_at=now,
                updated_at=now,
            )
        )
    item_ids: list[int] = []
    for start in range(0, ITEMS, 500):
        rows = await ContentItem.insert(*item_rows[start : start + 500]).returning(ContentItem.id)
        item_ids += [r["id"] for r in rows]
    await ContentTarget.insert(
        *(
            ContentTarget(item=item_id, team=rng.choice(teams))
            for n, item_id in enumerate(item_ids)
            if n % 5 == 1
        )
    )
    member_ids = [r["id"] for r in await Member.select(Member.id)]
    keys: set[str] = set()
    shares = []
    while len(shares) < SHARES:
        member, item, network = rng.choice(member_ids), rng.choice(item_ids), rng.choice(NETWORKS)
        key = f"{member}:{item}:{network}"
        if key not in keys:
            keys.add(key)
            shares.append((key, member, item, network))
    for start in range(0, SHARES, BATCH):
        await Share.insert(
            *(
                Share(key=k, member=m, item=i, network=nw, at=now)
                for k, m, i, nw in shares[start : start + BATCH]
            )
        )
    me = await Member.select(Member.id).where(Member.team == teams[0]).first()
    assert me is not None
    # The benchmark member shared some of the first page, as a real ambassador would.
    await Share.insert(
        *(
            Share(key=f"{me['id']}:{i}:linkedin", member=me["id"], item=i, network="linkedin")
            for i in item_ids[3:12:2]
        )
    ).on_conflict(action="DO NOTHING")
    token = await create_session(me["id"], "bench")
    code = await link_code(me["id"], item_ids[3])
    await gather_statistics()
    await db.close_pool()
    return token, code


def sizes(base: str, cookie: str) -> tuple[int, int, int]:
    """(first visit bytes on the wire, its uncompressed size, next-page fragment bytes)."""
    headers = {**BROWSER, "Cookie": cookie}
    with httpx.Client(base_url=base, headers=headers) as client:
        page = client.get("/")
        assert page.status_code == 200 and page.text.count('class="card feed-card') == 20
        first = page.num_bytes_downloaded
        raw = len(client.get("/", headers={"Accept-Encoding": "identity"}).content)
        more = re.search(r'hx-get="(/\?after=[^"]+)" hx-trigger="revealed"', page.text)
        assert more, "no next page"
        fragment = client.get(more.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
        assert fragment.text.count('class="card feed-card') == 20
        return first, raw, fragment.num_bytes_downloaded


def run(label: str, database_url: str | None, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="relay-bench-feed-") as tmp:
        data_dir = Path(tmp)
        url = database_url or f"sqlite:///{data_dir / 'relay.sqlite3'}"
        migrate(url, data_dir)
        started = time.monotonic()
        token, code = asyncio.run(seed(url))
        print(
            f"{label}: seeded {MEMBERS:,} members, {ITEMS:,} items, {SHARES:,} shares "
            f"in {time.monotonic() - started:.1f}s"
        )
        cookie = f"relay_session={token}"
        with RelayServer(
            server="granian", workers=args.workers, database_url=url, data_dir=data_dir, demo=False
        ) as relay:
            ceiling = load(
                f"{label}: GET /ping (ceiling)",
                f"{relay.url}/ping",
                seconds=args.seconds,
                connections=args.connections,
            )
            feed = load(
                f"{label}: GET / (feed, 20 cards, gzip)",
                f"{relay.url}/",
                seconds=args.seconds,
                connections=args.connections,
                headers={**BROWSER, "Cookie": cookie},
            )
            shell = load(
                f"{label}: GET /me (signed-in shell page)",
                f"{relay.url}/me",
                seconds=args.seconds,
                connections=args.connections,
                headers={**BROWSER, "Cookie": cookie},
            )
            landing = load(
                f"{label}: GET /r/{{code}} (public page)",
                f"{relay.url}/r/{code}",
                seconds=args.seconds,
                connections=args.connections,
                headers=BROWSER,
            )
            first, raw, fragment = sizes(relay.url, cookie)
        print(HEADER)
        print(ceiling.row())
        print(shell.row(ceiling))
        print(feed.row(ceiling))
        print(landing.row(ceiling))
        print(
            f"{label}: first visit {first:,} bytes transferred ({raw:,} uncompressed); "
            f"next-page fragment {fragment:,} bytes\n"
        )


def main() -> None:
    args = page_bench_args("Feed")
    on_each_database(args, "feed", lambda label, url: run(label, url, args))


if __name__ == "__main__":
    main()
