"""A database that goes away while Relay runs, then comes back: the real failure, per engine.

- PostgreSQL: Relay reaches the server through a TCP relay on 127.0.0.1 that the test cuts
  (every connection dropped, new ones refused, as when the server or the network is down)
  and restores on the same port. The machine's PostgreSQL server is never stopped.
- SQLite: another connection holds the write lock (a stuck writer, a long maintenance
  transaction), so every write waits out the busy timeout (shortened here through
  ``SQLITE_BUSY_TIMEOUT``) and fails with "database is locked". Readers are not blocked on
  SQLite (WAL): only requests that write can fail.

Use the ``outage`` fixture and build the app or live server from ``env`` with
``outage.env`` merged in (tests override ``env`` for that).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

BUSY_TIMEOUT_S = "0.2"


class TcpRelay:
    """Forwards 127.0.0.1:``port`` to ``target``; :meth:`cut` and :meth:`restore` it."""

    def __init__(self, target_host: str, target_port: int, port: int) -> None:
        self.target = (target_host, target_port)
        self.port = port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def _call(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    def restore(self) -> None:
        self._call(self._listen())

    def cut(self) -> None:
        self._call(self._close())

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    async def _listen(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._relay, "127.0.0.1", self.port, reuse_address=True
        )

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def _relay(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        try:
            server_reader, server = await asyncio.open_connection(*self.target)
        except OSError:
            client.transport.abort()
            return
        self._writers |= {client, server}

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except OSError:
                pass
            finally:
                writer.transport.abort()

        await asyncio.gather(pump(client_reader, server), pump(server_reader, client))
        self._writers -= {client, server}


class DatabaseOutage:
    def __init__(self, database_url: str, relay_port: int) -> None:
        self.relay: TcpRelay | None = None
        self._lock: sqlite3.Connection | None = None
        if database_url.startswith("sqlite:"):
            self.path = database_url.removeprefix("sqlite:///")
            self.env = {"SQLITE_BUSY_TIMEOUT": BUSY_TIMEOUT_S}
            return
        parts = urlsplit(database_url)
        self.relay = TcpRelay(parts.hostname or "127.0.0.1", parts.port or 5432, relay_port)
        self.relay.restore()
        userinfo, at, _address = parts.netloc.rpartition("@")
        netloc = f"{userinfo}{at}127.0.0.1:{relay_port}"
        self.env = {"DATABASE_URL": urlunsplit(parts._replace(netloc=netloc))}

    def begin(self) -> None:
        """The database goes away."""
        if self.relay is not None:
            self.relay.cut()
            return
        self._lock = sqlite3.connect(self.path, isolation_level=None)
        self._lock.execute("BEGIN IMMEDIATE")

    def end(self) -> None:
        """The database is back."""
        if self.relay is not None:
            self.relay.restore()
        elif self._lock is not None:
            self._lock.execute("ROLLBACK")
            self._lock.close()
            self._lock = None

    def close(self) -> None:
        self.end()
        if self.relay is not None:
            self.relay.close()


@pytest.fixture
def outage(database_url: str) -> Iterator[DatabaseOutage]:
    from tests.helpers import free_port

    found = DatabaseOutage(database_url, free_port())
    yield found
    found.close()
