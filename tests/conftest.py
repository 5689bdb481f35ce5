"""Fixtures for real things: settings, a database per test, the app, a live server, Chromium."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from litestar.testing import AsyncTestClient

from app.core.settings import Settings
from app.web import templating
from tests.databases import ROOT, TemplateDatabase
from tests.helpers import Mailbox, free_port, sign_in
from tests.push_sink import PushSink
from tests.server_fork import Zygote

# Each test builds an app; they share one process's compiled templates (see CompiledTemplates).
templating.COMPILED = templating.CompiledTemplates()

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def _parse_each_handler_signature_once() -> None:
    """A web process builds one app; the suite builds one per test (~450). Litestar parses
    the type hints of each of the ~360 handlers again for each app (an ``eval`` of every
    string annotation, with typing's caches hashing each ``Parameter`` through
    ``dataclasses.asdict``): about half of ``create_app``'s CPU, 0.3-0.5 s a test. A
    handler's signature is the same for every app, so it is parsed once per test run.

    Only module-level functions are remembered: Litestar makes an OPTIONS handler per route
    and app (a closure, parsed afresh), and the namespace a signature was parsed with must
    be the very same objects for the parse to be reused."""
    from litestar.utils.signature import ParsedSignature

    parse = ParsedSignature.from_fn.__func__  # type: ignore[attr-defined]
    parsed: dict[Any, tuple[list[tuple[str, Any]], ParsedSignature]] = {}

    def from_fn(cls: type[ParsedSignature], fn: Any, namespace: dict[str, Any]) -> Any:
        if "<locals>" in getattr(fn, "__qualname__", "<locals>"):
            return parse(cls, fn, namespace)
        known = parsed.get(fn)
        names = list(namespace.items())
        if (
            known is not None
            and len(known[0]) == len(names)
            and all(a[0] == b[0] and a[1] is b[1] for a, b in zip(known[0], names, strict=True))
        ):
            return known[1]
        signature = parse(cls, fn, namespace)
        parsed[fn] = (names, signature)
        return signature

    ParsedSignature.from_fn = classmethod(from_fn)  # type: ignore[method-assign, assignment]


_parse_each_handler_signature_once()


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemplateDatabase]:
    template = TemplateDatabase(tmp_path_factory.mktemp("template"))
    yield template
    template.close()


@pytest.fixture
def database_url(template_database: TemplateDatabase, tmp_path: Path) -> Iterator[str]:
    from app.core import db
    from app.wiring import wire

    wire()  # events reach their handlers as in the app, for tests that call services directly
    url = template_database.fresh(tmp_path)
    db.use_engine(db.engine_from_url(url))  # for tests that call services directly
    yield url
    template_database.drop(url)


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    """The environment a Relay process of this test runs with."""
    return {
        "RELAY_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": database_url,
        "PUBLIC_URL": "http://localhost:8000",
        "SECRET_KEY": TEST_SECRET,
        # See `settings`: no pool for apps served in the test process.
        "DATABASE_POOL_SIZE": "0",
    }


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    """Settings for an app served in this process. Litestar's test client runs the app in
    a loop of its own, so no connection pool: a pooled connection belongs to one loop and
    the test itself reads and writes the database from another. Live servers keep a pool."""
    return Settings.from_env(env)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[str]:
    """This test's database, used by Relay's code in the test's own process."""
    from app.core import db

    db.use_engine(db.engine_from_url(database_url))
    await db.open_pool()
    yield database_url
    await db.close_pool()


@pytest.fixture
def push_sink(settings: Settings) -> Iterator[PushSink]:
    """A push service on 127.0.0.1 that verifies and decrypts what Relay sends it."""
    from push.vapid import application_server_key

    with PushSink(application_server_key(settings), port=free_port()) as sink:
        yield sink


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    from app.main import create_app

    async with AsyncTestClient(create_app(settings), base_url="http://localhost:8000") as client:
        yield client


@pytest.fixture
async def employee_client(client: AsyncTestClient):  # type: ignore[type-arg, no-untyped-def]
    """The test client, signed in as an employee."""
    await sign_in(client, "employee")
    return client


@pytest.fixture
def seed(database_url: str):  # type: ignore[no-untyped-def]
    """Run a coroutine against this test's database from sync code (browser tests)."""
    from app.core import db
    from tests.databases import run_sync

    def run(factory):  # type: ignore[no-untyped-def]
        async def work():  # type: ignore[no-untyped-def]
            db.use_engine(db.engine_from_url(database_url))
            return await factory()

        return run_sync(work)

    return run


_zygote: Zygote | None = None


def zygote() -> Zygote:
    """The process live servers are forked from (tests/server_fork.py), started once."""
    global _zygote
    if _zygote is None or _zygote.process.poll() is not None:
        _zygote = Zygote(ROOT)
    return _zygote


def pytest_sessionfinish() -> None:
    if _zygote is not None:
        _zygote.close()


class LiveServer:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        self.env = {
            **env,
            "PUBLIC_URL": self.url,
            "PORT": str(self.port),
            "DATABASE_POOL_SIZE": "4",
        }
        self.log_path = log
        self.log = log.open("w")
        # `relay serve --no-migrate --quiet`, forked with Relay already imported.
        self.process = zygote().start({**os.environ, **self.env}, log)
        self._wait_until_healthy()

    def _wait_until_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Relay exited early:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                # Not listening yet: poll again shortly, or notice at once if it died.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=0.05)
        raise RuntimeError(f"Relay did not become healthy:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@pytest.fixture
def live_server(env: dict[str, str], tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(env, tmp_path / "server.log")
    yield server
    server.stop()


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1: its port, and what it received."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, mailbox
    controller.stop()


pytest_plugins = ["tests.browser", "tests.database_outage", "tests.identity_provider"]


@pytest.fixture
def member_phone(phone, seed, live_server):  # type: ignore[no-untyped-def]
    """The phone, signed in as an employee (made by the real session code)."""
    from tests.factories import make_member, session_cookie

    async def make():  # type: ignore[no-untyped-def]
        member = await make_member(name="Sarah Cohen", email="sarah.cohen@example.com")
        return await session_cookie(member)

    name, value = seed(make)
    phone.context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
    return phone
