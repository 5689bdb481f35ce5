"""The database engine: SQLite by default, PostgreSQL at scale, chosen by DATABASE_URL.

Piccolo finds its engine through ``app.piccolo_conf.DB``; :func:`use_engine` points that and
every table at one engine, so tests can give each test a database of its own.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType, dict_factory

from app.core.settings import check_database_url

SQLITE_BUSY_TIMEOUT_S = 15


class RelaySQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine, keeping a few connections open for single queries.

    Piccolo opens a connection (and a thread) for every query outside a transaction:
    about a millisecond each, most of a small query's cost. Here idle connections are
    kept per event loop and reused. Their threads are daemons, so an engine nobody closed
    never holds up the interpreter's exit. Transactions still get connections of their own.
    """

    MAX_IDLE = 8

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._idle: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[Any]] = (
            weakref.WeakKeyDictionary()
        )

    async def _open_connection(self) -> Any:
        connection = aiosqlite.connect(**self.connection_kwargs)
        worker = getattr(connection, "_thread", None)
        if worker is not None:
            worker.daemon = True
        await connection
        await connection.execute("PRAGMA foreign_keys = 1")
        connection.row_factory = dict_factory  # type: ignore[assignment]
        return connection

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        idle = self._idle.setdefault(asyncio.get_running_loop(), [])
        connection = idle.pop() if idle else await self._open_connection()
        try:
            async with connection.execute(query, args or []) as cursor:
                rows = await cursor.fetchall()
        except BaseException:
            await connection.close()
            raise
        if len(idle) < self.MAX_IDLE:
            idle.append(connection)
        else:
            await connection.close()
        return rows

    async def close_idle(self) -> None:
        for connection in self._idle.pop(asyncio.get_running_loop(), []):
            await connection.close()


def engine_from_url(url: str) -> Engine:
    check_database_url(url)
    if url.startswith("sqlite:"):
        path = url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            # WAL lets readers go on while one writer writes; it is a property of the file.
            conn.execute("PRAGMA journal_mode=WAL")
        return RelaySQLiteEngine(path=path, timeout=SQLITE_BUSY_TIMEOUT_S)
    return PostgresEngine(config={"dsn": url}, log_queries=False)


def current_engine() -> Engine:
    from app import piccolo_conf

    engine = piccolo_conf.DB
    if engine is None:  # pragma: no cover - use_engine runs at start-up
        raise RuntimeError("No database engine: call use_engine() first.")
    return engine


def use_engine(engine: Engine) -> None:
    """Make ``engine`` the one Piccolo and all of Relay's tables use."""
    from piccolo.apps.migrations.tables import Migration

    from app import piccolo_conf
    from app.piccolo_app import APP_CONFIG

    piccolo_conf.DB = engine
    for table in [*APP_CONFIG.table_classes, Migration]:
        table._meta.db = engine  # type: ignore[attr-defined]


def is_postgres(engine: Engine | None = None) -> bool:
    return isinstance(engine or current_engine(), PostgresEngine)


@asynccontextmanager
async def write_transaction() -> AsyncIterator[Any]:
    """A transaction for read-then-write work.

    On SQLite it takes the write lock at BEGIN (``immediate``), so two writers never both
    read a stale value and then fail to upgrade their lock; on PostgreSQL it is a plain one,
    and code that must not race takes row locks inside it.
    """
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        async with engine.transaction(transaction_type=TransactionType.immediate) as txn:
            yield txn
    else:
        async with engine.transaction() as txn:
            yield txn


async def open_pool(size: int = 10) -> None:
    """A pool of PostgreSQL connections for this process (none with size 0)."""
    engine = current_engine()
    if isinstance(engine, PostgresEngine) and size > 0:
        await engine.start_connection_pool(min_size=1, max_size=size)


async def close_pool() -> None:
    engine = current_engine()
    if isinstance(engine, RelaySQLiteEngine):
        await engine.close_idle()
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()


@asynccontextmanager
async def connection_pool(size: int = 10) -> AsyncIterator[None]:
    """The pool open for the body: a process's lifespan (the app's, ``relay`` commands')."""
    await open_pool(size)
    try:
        yield
    finally:
        await close_pool()


async def migrate(quiet: bool = True) -> None:
    """Bring the schema up to date: the same migrations for SQLite and PostgreSQL."""
    import contextlib
    import io

    from piccolo.apps.migrations.commands.forwards import run_forwards

    out = io.StringIO()
    with contextlib.redirect_stdout(out) if quiet else contextlib.nullcontext():
        result = await run_forwards(app_name="relay")
    if not result.success:
        raise RuntimeError(f"Migration failed: {result.message}\n{out.getvalue()}")


async def ping() -> None:
    await current_engine().run_ddl("SELECT 1")
