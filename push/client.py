"""A lean HTTP/1.1 client for push services: POST a body, read the status, keep the connection.

Push requests are all alike (a POST of at most 4 KB, an answer with an empty body), so a general
client's machinery (URL objects, header multidicts, cookie jars, tracing signals, a stream
reader per response) cost more CPU than the encryption: 330–460 µs of CPU per request with
aiohttp, measured. This one writes each request with one ``transport.write`` and reads the
answer with ``httptools`` (llhttp, uvicorn's parser) on an asyncio protocol.

It keeps what matters for safety: every host name is resolved by the resolver it is given
(:class:`push.addresses.PublicAddressResolver`: only public addresses, checked at each
connection), requests go through the proxy their service names (http: the absolute address;
https: a ``CONNECT`` tunnel, then TLS to the push service over it), TLS is verified against
the host name, and each request has a deadline, connection included. Connections stay open
per push service while they are alive and idle for less than ``keepalive_s``; at most
``limit`` idle ones are kept per service.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import httptools
from aiohttp.abc import AbstractResolver

from push.addresses import RefusedAddress


class ConnectorError(OSError):
    """The push service (or its proxy) could not be reached: DNS, TCP, TLS or the tunnel."""


class ResponseError(OSError):
    """The connection ended, or the answer was not HTTP, before a whole response came."""


@dataclass(frozen=True)
class Proxy:
    """A proxy from the environment (``HTTPS_PROXY``…): where it is and its credentials."""

    tls: bool
    host: str
    port: int
    authorization: bytes  # the Proxy-Authorization header line, or b""

    @classmethod
    def from_url(cls, url: str) -> Proxy:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        tls = parts.scheme == "https"
        authorization = b""
        if parts.username is not None:
            secret = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            authorization = (
                b"Proxy-Authorization: Basic " + base64.b64encode(secret.encode()) + b"\r\n"
            )
        return cls(tls, parts.hostname or "", parts.port or (443 if tls else 80), authorization)


@dataclass(eq=False)
class Service:
    """One push service's origin, as the client reaches it; made once per origin."""

    tls: bool
    host: str  # as looked up and sent (IDNA, lowercase)
    port: int
    proxy: Proxy | None = None
    # Every request's first header lines: Host, and Proxy-Authorization through a plain proxy.
    head: bytes = b""
    # What comes before the path on the request line: "http://host:port" through a plain
    # proxy (the absolute form), nothing otherwise.
    target_prefix: str = ""
    idle: deque[Connection] = field(default_factory=deque)

    @classmethod
    def of(cls, origin: str, proxy: str | None = None) -> Service:
        parts = urlsplit(origin)
        tls = parts.scheme == "https"
        host = (parts.hostname or "").encode("idna").decode("ascii").lower()
        port = parts.port or (443 if tls else 80)
        authority = host if port == (443 if tls else 80) else f"{host}:{port}"
        if ":" in host:
            authority = f"[{host}]" if port == (443 if tls else 80) else f"[{host}]:{port}"
        service = cls(tls, host, port, Proxy.from_url(proxy) if proxy else None)
        service.head = b"Host: " + authority.encode() + b"\r\n"
        if service.proxy and not tls:
            service.head += service.proxy.authorization
            service.target_prefix = f"http://{authority}"
        return service


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: one request at a time, its response parsed as it arrives."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[int] | None = None
        self.status = 0
        self.retry_after: str | None = None
        self.keep_alive = False
        self.closed = False
        self.idle_since = 0.0
        # While a CONNECT is under way: its answer's bytes, read by hand (a 200 to CONNECT
        # has no length, and the bytes after it belong to the tunnel).
        self.tunnel_answer: bytearray | None = None

    # -- asyncio ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.tunnel_answer is not None:
            self.tunnel_answer += data
            if b"\r\n\r\n" in self.tunnel_answer and self.waiter and not self.waiter.done():
                line = bytes(self.tunnel_answer).split(b"\r\n", 1)[0].split()
                self.waiter.set_result(int(line[1]) if len(line) > 1 and line[1].isdigit() else 0)
            return
        if self.waiter is None or self.waiter.done():
            self.close()  # nothing was asked: not a server to keep talking to
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ResponseError(f"not an HTTP response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            if self.status >= 200 and self.tunnel_answer is None:
                # A response without a length ends when the connection does.
                self.waiter.set_result(self.status)
            else:
                self.waiter.set_exception(
                    ResponseError(f"the connection closed before an answer: {exc or 'EOF'}")
                )

    # -- httptools ----------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.retry_after is None and name.lower() == b"retry-after":
            self.retry_after = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()

    def on_message_complete(self) -> None:
        if self.status < 200:
            # 1xx (103 Early Hints…): the answer is still to come.
            self.status, self.retry_after = 0, None
            return
        self.keep_alive = self.parser.should_keep_alive()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(self.status)

    # -- the client's side --------------------------------------------------------------

    async def exchange(self, request: bytes) -> int:
        """Write ``request`` and wait for the status of its answer."""
        assert self.transport is not None
        self.status, self.retry_after, self.keep_alive = 0, None, False
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter

    async def tunnel(self, service: Service) -> None:
        """Ask the proxy for a tunnel to the push service (``CONNECT host:port``)."""
        assert service.proxy is not None
        authority = f"[{service.host}]" if ":" in service.host else service.host
        authority += f":{service.port}"
        self.tunnel_answer = bytearray()
        try:
            status = await self.exchange(
                b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n"
                % (authority.encode(), authority.encode(), service.proxy.authorization)
            )
        finally:
            self.tunnel_answer = None
        if not 200 <= status < 300:
            raise ConnectorError(f"the proxy refused a tunnel to {authority} ({status})")

    def expire(self) -> None:
        self._fail(TimeoutError("the push service did not answer in time"))

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def reusable(self) -> bool:
        return self.keep_alive and not self.closed and not self.transport.is_closing()  # type: ignore[union-attr]


@dataclass(frozen=True)
class Response:
    status: int
    retry_after: str | None


class PushClient:
    """POSTs to push services over kept-alive connections (see the module's docstring)."""

    def __init__(
        self,
        resolver: AbstractResolver,
        *,
        timeout_s: float,
        limit: int = 64,
        keepalive_s: float = 60.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.resolver = resolver
        self.timeout_s = timeout_s
        self.limit = limit
        self.keepalive_s = keepalive_s
        self.ssl_context = ssl_context or ssl.create_default_context()
        self._services: set[Service] = set()

    async def post(self, service: Service, target: str, headers: bytes, body: bytes) -> Response:
        """POST ``body`` to ``target`` (the path and query) with ``headers`` (whole lines,
        each ending in CRLF); raises :class:`ConnectorError`, :class:`ResponseError`,
        :class:`push.addresses.RefusedAddress` or TimeoutError."""
        request = b"".join(
            (
                b"POST ",
                (service.target_prefix + target).encode("ascii"),
                b" HTTP/1.1\r\n",
                service.head,
                headers,
                b"Content-Length: %d\r\n\r\n" % len(body),
                body,
            )
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        connection = self._idle_connection(service)
        if connection is None:
            async with asyncio.timeout_at(deadline):
                connection = await self._connect(service)
        # A plain timer rather than asyncio.timeout() for the exchange: a third of the cost,
        # on every request.
        timer = loop.call_at(deadline, connection.expire)
        try:
            status = await connection.exchange(request)
        except BaseException:
            connection.close()
            raise
        finally:
            timer.cancel()
        response = Response(status, connection.retry_after)
        if connection.reusable():
            self._keep(service, connection)
        else:
            connection.close()
        return response

    def _idle_connection(self, service: Service) -> Connection | None:
        idle = service.idle
        if not idle:
            return None
        oldest = asyncio.get_running_loop().time() - self.keepalive_s
        while idle:
            connection = idle.pop()  # the last one used: the likeliest to be alive
            if not connection.closed and connection.idle_since > oldest:
                return connection
            connection.close()
        return None

    def _keep(self, service: Service, connection: Connection) -> None:
        connection.idle_since = now = asyncio.get_running_loop().time()
        idle = service.idle
        # Closed or stale ones gather at the far end; so do those beyond the limit.
        while idle and (
            len(idle) >= self.limit
            or idle[0].closed
            or idle[0].idle_since <= now - self.keepalive_s
        ):
            idle.popleft().close()
        idle.append(connection)
        self._services.add(service)

    async def _connect(self, service: Service) -> Connection:
        proxy = service.proxy
        host, port, tls = (
            (proxy.host, proxy.port, proxy.tls)
            if proxy
            else (service.host, service.port, service.tls)
        )
        try:
            addresses = await self.resolver.resolve(host, port, family=socket.AF_UNSPEC)
        except OSError as exc:
            if isinstance(exc, RefusedAddress | ConnectorError):
                raise
            raise ConnectorError(f"cannot resolve {host}: {exc}") from exc
        loop = asyncio.get_running_loop()
        problem: Exception | None = None
        for address in addresses:
            try:
                _, connection = await loop.create_connection(
                    Connection,
                    address["host"],
                    address["port"],
                    ssl=self.ssl_context if tls else None,
                    server_hostname=host if tls else None,
                    family=address["family"],
                    proto=address["proto"],
                    flags=address["flags"],
                )
                break
            except OSError as exc:  # refused, unreachable, TLS (ssl.SSLError is an OSError)
                problem = exc
        else:
            raise ConnectorError(f"cannot connect to {host}:{port}: {problem}")
        if proxy and service.tls:
            try:
                await connection.tunnel(service)
                assert connection.transport is not None
                connection.transport = await loop.start_tls(
                    connection.transport,
                    connection,
                    self.ssl_context,
                    server_hostname=service.host,
                )
            except BaseException as exc:
                connection.close()
                if isinstance(exc, (ssl.SSLError, ResponseError)):
                    raise ConnectorError(f"cannot connect through the proxy: {exc}") from exc
                raise
        return connection

    async def aclose(self) -> None:
        for service in self._services:
            while service.idle:
                service.idle.pop().close()
        self._services.clear()
