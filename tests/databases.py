"""Fresh databases for tests: a migrated template per run, a cheap copy per test.

SQLite: the template file is copied. PostgreSQL (TEST_DATABASE_URL set): each test gets
``CREATE DATABASE … TEMPLATE`` of a database migrated once per run. Creating and dropping a
database costs PostgreSQL a second or more each (it writes and syncs every page of the
copy), so a thread makes the next databases while tests run and drops used ones behind them.
"""

from __future__ import annotations

import asyncio
import os
import queue
import shutil
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or None


def run_sync(coro_factory):  # type: ignore[no-untyped-def]
    """Run a coroutine to completion from sync code, whatever loop the caller has."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coro_factory())).result()


def migrate_with_cli(database_url: str, data_dir: Path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "RELAY_DATA_DIR": str(data_dir)}
    subprocess.run(
        [sys.executable, "-m", "app", "migrate"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(_with_database(url, "postgres"))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


class _Databases:
    """Copies of the template made ahead of need, and used ones dropped, by one thread."""

    AHEAD = 2

    def __init__(self, server_url: str, template: str) -> None:
        self.server_url = server_url
        self.template = template
        self.ready: queue.Queue[str | BaseException] = queue.Queue()
        self.jobs: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="test-databases", daemon=True)
        self.thread.start()
        for _ in range(self.AHEAD):
            self._make_one()

    def _make_one(self) -> None:
        self.jobs.put(("create", f"relay_t_{uuid.uuid4().hex[:12]}"))

    def take(self) -> str:
        self._make_one()
        name = self.ready.get(timeout=300)
        if isinstance(name, BaseException):
            raise name
        return name

    def give_back(self, name: str) -> None:
        self.jobs.put(("drop", name))

    def close(self) -> None:
        self.jobs.put(None)
        self.thread.join(timeout=300)
        leftovers = []
        while not self.ready.empty():
            name = self.ready.get_nowait()
            if isinstance(name, str):
                leftovers.append(name)
        drops = [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in leftovers]
        if drops:
            run_sync(lambda: _admin(self.server_url, *drops))

    def _run(self) -> None:
        asyncio.run(self._work())

    async def _work(self) -> None:
        conn = await asyncpg.connect(_with_database(self.server_url, "postgres"))
        try:
            while (job := await asyncio.to_thread(self.jobs.get)) is not None:
                action, name = job
                try:
                    if action == "create":
                        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
                        self.ready.put(name)
                    else:
                        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                except Exception as error:  # the test waiting for it reports it
                    if action == "create":
                        self.ready.put(error)
        finally:
            await conn.close()


class TemplateDatabase:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.pg_template: str | None = None
        self.sqlite_template: Path | None = None
        self.databases: _Databases | None = None
        if TEST_DATABASE_URL:
            self.pg_template = f"relay_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            run_sync(lambda: _admin(TEST_DATABASE_URL, f'CREATE DATABASE "{self.pg_template}"'))
            migrate_with_cli(_with_database(TEST_DATABASE_URL, self.pg_template), workdir)
            self.databases = _Databases(TEST_DATABASE_URL, self.pg_template)
        else:
            self.sqlite_template = workdir / "template.sqlite3"
            migrate_with_cli(f"sqlite:///{self.sqlite_template}", workdir)

    def fresh(self, directory: Path) -> str:
        if self.sqlite_template is not None:
            target = directory / "relay.sqlite3"
            shutil.copyfile(self.sqlite_template, target)
            return f"sqlite:///{target}"
        assert TEST_DATABASE_URL and self.databases
        return _with_database(TEST_DATABASE_URL, self.databases.take())

    def drop(self, url: str) -> None:
        if url.startswith("postgres") and self.databases:
            self.databases.give_back(urlsplit(url).path.lstrip("/"))

    def close(self) -> None:
        if self.databases:
            self.databases.close()
        if self.pg_template and TEST_DATABASE_URL:
            template = self.pg_template
            run_sync(
                lambda: _admin(
                    TEST_DATABASE_URL, f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'
                )
            )
