"""The public page behind a tracked link, with visit recording, on SQLite and PostgreSQL.

    python -m bench.landing [--seconds 8] [--workers 2] [--postgres postgresql://…]

For each database, in the same run and with the same server (granian) and worker count:

- ``GET /ping``: the plain-text ceiling (no database, no template);
- ``GET /r/{code}``: Relay as shipped: the page, and the visit appended to the process's
  buffer, written in batches by a background task;
- the same page with no recording at all, to show what recording costs;
- the naive version: the same page, but each request first inserts its visit and commits.

The naive version is not in Relay: it is :func:`naive_app` below, a script-local ASGI
wrapper around ``create_app()`` (served by ``python -m bench.landing naive-server``) that
swaps the buffer for one that drops rows and writes each visit on the request's path.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.harness import HEADER, ROOT, Load, RelayServer, free_port, load

PHONE = {
    "User-Agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Accept": "text/html",
    "Accept-Encoding": "gzip",
}


def naive_app(write: bool = True) -> Any:
    """Relay's app, but every visit is inserted and committed before the page is served
    (``write=False``: not recorded at all, to show what recording costs)."""
    from app.candidates.tables import Visit
    from app.candidates.visits import VisitRecorder
    from app.core.clock import now
    from app.main import create_app

    class DroppingRecorder(VisitRecorder):
        def note(self, *args: Any, **kwargs: Any) -> None:
            """The naive app writes visits itself."""

    relay = create_app()
    recorder = DroppingRecorder()
    relay.state.visits = recorder

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if write and scope["type"] == "http" and scope["path"].startswith("/r/"):
            headers = dict(scope["headers"])
            agent = headers.get(b"user-agent", b"").decode()
            address = (scope.get("client") or ("", 0))[0]
            visitor = await recorder.visitor(address, agent)
            await Visit.raw(
                "INSERT INTO visit (link, at, visitor, preview, own) "
                "SELECT id, {}, {}, {}, {} FROM share_link WHERE code = {}",
                now(),
                visitor,
                False,
                False,
                scope["path"][3:],
            )
        await relay(scope, receive, send)

    return app


def unrecorded_app() -> Any:
    return naive_app(write=False)


class NaiveServer:
    """``naive_app`` under granian, like ``relay serve``, on the same data directory."""

    def __init__(self, env: dict[str, str], workers: int, target: str = "naive_app") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.landing", "naive-server", "--port", str(self.port),
             "--workers", str(workers), "--target", target],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("the naive server did not become healthy")

    def stop(self) -> None:
        # Requests queued behind SQLite's write lock can outlast a polite stop: then kill the
        # server's own process group.
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def serve_naive(port: int, workers: int, target: str) -> None:
    from granian.constants import Interfaces
    from granian.server import Server

    Server(
        f"bench.landing:{target}",
        address="127.0.0.1",
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        factory=True,
        log_access=False,
    ).serve()


async def share_code(database_url: str) -> str:
    """A demo employee's tracked link to a demo offer."""
    from app.accounts.tables import Member
    from app.content.tables import ContentItem
    from app.core import db
    from app.sharing.service import link_code

    db.use_engine(db.engine_from_url(database_url))
    member = await Member.select(Member.id).where(Member.role == "employee").first()
    offer = await ContentItem.select(ContentItem.id).where(ContentItem.kind == "offer").first()
    assert member and offer, "the demo data has employees and offers"
    return await link_code(member["id"], offer["id"])


async def visits_in(database_url: str) -> int:
    from app.candidates.tables import Visit
    from app.core import db

    db.use_engine(db.engine_from_url(database_url))
    return int(await Visit.count())


async def fresh_postgres(admin_url: str, name: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


async def drop_postgres(admin_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def run(label: str, database_url: str | None, args: argparse.Namespace) -> list[Load]:
    data_dir = Path(tempfile.mkdtemp(prefix="relay-bench-landing-"))
    url = database_url or f"sqlite:///{data_dir / 'relay.sqlite3'}"
    with RelayServer(workers=args.workers, database_url=url, data_dir=data_dir) as relay:
        code = asyncio.run(share_code(url))
        common = {"seconds": args.seconds, "connections": args.connections}
        ceiling = load(f"{label}: GET /ping (ceiling)", f"{relay.url}/ping", **common)
        before = asyncio.run(visits_in(url))
        page = load(
            f"{label}: GET /r/{{code}} (buffered visits)",
            f"{relay.url}/r/{code}",
            headers=PHONE,
            **common,
        )
        bare_server = NaiveServer(relay.env, args.workers, "unrecorded_app")
        try:
            bare = load(
                f"{label}: GET /r/{{code}} (not recorded)",
                f"{bare_server.url}/r/{code}",
                headers=PHONE,
                **common,
            )
        finally:
            bare_server.stop()
        naive_server = NaiveServer(relay.env, args.workers)
        try:
            naive = load(
                f"{label}: GET /r/{{code}} (naive: insert+commit)",
                f"{naive_server.url}/r/{code}",
                headers=PHONE,
                **common,
            )
        finally:
            naive_server.stop()
    recorded = asyncio.run(visits_in(url)) - before
    print(ceiling.row())
    print(bare.row(ceiling))
    print(page.row(ceiling))
    print(naive.row(ceiling))
    print(
        f"{label}: buffered/naive {page.requests_per_s / naive.requests_per_s:.1f}x; "
        f"{recorded:,} visits written during the buffered and naive runs (warm-ups included)"
    )
    return [ceiling, bare, page, naive]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "naive-server":
        parser = argparse.ArgumentParser()
        parser.add_argument("command")
        parser.add_argument("--port", type=int, required=True)
        parser.add_argument("--workers", type=int, default=1)
        parser.add_argument("--target", choices=["naive_app", "unrecorded_app"])
        serve_naive(**{k: v for k, v in vars(parser.parse_args()).items() if k != "command"})
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a server where the bench may create and drop a database ('' to skip)",
    )
    args = parser.parse_args()
    print(
        f"Landing page benchmark: granian, {args.workers} worker(s), {args.connections} "
        f"connections, {args.seconds}s per figure, wrk over loopback\n"
    )
    print(HEADER)
    run("SQLite", None, args)
    if args.postgres:
        name = f"relay_bench_landing_{os.getpid()}"
        url = asyncio.run(fresh_postgres(args.postgres, name))
        try:
            run("PostgreSQL", url, args)
        finally:
            asyncio.run(drop_postgres(args.postgres, name))


if __name__ == "__main__":
    main()
