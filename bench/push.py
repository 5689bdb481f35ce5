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
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bench.harness import ROOT, free_port
from push.outbox import PushMessage

SINK_DELAYS_MS = (0, 25)
BATCH = 100  # the worker's default batch size
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

    def received(self) -> int:
        """Pushes received so far (the control requests aside)."""
        import httpx

        return int(httpx.get(f"{self.url}/control/count").text)

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


def encryption_costs(count: int = 3000) -> dict[str, tuple[float, float]]:
    """Messages/s and CPU microseconds per message of the encryption alone, a fresh key and
    salt per message: with ``http_ece.encrypt`` (what pywebpush does, the bound the
    worker is compared with) and with Relay's own :func:`push.sender.encrypt_payload`."""
    import http_ece
    from cryptography.hazmat.primitives.asymmetric import ec

    from app.core.vapid_keys import b64url_decode
    from push.outbox import payload_json
    from push.sender import PushTarget, encrypt_payload

    _, p256dh, auth = make_browsers("http://x", 1)[0]
    target = PushTarget("http://x/push/0", p256dh, auth)
    payload = payload_json(CAMPAIGN, secrets.token_hex(16)).encode()

    def with_http_ece() -> None:
        http_ece.encrypt(
            payload,
            salt=os.urandom(16),
            private_key=ec.generate_private_key(ec.SECP256R1()),
            dh=b64url_decode(target.p256dh),
            auth_secret=b64url_decode(target.auth),
            version="aes128gcm",
        )

    costs = {}
    for name, encrypt in (
        ("http_ece", with_http_ece),
        ("relay", lambda: encrypt_payload(payload, target)),
    ):
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            encrypt()
        costs[name] = (
            count / (time.perf_counter() - started),
            (time.process_time() - cpu) / count * 1e6,
        )
    return costs


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


async def sent_so_far(campaign: int) -> tuple[int, datetime | None, datetime | None]:
    """How many rows of the campaign are recorded as sent, when the first and the last
    ones were."""
    from push.tables import PushDelivery

    row = await PushDelivery.raw(
        "SELECT COUNT(*) AS n, MIN(sent_at) AS first, MAX(sent_at) AS last FROM push_delivery "
        "WHERE campaign = {} AND state = 'sent'",
        campaign,
    )
    first, last = row[0]["first"], row[0]["last"]
    if isinstance(last, str):  # SQLite gives raw text for an aggregate
        first, last = datetime.fromisoformat(first), datetime.fromisoformat(last)
    return int(row[0]["n"]), first, last


@dataclass
class WorkerRun:
    rate: float  # deliveries/s, from the first row recorded to the last
    queued_s: float  # the enqueue's seconds
    idle_rss_mb: float  # the largest of the workers'
    peak_rss_mb: float
    cpu_share: float  # CPU seconds of all the workers per second
    cpu_us_per_delivery: float


async def worker_run(
    env: dict[str, str],
    member_id: int,
    campaign: int,
    devices: int,
    workdir: Path,
    *,
    workers: int = 1,
    profile: Path | None = None,
) -> WorkerRun:
    """Start ``workers`` `relay worker` processes, queue the campaign, wait for every row.

    The rate runs from the first row recorded to the last (the workers' own clocks stamp
    ``sent_at``); the CPU share is the workers' CPU time over that time (they also spent
    some claiming before the first record, which raises it a little).
    """
    from push.outbox import enqueue

    processes = []
    for n in range(workers):
        log = (workdir / f"worker-{campaign}-{n}.log").open("w")
        worker = subprocess.Popen(  # noqa: ASYNC220 (before the clock starts)
            [sys.executable, "-m", "app", "worker", "--poll-interval", "0.05"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        assert worker.stdout and "is running" in worker.stdout.readline()
        processes.append(worker)
    profilers = []
    if profile:
        # py-spy samples the workers from outside; it writes the collapsed stacks (flame graph
        # input, one line per stack with its count of samples) when its worker exits.
        for n, worker in enumerate(processes):
            profilers.append(
                subprocess.Popen(  # noqa: ASYNC220 (before the clock starts)
                    [
                        str(Path(sys.executable).parent / "py-spy"),
                        "record",
                        "--pid",
                        str(worker.pid),
                        "--rate",
                        "200",
                        "--format",
                        "raw",
                        "--output",
                        str(profile.with_suffix(f".{campaign}-{n}.txt")),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        time.sleep(1)  # noqa: ASYNC251 (py-spy attaching, before the clock starts)
    idle_rss = max(peak_rss_mb(worker.pid)[0] for worker in processes)
    idle_cpu = sum(cpu_seconds(worker.pid) for worker in processes)
    started = time.perf_counter()
    await enqueue(CAMPAIGN, kind="campaign", campaign_id=campaign, member_ids=[member_id])
    queued_s = time.perf_counter() - started
    while (progress := await sent_so_far(campaign))[0] < devices:
        if any(worker.poll() is not None for worker in processes):
            raise RuntimeError(f"a worker stopped: see {workdir}")
        await asyncio.sleep(0.25)  # the bench's own polling, not a measurement
    peak = max(peak_rss_mb(worker.pid)[1] for worker in processes)
    busy = sum(cpu_seconds(worker.pid) for worker in processes) - idle_cpu
    for worker in processes:
        worker.send_signal(signal.SIGTERM)
    for worker in processes:
        worker.wait(timeout=120)
    for profiler in profilers:
        profiler.wait(timeout=60)
    _, first, last = progress
    assert first is not None and last is not None
    # From the first batch recorded to the last: every delivery but the first batch of each
    # worker was sent in between. (Not from the end of the enqueue: on a loaded machine the
    # workers may finish before this process hears that its enqueue committed.)
    seconds = (last - first).total_seconds()
    rate = (devices - BATCH * workers) / seconds
    return WorkerRun(rate, queued_s, idle_rss, peak, busy / seconds, busy / devices * 1e6)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def bench(args: argparse.Namespace) -> None:
    from app.core import db
    from app.core.settings import Settings
    from push.tables import PushDelivery, PushSubscription
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
        if args.database_url:
            # A database for benchmarks only: what earlier runs left would be counted and
            # sent again.
            await PushDelivery.delete(force=True)
            await PushSubscription.delete(force=True)
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
        database = "PostgreSQL" if args.database_url else "SQLite"
        print(
            f"Push benchmark: {args.devices:,} devices, {database}, worker defaults "
            f"(batch 100, 64 in flight), naive sample {args.naive_sample}, "
            f"{os.cpu_count()} CPUs, load average {load_average()}\n"
        )
        campaign = 0
        for delay_ms in args.delays:
            sink.set_delay(delay_ms)
            naive = naive_rate(env, browsers[: args.naive_sample])
            print(f"push service answering after {delay_ms} ms:")
            print(f"{'  what':<50} {'deliveries/s':>12} {'CPU us each':>11} {'ratio':>6}")
            print(f"{'  naive loop, pywebpush.webpush() one by one':<50} {naive:>12,.0f}")
            one_rate = 0.0
            for workers in args.workers:
                campaign += 1
                # The encryption alone just before and after, as the machine's load varies.
                before = encryption_costs()
                run = await worker_run(
                    env,
                    member,
                    campaign,
                    args.devices,
                    workdir,
                    workers=workers,
                    profile=args.profile,
                )
                after = encryption_costs()
                bound = {
                    name: tuple((x + y) / 2 for x, y in zip(before[name], after[name], strict=True))
                    for name in before
                }
                one_rate = one_rate or run.rate
                label = f"  relay worker x{workers}"
                print(
                    f"{label:<50} {run.rate:>12,.0f} {run.cpu_us_per_delivery:>11,.0f} "
                    f"{run.rate / naive:>6.2f}"
                )
                for name, (rate, cpu_us) in bound.items():
                    print(f"{'    encryption alone, ' + name:<50} {rate:>12,.0f} {cpu_us:>11,.0f}")
                    print(
                        f"{'      worker / it, per worker, by the clock':<50} {'':>24} "
                        f"{run.rate / workers / rate:>6.2f}"
                    )
                    print(
                        f"{'      worker / it, by CPU time per message':<50} {'':>24} "
                        f"{cpu_us / run.cpu_us_per_delivery:>6.2f}"
                    )
                if workers > 1:
                    print(
                        f"{'    x' + str(workers) + ' / x1':<50} {'':>24} {run.rate / one_rate:>6.2f}"
                    )
                print(
                    f"    enqueue of {args.devices:,} rows: {run.queued_s:.2f} s; worker RSS "
                    f"{run.idle_rss_mb:.0f} MB idle, {run.peak_rss_mb:.0f} MB peak; workers' CPU "
                    f"{run.cpu_share:.0%} of a core; load average {load_average()}"
                )
    finally:
        sink.stop()
        await db.close_pool()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=20_000)
    parser.add_argument("--naive-sample", type=int, default=300)
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: a fresh SQLite file; a database given here is for benchmarks "
        "only: its push tables are emptied first",
    )
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1],
        help="run the campaign with each of these numbers of worker processes (1 2: the "
        "scaling on PostgreSQL)",
    )
    parser.add_argument(
        "--delays",
        type=int,
        nargs="+",
        default=list(SINK_DELAYS_MS),
        help="the push service's answer delays to measure, in ms",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="sample the workers with py-spy (pip install py-spy) into PROFILE.<run>-<n>.txt",
    )
    parser.add_argument("--sink", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        serve_sink(args.sink)
        return
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
