"""Start Relay as production would and load it over loopback.

Used by every benchmark in bench/: `RelayServer` runs `relay serve` (uvicorn or granian
workers) on a fresh data directory, `load()` drives it with wrk and returns requests/s and
latency percentiles. Figures mean most as ratios against the ceiling measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RelayServer:
    def __init__(
        self,
        server: str = "granian",
        workers: int = 1,
        database_url: str | None = None,
        data_dir: Path | None = None,
        demo: bool = True,
        extra_env: dict[str, str] | None = None,
        wait: bool = True,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._tmp = None
        if data_dir is None:
            self._tmp = tempfile.mkdtemp(prefix="relay-bench-")
            data_dir = Path(self._tmp)
        self.env = {
            **os.environ,
            "RELAY_DATA_DIR": str(data_dir),
            "PUBLIC_URL": f"http://localhost:{self.port}",
            **({"DATABASE_URL": database_url} if database_url else {}),
            **(extra_env or {}),
        }
        relay = [sys.executable, "-m", "app"]
        if demo:
            subprocess.run(
                [*relay, "demo"], env=self.env, cwd=ROOT, check=True, capture_output=True
            )
        self.process = subprocess.Popen(
            [
                *relay,
                "serve",
                "--server",
                server,
                "--workers",
                str(workers),
                "--port",
                str(self.port),
                "--quiet",
            ],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if wait:
            self.wait_healthy()

    def wait_healthy(self) -> None:
        """Until /healthz answers (``wait=False`` starts several servers side by side); a
        loaded machine takes a minute or more to import and start a server."""
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                try:
                    self.process.wait(timeout=0.1)
                    raise RuntimeError("relay serve exited early")
                except subprocess.TimeoutExpired:
                    pass
        raise RuntimeError("relay serve did not become healthy")

    def session_cookie(self, email: str = "admin@demo.relay") -> str:
        """A signed-in session for a demo member, made by Relay's own session code."""
        import asyncio

        from app.accounts.sessions import create_session
        from app.accounts.tables import Member
        from app.core import db
        from app.core.settings import Settings

        settings = Settings.from_env(self.env)

        async def make() -> str:
            db.use_engine(db.engine_from_url(settings.database_url))
            member = await Member.select(Member.id).where(Member.email == email).first()
            return await create_session(member["id"], "bench")

        return f"relay_session={asyncio.run(make())}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> RelayServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Load:
    label: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int

    def row(self, ceiling: Load | None = None) -> str:
        ratio = f"{self.requests_per_s / ceiling.requests_per_s:6.2f}" if ceiling else "     -"
        return (
            f"{self.label:<44} {self.requests_per_s:>10,.0f} {self.p50_ms:>8.2f} "
            f"{self.p99_ms:>8.2f} {ratio} {self.errors:>6}"
        )


HEADER = f"{'what':<44} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6} {'errors':>6}"


def _ms(value: str) -> float:
    """wrk's latency ("812.00us", "3.21ms", "1.02s", "1.50m") in milliseconds."""
    match = re.match(r"([\d.]+)(us|ms|s|m)$", value)
    if match is None:
        return float("nan")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def load(
    label: str,
    url: str,
    seconds: int = 8,
    connections: int = 32,
    threads: int = 1,
    headers: dict[str, str] | None = None,
    script: Path | None = None,
) -> Load:
    """Drive `url` with wrk for a bounded time, from this machine to this machine."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    if script:
        cmd += ["-s", str(script)]
    # warm up: the first requests pay for imports and caches
    subprocess.run([*cmd[:3], "-d2s", *cmd[5:], url], capture_output=True, check=True)
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    return Load(label, *read_wrk(out))


def read_wrk(out: str) -> tuple[float, float, float, int]:
    """wrk's report as (req/s, p50 ms, p99 ms, errors); a missing percentile is NaN."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # Lines of the latency distribution only: "+/- Stdev" figures such as 90.50% end alike.
    p50_match = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99_match = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    p50 = _ms(p50_match.group(1)) if p50_match else float("nan")
    p99 = _ms(p99_match.group(1)) if p99_match else float("nan")
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        errors += sum(int(g) for g in match.groups())
    return rps, p50, p99, errors


def page_bench_args(title: str) -> argparse.Namespace:
    """The options every page benchmark takes; prints the run's header line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    args = parser.parse_args()
    print(
        f"{title} benchmark: granian, {args.workers} worker(s), {args.connections} "
        f"connections, {args.seconds}s per figure, wrk over loopback\n"
    )
    return args


def on_each_database(
    args: argparse.Namespace,
    name: str,
    run: Callable[[str, str | None], None],
    *,
    keep_postgres: bool = False,
) -> None:
    """``run(label, database_url)`` on SQLite (``None``: the server's own file) and on a
    throwaway PostgreSQL database, as ``--only`` asks; ``keep_postgres``: a database of
    that name kept from one run to the next instead (``relay_bench_NAME_kept``)."""
    if args.only in (None, "sqlite"):
        run("SQLite", None)
    if args.only in (None, "postgresql"):
        database = f"relay_bench_{name}_{'kept' if keep_postgres else os.getpid()}"
        base = args.pg.rsplit("/", 1)[0]
        asyncio.run(_admin(args.pg, f'CREATE DATABASE "{database}"', exists_ok=keep_postgres))
        try:
            run("PostgreSQL", f"{base}/{database}")
        finally:
            if not keep_postgres:
                drop = f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'
                asyncio.run(_admin(args.pg, drop))


async def gather_statistics() -> None:
    """On PostgreSQL, ``ANALYZE`` the seeded tables: what autovacuum (on by default) would
    have done by the time a real database held these rows. This machine's PostgreSQL runs
    with autovacuum off (its CI settings), and a planner without statistics sorted all 2,000
    items for each feed page instead of reading the feed's index backwards (2.7 ms against
    0.5 ms). SQLite: nothing, since Relay never analyzes its file."""
    from app.accounts.tables import Member
    from app.core import db

    if db.is_postgres():
        await Member.raw("ANALYZE")


async def _admin(url: str, statement: str, exists_ok: bool = False) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    except asyncpg.DuplicateDatabaseError:
        if not exists_ok:
            raise
    finally:
        await conn.close()
