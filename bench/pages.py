"""Every signed-in page against the bare baseline, on SQLite and PostgreSQL (issue 15).

    python -m bench.pages [--seconds 4] [--connections 32] [--only sqlite] [--pages feed,me]

Seeds bench/feed.py's data (50,000 members, 2,000 items, 200,000 shares) plus a little of
what the other pages show (rewards, the benchmark member's points and redemptions, some
leaders), then serves Relay (granian, one worker) and the bare baseline (bench/bare.py: the
same stack without Relay or an ORM) on the same database, in the same run. For each page:
Relay's requests/s, p50 and p99, the bare baseline doing that page's shape of work (the
session lookup, the same number of rows, a page of the same size, gzip), and the ratio.
Then /ping with and without a session cookie.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.feed import BROWSER, ITEMS, MEMBERS, SHARES, migrate, seed
from bench.harness import (
    ROOT,
    Load,
    RelayServer,
    free_port,
    gather_statistics,
    load,
    on_each_database,
)


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    rows: int  # rows the page lists: what the bare baseline reads
    editor: bool = False
    fragment: bool = False


PAGES = [
    Page("feed", "/", 20),
    Page("feed-next", "{next}", 20, fragment=True),
    Page("item", "/items/{item}", 1),
    Page("me", "/me", 5),
    Page("points", "/me/points", 20),
    Page("leaderboard", "/leaderboard", 20),
    Page("rewards", "/rewards", 12),
    Page("my-rewards", "/me/rewards", 5),
    Page("referrals", "/me/referrals", 5),
    Page("wall-of-fame", "/wall-of-fame", 20),
    # The editors' lists show 50 rows a page (the studio's items, the pipeline's offers).
    Page("studio", "/studio", 50, editor=True),
    Page("pipeline", "/pipeline", 50, editor=True),
    Page("campaigns", "/campaigns", 20, editor=True),
]


async def seed_more(database_url: str, member_token: str) -> str:
    """Rewards, points and redemptions for the pages beyond the feed; an editor's session."""
    from app.accounts.sessions import create_session
    from app.accounts.tables import Member, Session
    from app.accounts.tokens import hash_token
    from app.core import db
    from app.points import ledger
    from app.rewards.tables import Redemption, Reward

    db.use_engine(db.engine_from_url(database_url))
    await db.open_pool(4)
    now = datetime.now(UTC).replace(microsecond=0)
    session = (
        await Session.select(Session.member)
        .where(Session.token_hash == hash_token(member_token))
        .first()
    )
    assert session is not None
    me = session["member"]
    for n in range(60):
        await ledger.credit(me, 5, "share", f"bench:me:{n}", at=now - timedelta(hours=3 * n))
    leaders = [r["id"] for r in await Member.select(Member.id).limit(300)]
    for n, member in enumerate(leaders):
        await ledger.credit(member, 5 + n % 40, "share", f"bench:lead:{member}", at=now)
    rewards = [
        r["id"]
        for r in await Reward.insert(
            *(
                Reward(name=f"Reward {n}", description="A **reward** worth it.", cost=50 + 25 * n)
                for n in range(12)
            )
        ).returning(Reward.id)
    ]
    await Redemption.insert(
        *(
            Redemption(reward=rewards[n], member=me, cost=50, state="requested", requested_at=now)
            for n in range(3)
        )
    )
    editor = leaders[-1]
    await Member.update({Member.role: "editor"}).where(Member.id == editor)
    token = await create_session(editor, "bench")
    await gather_statistics()
    await db.close_pool()
    return token


class BareServer:
    """bench/bare.py under granian, one worker, on the same database."""

    def __init__(self, database_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DATABASE_URL": database_url}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "granian",
                "--interface",
                "asgi",
                "--factory",
                "--workers",
                "1",
                "--port",
                str(self.port),
                "--no-access-log",
                "bench.bare:create_app",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/ping", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("the bare baseline did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)


def worker_rss(pid: int) -> list[tuple[int, int]]:
    """(pid, resident KB) of the server's worker processes (its children under granian)."""
    out = []
    for child in server_pids(pid)[1:] or [pid]:
        status = Path(f"/proc/{child}/status").read_text()
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        if match:
            out.append((child, int(match.group(1))))
    return out


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User and system CPU time each of these processes used so far (those gone: none)."""
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def cpu_since(before: dict[int, float], now: dict[int, float]) -> float:
    """CPU time used between two readings; a process started in between counts whole (the
    database's connections a pool opens under load)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in now.items())


def server_pids(pid: int) -> list[int]:
    """The server process and its workers."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [pid, *(int(p) for p in found.split())]


def postgres_pids() -> list[int]:
    """Every process of the local PostgreSQL server (this machine's benchmarks only)."""
    found = subprocess.run(["pgrep", "-x", "postgres"], capture_output=True, text=True).stdout
    return [int(p) for p in found.split()]


def resolve(path: str, base: str, cookie: str, item: int) -> str:
    if path != "{next}":
        return path.format(item=item)
    with httpx.Client(base_url=base, headers={**BROWSER, "Cookie": cookie}) as client:
        page = client.get("/")
        more = re.search(r'hx-get="(/\?after=[^"]+)" hx-trigger="revealed"', page.text)
        assert more, "no next page"
        return more.group(1).replace("&amp;", "&")


def page_size(base: str, path: str, headers: dict[str, str]) -> int:
    response = httpx.get(
        base + path, headers={**headers, "Accept-Encoding": "identity"}, follow_redirects=False
    )
    assert response.status_code == 200, (path, response.status_code)
    return len(response.content)


def row(label: str, relay: Load, bare: Load | None, size: int | None) -> str:
    ratio = (
        f"{relay.requests_per_s / bare.requests_per_s:6.2f}"
        if bare and bare.requests_per_s
        else "     -"
    )
    bare_rps = f"{bare.requests_per_s:>8,.0f}" if bare else f"{'-':>8}"
    bare_p99 = f"{bare.p99_ms:>8.1f}" if bare else f"{'-':>8}"
    return (
        f"{label:<28} {size or 0:>7,} {relay.requests_per_s:>8,.0f} {relay.p50_ms:>7.1f} "
        f"{relay.p99_ms:>8.1f} {bare_rps} {bare_p99} {ratio} {relay.errors:>5}"
    )


HEADER = (
    f"{'page':<28} {'bytes':>7} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>8} "
    f"{'bare r/s':>8} {'bare p99':>8} {'ratio':>6} {'errs':>5}"
)


def run(label: str, database_url: str | None, args: argparse.Namespace) -> None:
    wanted = set(args.pages.split(",")) if args.pages else None
    with tempfile.TemporaryDirectory(prefix="relay-bench-pages-") as tmp:
        data_dir = Path(tmp)
        if args.keep:  # PostgreSQL's kept database has its tokens in a folder of its own
            data_dir = Path(args.keep) / ("postgresql" if database_url else "")
        url = database_url or f"sqlite:///{data_dir / 'relay.sqlite3'}"
        tokens = data_dir / "bench-tokens.json"
        if tokens.exists():  # --keep: seeded by an earlier run
            token, editor_token = json.loads(tokens.read_text())
            migrate(url, data_dir)
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
            migrate(url, data_dir)
            started = time.monotonic()
            token, _code = asyncio.run(seed(url))
            editor_token = asyncio.run(seed_more(url, token))
            if args.keep:
                tokens.write_text(json.dumps([token, editor_token]))
            print(
                f"{label}: seeded {MEMBERS:,} members, {ITEMS:,} items, {SHARES:,} shares "
                f"in {time.monotonic() - started:.1f}s"
            )
        cookies = {False: f"relay_session={token}", True: f"relay_session={editor_token}"}
        # The worker off: its first rounds announce the seeded items (bench/announce.py).
        extra = {} if args.worker else {"RELAY_EMBEDDED_WORKER": "0"}
        if args.redis:
            extra["REDIS_URL"] = args.redis
        with RelayServer(
            server="granian",
            workers=args.workers,
            database_url=url,
            data_dir=data_dir,
            demo=False,
            extra_env=extra,
        ) as relay:
            bare = BareServer(url)
            try:
                item = int(re.findall(r'href="/items/(\d+)"', httpx.get(
                    relay.url + "/", headers={**BROWSER, "Cookie": cookies[False]}).text)[3])  # fmt: skip
                print(HEADER)
                common = {"seconds": args.seconds, "connections": args.connections}
                for page in PAGES:
                    if wanted and page.name not in wanted:
                        continue
                    headers = {**BROWSER, "Cookie": cookies[page.editor]}
                    if page.fragment:
                        headers["HX-Request"] = "true"
                    path = resolve(page.path, relay.url, cookies[page.editor], item)
                    size = page_size(relay.url, path, headers)
                    relay_load = load(
                        f"{label}: {page.name}", relay.url + path, headers=headers, **common
                    )
                    bare_load = load(
                        "bare",
                        f"{bare.url}/page?rows={page.rows}&size={size}",
                        headers={**BROWSER, "Cookie": cookies[page.editor]},
                        **common,
                    )
                    print(row(f"{page.name} {path[:18]}", relay_load, bare_load, size), flush=True)
                if not wanted or "ping" in wanted:
                    plain = load(f"{label}: /ping", relay.url + "/ping", **common)
                    signed = load(
                        f"{label}: /ping signed in",
                        relay.url + "/ping",
                        headers={"Cookie": cookies[False]},
                        **common,
                    )
                    print(row("/ping, no cookie", plain, None, None))
                    print(row("/ping, session cookie", signed, plain, None).replace(
                        "       -", "   (vs)"))  # fmt: skip
                for pid, rss in worker_rss(relay.process.pid):
                    print(f"RSS of web process {pid} after the run: {rss / 1024:,.0f} MB")
            finally:
                bare.stop()
        if args.compare_workers:
            compare_workers(label, url, data_dir, extra, cookies[False], args)
        print()


def compare_workers(
    label: str,
    url: str,
    data_dir: Path,
    extra: dict[str, str],
    cookie: str,
    args: argparse.Namespace,
) -> None:
    """The feed's throughput with one web process and with ``--compare-workers`` of them,
    one after the other on the same data (each process keeps sessions through Redis when
    ``--redis`` is given, as several processes must)."""
    headers = {**BROWSER, "Cookie": cookie}
    figures = {}
    for workers in (1, args.compare_workers):
        with RelayServer(
            server="granian",
            workers=workers,
            database_url=url,
            data_dir=data_dir,
            demo=False,
            extra_env=extra,
        ) as relay:
            # The CPU each side used while wrk ran (its warm-up included, at the same load).
            relay_pids = server_pids(relay.process.pid)
            on_postgres = url.startswith("postgresql")
            started = time.monotonic()
            relay_before = cpu_seconds(relay_pids)
            database_before = cpu_seconds(postgres_pids() if on_postgres else [])
            figures[workers] = load(
                f"{label}: feed, {workers} worker(s)",
                relay.url + "/",
                headers=headers,
                seconds=args.seconds,
                connections=args.connections,
            )
            spent = time.monotonic() - started
            relay_cores = cpu_since(relay_before, cpu_seconds(relay_pids)) / spent
            database_now = cpu_seconds(postgres_pids() if on_postgres else [])
            database_cores = cpu_since(database_before, database_now) / spent
            sizes = [rss for _pid, rss in worker_rss(relay.process.pid)]
        rate = figures[workers].requests_per_s
        one = figures[1].requests_per_s
        print(
            f"feed with {workers} worker(s): {rate:,.0f} req/s, "
            f"p99 {figures[workers].p99_ms:.1f} ms, {rate / one:.2f}× "
            f"one worker; RSS {', '.join(f'{kb / 1024:,.0f} MB' for kb in sizes)}",
            flush=True,
        )
        per_page_ms = (relay_cores + database_cores) / rate * 1000
        cores = os.cpu_count() or 1
        ceiling = cores / per_page_ms * 1000
        print(
            f"  CPU: Relay {relay_cores:.2f} cores, the database {database_cores:.2f}: "
            f"{per_page_ms:.2f} ms a page; {cores} cores carry at most {ceiling:,.0f} pages/s "
            f"({ceiling / one:.2f}× one worker), reached {rate / ceiling:.0%}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    parser.add_argument("--pages", default=None, help="comma-separated page names, and ping")
    parser.add_argument(
        "--keep",
        default=None,
        help="seed once into this folder (PostgreSQL: into relay_bench_pages_kept)",
    )
    parser.add_argument("--worker", action="store_true", help="with the embedded worker on")
    parser.add_argument("--workers", type=int, default=1, help="web processes (relay serve)")
    parser.add_argument("--redis", default=None, help="REDIS_URL for the web processes")
    parser.add_argument(
        "--compare-workers", type=int, default=0, help="then the feed with 1 and N workers"
    )
    args = parser.parse_args()
    print(
        f"Pages benchmark: granian, {args.workers} worker(s), {args.connections} connections, {args.seconds}s "
        "per figure, wrk over loopback; ratio = Relay / bare baseline of the same shape\n"
    )
    on_each_database(
        args, "pages", lambda label, url: run(label, url, args), keep_postgres=bool(args.keep)
    )


if __name__ == "__main__":
    main()
