"""The `relay` command: serve, migrate, demo, create-admin, purge, worker.

Each command imports the domains it uses inside its function, so that a command loads only
what it runs (`relay migrate` does not load the web app, nor `relay serve` the demo data).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from app.core import db
from app.core.clock import now
from app.core.settings import Settings, SettingsError


def _with_database(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``work`` against the database, with the events wired as in the app."""
    # Imported when a command runs: `relay --help` and argument errors load no domain.
    from app.wiring import wire

    wire()

    async def run() -> Any:
        db.use_engine(db.engine_from_url(settings.database_url, settings.sqlite_busy_timeout_s))
        async with db.connection_pool():
            return await work()

    return asyncio.run(run())


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    _with_database(settings, lambda: db.migrate(quiet=not args.verbose))
    print("Database is up to date.")
    return 0


def print_enrolment(settings: Settings, email: str, token: str, expires: str) -> None:
    # Imported when the command runs: the others, and `relay --help`, load none of it.
    import segno

    from app.accounts.invitations import enrolment_url

    url = enrolment_url(settings, token)
    print(f"\nEnrolment link for {email} (works once, until {expires}):\n\n  {url}\n")
    print("Open it in a browser on this machine, or scan this code with your phone:")
    segno.make(url, error="m").terminal(compact=True)
    print(flush=True)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    # Imported when the command runs: the others, and `relay --help`, load none of it.
    from app.accounts import invitations
    from app.content.demo import load_demo_content
    from app.demo import DEMO_ADMIN, load_demo, load_demo_activity
    from app.rewards.demo import load_demo_rewards

    async def work() -> tuple[bool, invitations.Invited | None]:
        await db.migrate()
        loaded = await load_demo()
        loaded = await load_demo_rewards(settings.data_dir) or loaded
        if await load_demo_content(settings.data_dir):
            await load_demo_activity(settings.data_dir)
            loaded = True
        if await invitations.has_passkey(DEMO_ADMIN[0]):
            return loaded, None
        return loaded, await invitations.enrolment_for_admin(
            *DEMO_ADMIN, lifetime=settings.invitation_lifetime
        )

    loaded, invited = _with_database(settings, work)
    print("Demo data loaded." if loaded else "Demo data already present: nothing to do.")
    if invited is not None:
        print(f"Sign in as the demo admin, {DEMO_ADMIN[1]}, by creating a passkey:")
        print_enrolment(
            settings, DEMO_ADMIN[0], invited.token, invited.expires_at.strftime("%Y-%m-%d")
        )
    return 0


def cmd_create_admin(settings: Settings, args: argparse.Namespace) -> int:
    # Imported when the command runs: the others, and `relay --help`, load none of it.
    from app.accounts import invitations

    async def work() -> invitations.Invited:
        await db.migrate()
        return await invitations.enrolment_for_admin(
            args.email, args.name or "", lifetime=settings.invitation_lifetime
        )

    try:
        invited = _with_database(settings, work)
    except ValueError as exc:
        print(f"relay: {exc}", file=sys.stderr)
        return 2
    print_enrolment(settings, args.email, invited.token, invited.expires_at.strftime("%Y-%m-%d"))
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    if not args.no_migrate:
        _with_database(settings, db.migrate)
    port = args.port or settings.port
    host = args.host or settings.listen_host
    workers = args.workers or settings.web_concurrency
    server = args.server or settings.server
    print(f"Relay is serving on {settings.public_url} (listening on {host}:{port}).", flush=True)
    # The web processes learn how many they are (app.accounts.sessions keeps sessions in a
    # process only when it is alone, or when Redis tells every process of changes).
    os.environ["WEB_CONCURRENCY"] = str(workers)
    # Neither server may rewrite the client's address from proxy headers behind our back:
    # Relay reads them itself, only from FORWARDED_ALLOW_IPS (app.web.forwarded). Granian
    # leaves them alone unless wrapped; uvicorn trusts 127.0.0.1 by default and reads the
    # same FORWARDED_ALLOW_IPS variable, so its own handling is turned off.
    if server == "granian":
        from granian.constants import Interfaces
        from granian.server import Server

        Server(
            "app.main:serve_app",
            address=host,
            port=port,
            interface=Interfaces.ASGI,
            workers=workers,
            factory=True,
            log_access=False,
        ).serve()
    else:
        import uvicorn

        uvicorn.run(
            "app.main:serve_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=False,
            proxy_headers=False,
            log_level="warning" if args.quiet else "info",
        )
    return 0


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    """Delete expired recommendations and candidates past the retention period, and stored
    files no row names (cron daily)."""
    # Imported when the command runs: the others, and `relay --help`, load none of it.
    from app.candidates.pipeline import purge
    from app.notifications.jobs import sweep_orphan_files

    expired, old = _with_database(settings, lambda: purge(settings.data_dir))
    print(f"Deleted {expired} expired recommendation(s) and {old} candidate(s) past retention.")
    files = _with_database(settings, lambda: sweep_orphan_files(settings.data_dir, now()))
    print(f"Deleted {files} stored file(s) that nothing refers to.")
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """Drain the push outbox until SIGTERM or SIGINT, then finish the batches in hand; the
    periodic jobs run meanwhile (nudges, campaigns, and the mail outbox)."""
    # Imported when the command runs: the others, and `relay --help`, load none of it.
    import signal
    from datetime import timedelta

    from app.notifications.jobs import NotificationJobs
    from app.wiring import JOBS
    from push import PushWorker

    async def work() -> None:
        worker = PushWorker(
            settings,
            batch_size=args.batch_size,
            concurrency=args.concurrency,
            lease=timedelta(seconds=args.lease),
            poll_interval_s=args.poll_interval,
        )
        signalled = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, signalled.set)
        # Started in this order, stopped in reverse once signalled.
        async with worker, NotificationJobs(settings, jobs=JOBS):
            print(f"Relay push worker {worker.name} is running.", flush=True)
            await signalled.wait()
        print(f"Relay push worker {worker.name} stopped.", flush=True)

    _with_database(settings, work)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relay", description="Relay: employee advocacy.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the web app")
    serve.add_argument("--host", help="default: HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default: PORT or 8000")
    serve.add_argument("--workers", type=int, help="default: WEB_CONCURRENCY or 1")
    serve.add_argument(
        "--server",
        choices=["granian", "uvicorn"],
        help="granian (steadier tail latency in bench/shell.py) or uvicorn; "
        "default: RELAY_SERVER or granian",
    )
    serve.add_argument("--no-migrate", action="store_true", help="do not migrate first")
    serve.add_argument("--quiet", action="store_true")
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="bring the database schema up to date")
    migrate.add_argument("--verbose", action="store_true")
    migrate.set_defaults(func=cmd_migrate)

    demo = sub.add_parser("demo", help="load demo data into an empty installation")
    demo.set_defaults(func=cmd_demo)

    create_admin = sub.add_parser(
        "create-admin", help="print a single-use enrolment link for an admin"
    )
    create_admin.add_argument("email")
    create_admin.add_argument("--name", default="")
    create_admin.set_defaults(func=cmd_create_admin)

    purge = sub.add_parser("purge", help="delete expired recommendations and old candidates")
    purge.set_defaults(func=cmd_purge)

    worker = sub.add_parser("worker", help="send queued push notifications and mail until stopped")
    worker.add_argument("--batch-size", type=int, default=100, help="deliveries per claim")
    worker.add_argument("--concurrency", type=int, default=64, help="requests in flight")
    worker.add_argument(
        "--lease", type=float, default=120.0, help="seconds a claim lasts if this worker dies"
    )
    worker.add_argument(
        "--poll-interval", type=float, default=1.0, help="seconds between looks at the outbox"
    )
    worker.set_defaults(func=cmd_worker)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("piccolo").setLevel(logging.WARNING)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"relay: {exc}", file=sys.stderr)
        return 2
    return int(args.func(settings, args))


if __name__ == "__main__":
    sys.exit(main())
