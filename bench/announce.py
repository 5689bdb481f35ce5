"""The feed while the embedded worker announces 2,000 new items to 50,000 members (issue 15).

    python -m bench.announce [--seconds 8] [--only sqlite] [--keep /tmp/relay-pages]

Seeds bench/feed.py's data (or reuses bench/pages.py's ``--keep`` folder), then dates all
2,000 items within the last day, not yet announced, and measures the feed (wrk, 32
connections, from the moment the server answers, no warm-up) twice on fresh servers: with
the embedded worker off, then on, its first round announcing every item. Reports both
p50/p99, their ratio, the nudges written and how long the announcement took.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.feed import BROWSER, ITEMS, migrate, seed
from bench.harness import RelayServer, on_each_database, read_wrk


async def _run(url: str, statements: list[tuple[str, tuple[object, ...]]]) -> list[object]:
    """Statements on the database with the drivers; the first column of each last row."""
    out: list[object] = []
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
        try:
            for sql, args in statements:
                rows = conn.execute(sql.replace("$1", "?"), args).fetchall()
                out.append(rows[-1][0] if rows else None)
            conn.commit()
        finally:
            conn.close()
        return out
    import asyncpg

    pg = await asyncpg.connect(url)
    try:
        for sql, args in statements:
            out.append(await pg.fetchval(sql, *args))
    finally:
        await pg.close()
    return out


def prepare(url: str) -> None:
    """Every item published within the last day (40 s apart, newest first as the seed made
    them), none announced, no nudge yet."""
    moment = datetime.now(UTC).replace(microsecond=0)
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
        with conn:
            ids = [row[0] for row in conn.execute("SELECT id FROM content_item")]
            conn.executemany(
                "UPDATE content_item SET publish_at = ?, announced_at = NULL WHERE id = ?",
                [(str(moment - timedelta(seconds=40 * (n + 1))), i) for n, i in enumerate(ids)],
            )
            conn.execute("DELETE FROM nudge")
        conn.close()
        return
    asyncio.run(
        _run(
            url,
            [
                (
                    "UPDATE content_item SET announced_at = NULL, "
                    "publish_at = $1::timestamptz - (id * 40) * interval '1 second'",
                    (moment,),
                ),
                ("DELETE FROM nudge", ()),
            ],
        )
    )


def count_nudges(url: str) -> int:
    return int(asyncio.run(_run(url, [("SELECT COUNT(*) FROM nudge", ())]))[0] or 0)  # type: ignore[call-overload]


def feed_under_load(
    relay: RelayServer, cookie: str, seconds: int, connections: int
) -> tuple[float, float, float, int]:
    """wrk on the feed from now, no warm-up: (req/s, p50 ms, p99 ms, errors)."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in {**BROWSER, "Cookie": cookie}.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, f"{relay.url}/"], capture_output=True, text=True).stdout
    return read_wrk(out)


def watch(count: Callable[[], int], stop: threading.Event, started: float) -> dict[str, float]:
    """Polls the nudges written; when the count last changed (the announcement's end)."""
    seen = {"count": 0.0, "last_change_s": 0.0}

    def run() -> None:
        while not stop.is_set():
            n = count()
            if n != seen["count"]:
                seen["count"], seen["last_change_s"] = n, time.monotonic() - started
            stop.wait(0.25)

    threading.Thread(target=run, daemon=True).start()
    return seen


def run(label: str, database_url: str | None, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="relay-bench-announce-") as tmp:
        data_dir = Path(args.keep) if args.keep and database_url is None else Path(tmp)
        url = database_url or f"sqlite:///{data_dir / 'relay.sqlite3'}"
        tokens = data_dir / "bench-tokens.json"
        if tokens.exists():
            token = json.loads(tokens.read_text())[0]
            migrate(url, data_dir)
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
            migrate(url, data_dir)
            token, _code = asyncio.run(seed(url))
        cookie = f"relay_session={token}"
        results = {}
        for worker in (False, True):
            prepare(url)
            env = {"RELAY_EMBEDDED_WORKER": "1" if worker else "0"}
            started = time.monotonic()
            stop = threading.Event()
            seen = watch(lambda: count_nudges(url), stop, started) if worker else None
            with RelayServer(
                server="granian", database_url=url, data_dir=data_dir, demo=False, extra_env=env
            ) as relay:
                results[worker] = feed_under_load(relay, cookie, args.seconds, args.connections)
                if seen is not None:
                    deadline = time.monotonic() + 120
                    while time.monotonic() < deadline and (
                        time.monotonic() - started - seen["last_change_s"] < 3
                    ):
                        time.sleep(0.5)
            stop.set()
            label_worker = "worker on, announcing" if worker else "worker off"
            rps, p50, p99, errors = results[worker]
            line = f"{label}: feed, {label_worker:<22} {rps:>7,.0f} req/s  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  errors {errors}"
            if seen is not None:
                line += (
                    f"\n{label}: {int(seen['count']):,} nudges for {ITEMS:,} items, written "
                    f"{seen['last_change_s']:.1f}s after the server started"
                )
            print(line, flush=True)
        ratio = results[True][2] / results[False][2] if results[False][2] else float("nan")
        print(f"{label}: feed p99 with the worker announcing / without: {ratio:.2f}x\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    parser.add_argument("--keep", default=None, help="SQLite: bench/pages.py's --keep folder")
    args = parser.parse_args()
    print(f"Announcement benchmark: granian, 1 worker, {args.connections} connections\n")
    on_each_database(args, "announce", lambda label, url: run(label, url, args))


if __name__ == "__main__":
    main()
