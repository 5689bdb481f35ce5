"""The database engine: SQLite by default, PostgreSQL at scale, chosen by DATABASE_URL.

This module holds the engine Relay uses: :func:`use_engine` sets it and points every table
at it, so tests can give each test a database of its own. Piccolo finds the same engine
through ``app.piccolo_conf.DB``, which reads it from here (this module imports no table).
"""

from __future__ import annotations

import asyncio
import sqlite3
import traceback
import weakref
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
import asyncpg
from piccolo.columns import Serial
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.table import TABLE_REGISTRY

from app.core.cache import forget_everything
from app.core.settings import check_database_url

SQLITE_BUSY_TIMEOUT_S = 15

# The engine set by use_engine(); None until then.
_engine: Engine | None = None


class NeverReusedSerial(Serial):
    """The primary key of every Relay table: an id is never given out twice, even after
    its row was deleted.

    Relay builds keys from ids: activity keys (``application:{candidate}``), ledger keys
    and subjects (``candidate:{id}:hired``, ``redemption:{id}``), nudge keys
    (``reward:{member}:{reward}``), share keys (``member:item:network``) and mail's
    ``about`` (``invitation:{id}``). A reused id inherits its dead row's keys: a new
    applicant who got a deleted candidate's id found ``application:{id}`` taken, and their
    referrer got nothing. PostgreSQL's sequences never go back; SQLite gives the next insert
    the largest id plus one, so deleting the newest row frees its id, unless the key is
    declared ``AUTOINCREMENT`` (https://sqlite.org/autoinc.html), which keeps the largest
    id ever used in ``sqlite_sequence``. Piccolo's ``Serial`` does not say it, and SQLite
    cannot add it to an existing column, so the tables declare this one from the first
    migration. All of them, so no one has to decide table by table which ids end up in a
    key: a new table declares ``id = NeverReusedSerial(primary_key=True)`` too, and
    tests/test_ids.py fails for one that does not. On PostgreSQL the column is Piccolo's
    ``SERIAL``. The cost, one more row written per insert, was lost in the noise when
    measured (3,000 one-row transactions: 6-8 ms each with or without it, the commit's).
    """

    @property
    def ddl(self) -> str:
        # Column.ddl would add a DEFAULT to any class not named Serial: write it whole.
        if not self._meta.primary_key:
            raise ValueError("NeverReusedSerial is for primary keys.")
        autoincrement = " AUTOINCREMENT" if self._meta.engine_type == "sqlite" else ""
        return (
            f'"{self._meta.db_column_name}" {self.column_type} PRIMARY KEY{autoincrement} NOT NULL'
        )


class RelaySQLiteTransaction(SQLiteTransaction):
    """Piccolo's SQLite transaction, closing its connection when BEGIN fails.

    Piccolo's leaves it open when BEGIN IMMEDIATE gives up on a lock held past the busy
    timeout (a campaign of 20,000 rows being queued, on a loaded machine): its thread then
    waited forever, and a ``relay worker`` told to stop never exited.
    """

    # False: this transaction's commit does not wait for the disk (write_transaction).
    flush = True

    async def begin(self) -> None:
        try:
            if not self.flush:
                # Its own connection, closed afterwards: the setting ends with it.
                await self.connection.execute("PRAGMA synchronous = NORMAL")
            await super().begin()
        except BaseException:
            await self.connection.close()
            raise


class RelaySQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine, keeping a few connections open for single queries.

    Piccolo opens a connection (and a thread) for every query outside a transaction:
    about a millisecond each, most of a small query's cost. Here at most ``MAX_OPEN``
    connections per event loop serve single queries, kept open and reused; a query waits
    for one rather than opening a ninth (under 32 concurrent requests of five queries each,
    opening and closing the extra ones cost more than the wait). Their threads are daemons,
    so an engine nobody closed never holds up the interpreter's exit. Transactions still
    get connections of their own.
    """

    MAX_OPEN = 8

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._idle: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[Any]] = (
            weakref.WeakKeyDictionary()
        )
        self._open: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
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

    async def get_connection(self) -> Any:
        """A connection of its own, for a transaction (its thread a daemon, as above)."""
        return await self._open_connection()

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        return RelaySQLiteTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        loop = asyncio.get_running_loop()
        idle = self._idle.setdefault(loop, [])
        opened = self._open.get(loop)
        if opened is None:
            opened = self._open[loop] = asyncio.Semaphore(self.MAX_OPEN)
        async with opened:
            connection = idle.pop() if idle else await self._open_connection()
            try:
                # One trip to the connection's thread (execute, fetch and close a cursor were
                # three, each a wake-up of that thread and of the event loop).
                rows = await connection.execute_fetchall(query, args or [])
            except BaseException:
                await connection.close()
                raise
            idle.append(connection)
        return rows

    async def close_idle(self) -> None:
        for connection in self._idle.pop(asyncio.get_running_loop(), []):
            await connection.close()


def engine_from_url(url: str, busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S) -> Engine:
    check_database_url(url)
    if url.startswith("sqlite:"):
        path = url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            # WAL lets readers go on while one writer writes; it is a property of the file.
            conn.execute("PRAGMA journal_mode=WAL")
        return RelaySQLiteEngine(path=path, timeout=busy_timeout_s)
    return PostgresEngine(config={"dsn": url}, log_queries=False)


def engine_in_use() -> Engine | None:
    """The engine set by :func:`use_engine`, or None before (what Piccolo's ``DB`` reads)."""
    return _engine


def current_engine() -> Engine:
    if _engine is None:  # pragma: no cover - use_engine runs at start-up
        raise RuntimeError("No database engine: call use_engine() first.")
    return _engine


def use_engine(engine: Engine) -> None:
    """Make ``engine`` the one Piccolo and all of Relay's tables use.

    Every table class defined so far (Piccolo registers each one, its own ``Migration`` table
    included) is pointed at it; a table module imported later finds it on first use, through
    ``app.piccolo_conf.DB``.
    """
    global _engine
    _engine = engine
    forget_everything()  # what processes keep was read from the database used until now
    for table in TABLE_REGISTRY:
        table._meta.db = engine


def is_postgres(engine: Engine | None = None) -> bool:
    return isinstance(engine or current_engine(), PostgresEngine)


@asynccontextmanager
async def write_transaction(*, flush: bool = True) -> AsyncIterator[Any]:
    """A transaction for read-then-write work.

    On SQLite it takes the write lock at BEGIN (``immediate``), so two writers never both
    read a stale value and then fail to upgrade their lock; on PostgreSQL it is a plain one,
    and code that must not race takes row locks inside it.

    ``flush=False``: the commit does not wait for the log to reach the disk (PostgreSQL's
    ``synchronous_commit off``, SQLite's ``synchronous = NORMAL`` in WAL mode). A crash of the
    database server or of the machine may then undo it, never half of it, and the next
    flushed commit flushes it too. Only for writes that may be undone that way: an outbox's
    claim, whose rows are due again anyway when a claimant loses its database.
    """
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        transaction = engine.transaction(transaction_type=TransactionType.immediate)
        if isinstance(transaction, RelaySQLiteTransaction):
            transaction.flush = flush
        async with transaction as txn:
            yield txn
    else:
        # Inside another transaction this one is that one: its commit is not ours to relax.
        relax = not flush and engine.current_transaction.get() is None
        async with engine.transaction() as txn:
            if relax:
                await txn.connection.execute("SET LOCAL synchronous_commit TO OFF")
            yield txn


async def keep_session(connection: Any) -> None:
    """What a connection going back to the pool needs beyond asyncpg's own clean-up (an open
    transaction rolled back, listeners dropped): nothing. asyncpg's default ``reset`` runs
    ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` on every release,
    a round trip after each of a page's queries; Relay keeps no session state to undo: its
    advisory locks are transaction-level (``pg_try_advisory_xact_lock``), its settings
    ``SET LOCAL``, and it neither listens nor holds cursors outside a transaction."""


class FairPool:
    """asyncpg's pool, its connections handed out first come, first served.

    Piccolo takes a connection from the pool for each query outside a transaction. asyncpg's
    pool queues the tasks that wait for one in an ``asyncio.Queue``, which lets a task that
    just gave a connection back take it again at once (its next query) ahead of the task the
    release woke: under 32 concurrent requests of three queries each and 10 connections, a
    tenth of the requests waited 190 ms and more, the unlucky ones over half a second, for
    a median of 15 ms. Here a connection given back goes straight to the longest waiter; the
    pool behind never has more takers than connections. Piccolo's ``pool.acquire()`` (awaited
    or ``async with``) and ``pool.release()`` are the only ways in; anything else is asyncpg's.
    """

    def __init__(self, pool: Any, size: int) -> None:
        self._pool = pool
        self._free = size
        self._waiting: deque[asyncio.Future[None]] = deque()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)

    async def _enter(self) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._leave()  # given a turn as it was cancelled: the next one has it
            raise

    def _leave(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1

    async def _take(self) -> Any:
        await self._enter()
        try:
            return await self._pool.acquire()
        except BaseException:
            self._leave()
            raise

    def acquire(self) -> _FairAcquire:
        return _FairAcquire(self)

    async def release(self, connection: Any) -> None:
        try:
            await self._pool.release(connection)
        finally:
            self._leave()


class _FairAcquire:
    """``pool.acquire()``, awaited or used with ``async with``, as asyncpg's."""

    def __init__(self, pool: FairPool) -> None:
        self._pool = pool
        self._connection: Any = None

    def __await__(self) -> Any:
        return self._pool._take().__await__()

    async def __aenter__(self) -> Any:
        self._connection = await self._pool._take()
        return self._connection

    async def __aexit__(self, *exc: object) -> None:
        await self._pool.release(self._connection)


async def open_pool(size: int = 10) -> None:
    """A pool of PostgreSQL connections for this process (none with size 0)."""
    engine = current_engine()
    if isinstance(engine, PostgresEngine) and size > 0:
        await engine.start_connection_pool(min_size=1, max_size=size, reset=keep_session)
        engine.pool = FairPool(engine.pool, size)


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
    engine = current_engine()
    # SELECT 1 would not open SQLite's file: read its first page, as every query does.
    await engine.run_ddl(
        "SELECT 1" if is_postgres(engine) else "SELECT count(*) FROM sqlite_master"
    )


# --- The database is down --------------------------------------------------------------------

# What the drivers raise when the database cannot be reached or cannot serve now, as opposed
# to a query that is wrong. The app answers these with 503 and Retry-After (app.main).
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,  # class 08: connection lost or refused by the server
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up (57P…)
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full (53…)
    asyncpg.exceptions.InvalidCatalogNameError,  # the database is gone
    asyncpg.InterfaceError,  # a connection or pool closed under the query
    sqlite3.OperationalError,
    OSError,  # connection refused or reset, name not resolved, connect timed out
)
# sqlite3.OperationalError is also "no such table" or a syntax error: only these are the
# file being unusable for now.
_SQLITE_UNAVAILABLE = (
    "database is locked",
    "unable to open",
    "disk i/o error",
    "database or disk is full",
)
_DRIVERS = ("asyncpg", "aiosqlite", "piccolo.engine")


# A row that another wrote first (a unique index refused it), on either database.
UNIQUE_VIOLATIONS = (sqlite3.IntegrityError, asyncpg.UniqueViolationError)


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be reached now (not a bug in a query)."""
    if isinstance(exc, sqlite3.OperationalError):
        return str(exc).lower().startswith(_SQLITE_UNAVAILABLE)
    if isinstance(exc, OSError):
        # A socket error counts when it came out of a database driver, not from sending a
        # push or a mail.
        return any(
            frame.f_globals.get("__name__", "").startswith(_DRIVERS)
            for frame, _line in traceback.walk_tb(exc.__traceback__)
        )
    return isinstance(exc, UNAVAILABLE_ERRORS)
