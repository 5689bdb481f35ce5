"""Push delivery: a 20,000-device campaign through `relay worker`, against the naive way.

    python -m bench.push [--devices 20000] [--naive-sample 300] [--database-url URL]

A push service stand-in runs in its own process on 127.0.0.1 (it counts requests and answers
201; it does not decrypt, so that it costs the worker as little CPU as possible). Measured in
the same run, twice: with instant answers (a CPU-bound ceiling) and with answers after 25 ms,
about the round trip to a real push service:

- the worker: `relay worker` (a separate process, as in production) draining one campaign to
  every device; deliveries/s from enqueue to the last row recorded, and its peak RSS;
- the naive loop: `pywebpush.webpush()` called once per device, one after the other, on a
  sample (it signs a token and opens a connection for every message);
- the encryption alone: `http_ece.encrypt` with a fresh key per message, in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import ROOT, free_port
from push.outbox import PushMessage

SINK_DELAYS_MS = (0, 25)
CAMPAIGN = PushMessage(
    title="Nouvelle offre : développeuse backend",
    body="Lyon, CDI. Vous connaissez quelqu’un ? 500 € de prime de cooptation.",
    url="/offers/12",
)


# -- the push service stand-in (its own process) ----------------------------------------------


def serve_sink(port: int) -> None:
    """A minimal HTTP/1.1 server: answers 201 to every POST, after the delay it is told."""
    state = {"delay_s": 0.0, "count": 0}

    class Connection(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport: asyncio.Transport = transport  # type: ignore[assignment]
            self.buffer = b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
                head = self.buffer[:end].decode("latin-1")
                length = 0
                for line in head.split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                if len(self.buffer) < end + 4 + length:
                    return
                self.buffer = self.buffer[end + 4 + length :]
                path = head.split(" ", 2)[1]
                if path.startswith("/control/delay/"):
                    state["delay_s"] = int(path.rsplit("/", 1)[1]) / 1000
                    body = b""
                elif path == "/control/count":
                    body = str(state["count"]).encode()
                else:
                    state["count"] += 1
                    body = b""
                reply = b"HTTP/1.1 %s\r\ncontent-length: %d\r\n\r\n%s" % (
                    b"201 Created" if not path.startswith("/control") else b"200 OK",
                    len(body),
                    body,
                )
                if state["delay_s"] and not path.startswith("/control"):
                    asyncio.get_running_loop().call_later(
                        state["delay_s"], self.transport.write, reply
                    )
                else:
                    self.transport.write(reply)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Connection, "127.0.0.1", port)
        print("ready", flush=True)
        await server.serve_forever()

    asyncio.run(main())


class Sink:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.push", "--sink", str(self.port)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout and self.process.stdout.readline().strip() == "ready"

    def set_delay(self, ms: int) -> None:
        import httpx

        httpx.post(f"{self.url}/control/delay/{ms}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


# -- measurements ------------------------------------------------------------------------------


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_browsers(sink_url: str, count: int) -> list[tuple[str, str, str]]:
    from cryptography.hazmat.primitives.asymmetric import ec

    from app.core.vapid_keys import b64url_encode, public_key_bytes

    return [
        (
            f"{sink_url}/push/{n}",
            b64url_encode(public_key_bytes(ec.generate_private_key(ec.SECP256R1()))),
            b64url_encode(secrets.token_bytes(16)),
        )
        for n in range(count)
    ]


def encryption_rate(count: int = 5000) -> float:
    from push.outbox import payload_json
    from push.sender import PushTarget, encrypt_payload

    _, p256dh, auth = make_browsers("http://x", 1)[0]
    target = PushTarget("http://x/push/0", p256dh, auth)
    payload = payload_json(CAMPAIGN, secrets.token_hex(16)).encode()
    started = time.perf_counter()
    for _ in range(count):
        encrypt_payload(payload, target)
    return count / (time.perf_counter() - started)


def naive_rate(env: dict[str, str], browsers: list[tuple[str, str, str]]) -> float:
    """One blocking `pywebpush.webpush()` per device, the way a simple integration sends."""
    import pywebpush

    from app.core.settings import Settings
    from push.outbox import payload_json

    settings = Settings.from_env(env)
    started = time.perf_counter()
    for endpoint, p256dh, auth in browsers:
        pywebpush.webpush(
            {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
            payload_json(CAMPAIGN, secrets.token_hex(16)),
            vapid_private_key=settings.vapid_private_key,
            vapid_claims={"sub": settings.vapid_subject},
            ttl=86400,
        )
    return len(browsers) / (time.perf_counter() - started)


async def sent_so_far(campaign: int) -> tuple[int, datetime | None]:
    """How many rows of the campaign are recorded as sent, and when the last one was."""
    from push.tables import PushDelivery

    row = await PushDelivery.raw(
        "SELECT COUNT(*) AS n, MAX(sent_at) AS last FROM push_delivery "
        "WHERE campaign = {} AND state = 'sent'",
        campaign,
    )
    last = row[0]["last"]
    if isinstance(last, str):  # SQLite gives raw text for an aggregate
        last = datetime.fromisoformat(last)
    return int(row[0]["n"]), last


async def worker_run(
    env: dict[str, str], member_id: int, campaign: int, devices: int, workdir: Path
) -> tuple[float, float, float, float, float]:
    """Start `relay worker`, queue the campaign, wait for every row.

    Returns deliveries/s from the end of the enqueue to the last row recorded (the worker's
    own clock stamps ``sent_at``), the enqueue's seconds, the worker's idle and peak RSS and
    the share of one CPU it used meanwhile (the poll loop of this process stops the clock
    at most 0.25 s late, which lowers that share a little).
    """
    from push.outbox import enqueue

    log = (workdir / f"worker-{campaign}.log").open("w")
    worker = subprocess.Popen(  # noqa: ASYNC220 (before the clock starts)
        [sys.executable, "-m", "app", "worker", "--poll-interval", "0.05"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    assert worker.stdout and "is running" in worker.stdout.readline()
    idle_rss, _ = peak_rss_mb(worker.pid)
    idle_cpu = cpu_seconds(worker.pid)
    started = time.perf_counter()
    await enqueue(CAMPAIGN, kind="campaign", campaign_id=campaign, member_ids=[member_id])
    queued_s = time.perf_counter() - started
    queued_at = datetime.now(UTC)
    while (progress := await sent_so_far(campaign))[0] < devices:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker stopped: see {log.name}")
        await asyncio.sleep(0.25)  # the bench's own polling, not a measurement
    _, peak = peak_rss_mb(worker.pid)
    busy = cpu_seconds(worker.pid) - idle_cpu
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=30)
    last = progress[1]
    assert last is not None
    seconds = (last - queued_at).total_seconds()
    return devices / seconds, queued_s, idle_rss, peak, busy / seconds


async def bench(args: argparse.Namespace) -> None:
    from app.core import db
    from app.core.settings import Settings
    from push.tables import PushSubscription
    from tests.factories import make_member

    workdir = Path(tempfile.mkdtemp(prefix="relay-bench-push-"))
    env = {
        "RELAY_DATA_DIR": str(workdir),
        "DATABASE_URL": args.database_url or f"sqlite:///{workdir / 'relay.sqlite3'}",
        "PUBLIC_URL": "http://localhost:8000",
        # The sink is on 127.0.0.1: the one address the sender may reach outside the internet.
        "PUSH_ALLOWED_TEST_HOSTS": "127.0.0.1",
    }
    settings = Settings.from_env(env)
    sink = Sink()
    try:
        db.use_engine(db.engine_from_url(settings.database_url))
        await db.open_pool()
        await db.migrate()
        member = (
            await make_member(
                name="Bench Member", email=f"bench-{secrets.token_hex(3)}@example.com"
            )
        ).id
        browsers = make_browsers(sink.url, args.devices)
        for start in range(0, len(browsers), 500):
            await PushSubscription.insert(
                *(
                    PushSubscription(member=member, endpoint=e, p256dh=p, auth=a)
                    for e, p, a in browsers[start : start + 500]
                )
            )
        encryption = encryption_rate()
        database = "PostgreSQL" if args.database_url else "SQLite"
        print(
            f"Push benchmark: {args.devices:,} devices, {database}, worker defaults "
            f"(batch 100, 64 in flight), naive sample {args.naive_sample}, "
            f"{os.cpu_count()} CPUs\n"
        )
        print(f"{'what':<52} {'deliveries/s':>12} {'ratio':>8}")
        print(f"{'encryption alone (http_ece, fresh key per message)':<52} {encryption:>12,.0f}")
        for campaign, delay_ms in enumerate(SINK_DELAYS_MS, start=1):
            sink.set_delay(delay_ms)
            naive = naive_rate(env, browsers[: args.naive_sample])
            rate, queued_s, idle_rss, peak_rss, cpu_share = await worker_run(
                env, member, campaign, args.devices, workdir
            )
            label = f"push service answering after {delay_ms} ms"
            print(f"{label}:")
            print(f"{'  naive loop, pywebpush.webpush() one by one':<52} {naive:>12,.0f} {1:>8.2f}")
            print(
                f"{'  relay worker (queued to last row recorded)':<52} {rate:>12,.0f} "
                f"{rate / naive:>8.2f}"
            )
            print(f"{'    worker vs encryption alone':<52} {'':>12} {rate / encryption:>8.2f}")
            print(
                f"    enqueue of {args.devices:,} rows: {queued_s:.2f} s; worker RSS "
                f"{idle_rss:.0f} MB idle, {peak_rss:.0f} MB peak; worker CPU {cpu_share:.0%}"
            )
    finally:
        sink.stop()
        await db.close_pool()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=20_000)
    parser.add_argument("--naive-sample", type=int, default=300)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--sink", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        serve_sink(args.sink)
        return
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
