"""Fresh databases for tests: a migrated template per run, a cheap copy per test.

SQLite: the template file is copied. PostgreSQL (TEST_DATABASE_URL set): each test gets
``CREATE DATABASE … TEMPLATE`` of a database migrated once per run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
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


class TemplateDatabase:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.pg_template: str | None = None
        self.sqlite_template: Path | None = None
        if TEST_DATABASE_URL:
            self.pg_template = f"relay_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            run_sync(lambda: _admin(TEST_DATABASE_URL, f'CREATE DATABASE "{self.pg_template}"'))
            migrate_with_cli(_with_database(TEST_DATABASE_URL, self.pg_template), workdir)
        else:
            self.sqlite_template = workdir / "template.sqlite3"
            migrate_with_cli(f"sqlite:///{self.sqlite_template}", workdir)

    def fresh(self, directory: Path) -> str:
        if self.sqlite_template is not None:
            target = directory / "relay.sqlite3"
            shutil.copyfile(self.sqlite_template, target)
            return f"sqlite:///{target}"
        assert TEST_DATABASE_URL and self.pg_template
        name = f"relay_t_{uuid.uuid4().hex[:12]}"
        run_sync(
            lambda: _admin(
                TEST_DATABASE_URL, f'CREATE DATABASE "{name}" TEMPLATE "{self.pg_template}"'
            )
        )
        return _with_database(TEST_DATABASE_URL, name)

    def drop(self, url: str) -> None:
        if url.startswith("postgres") and TEST_DATABASE_URL:
            name = urlsplit(url).path.lstrip("/")
            run_sync(
                lambda: _admin(TEST_DATABASE_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            )

    def close(self) -> None:
        if self.pg_template and TEST_DATABASE_URL:
            template = self.pg_template
            run_sync(
                lambda: _admin(
                    TEST_DATABASE_URL, f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'
                )
            )
