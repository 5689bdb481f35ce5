"""Fixtures for real things: settings, a database per test, the app, a live server, Chromium."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from litestar.testing import AsyncTestClient

from app.settings import Settings
from tests.databases import ROOT, TemplateDatabase
from tests.push_sink import PushSink

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemplateDatabase]:
    template = TemplateDatabase(tmp_path_factory.mktemp("template"))
    yield template
    template.close()


@pytest.fixture
def database_url(template_database: TemplateDatabase, tmp_path: Path) -> Iterator[str]:
    url = template_database.fresh(tmp_path)
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
    }


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    return Settings.from_env(env)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[str]:
    """This test's database, used by Relay's code in the test's own process."""
    from app import db

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        self.env = {**env, "PUBLIC_URL": self.url, "PORT": str(self.port)}
        self.log_path = log
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--no-migrate", "--quiet"],
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_healthy()

    def _wait_until_healthy(self, timeout: float = 30.0) -> None:
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


pytest_plugins = ["tests.browser"]
