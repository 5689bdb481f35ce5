"""gzip for responses, as Litestar's compression middleware does it, for less per request.

Litestar's middleware made a ``GzipFile`` (a buffer, a header with the time, a trailer) for
every response it might compress, a 4-byte ``/ping`` included, before knowing whether the
body would reach the minimum size. This one decides on the first body message: a whole body
under ``minimum_size`` goes out untouched, a larger one is compressed in one call, and a
streamed one (``more_body``) through one compressor. Same rules otherwise: only when the
client accepts gzip, never under an excluded path prefix or for a route handler whose
``opt`` has ``skip_opt_key`` (it compresses its own bodies, or streams video), never a body
that already has a ``Content-Encoding``; ``Vary: Accept-Encoding`` on what is compressed.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

from litestar.types import ASGIApp, Receive, Scope, Send

GZIP_WBITS = 31  # zlib's wbits for the gzip container


class GzipMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        level: int,
        minimum_size: int,
        exclude_prefixes: Sequence[str] = (),
        skip_opt_key: str = "",
    ) -> None:
        self.app = app
        self.level = level
        self.minimum_size = minimum_size
        self.exclude_prefixes = tuple(exclude_prefixes)
        self.skip_opt_key = skip_opt_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._wanted(scope):
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _GzipSend(send, self.level, self.minimum_size))

    def _wanted(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                if b"gzip" in value:
                    break
                return False
        else:
            return False
        handler = scope.get("route_handler")
        if handler is not None and handler.opt.get(self.skip_opt_key):
            return False
        return not (self.exclude_prefixes and scope["path"].startswith(self.exclude_prefixes))


class _GzipSend:
    """The ``send`` of one response: holds its start until the first body says how to go on."""

    __slots__ = ("compressor", "level", "minimum_size", "send", "start")

    def __init__(self, send: Send, level: int, minimum_size: int) -> None:
        self.send = send
        self.level = level
        self.minimum_size = minimum_size
        self.start: Any = None  # the response start message, until the first body
        self.compressor: Any = None  # a zlib compressor once a streamed body began

    async def __call__(self, message: Any) -> None:  # an ASGI message, a dict
        kind = message["type"]
        if kind == "http.response.start":
            self.start = message
            return
        if kind != "http.response.body":
            await self.send(message)
            return
        start = self.start
        if start is None:  # decided already
            if self.compressor is not None:
                body = self.compressor.compress(message.get("body", b""))
                if not message.get("more_body", False):
                    body += self.compressor.flush()
                message["body"] = body
            await self.send(message)
            return
        self.start = None
        body = message.get("body", b"")
        more = message.get("more_body", False)
        headers = list(start.get("headers") or ())
        if (not more and len(body) < self.minimum_size) or any(
            name.lower() == b"content-encoding" for name, _ in headers
        ):
            await self.send(start)
            await self.send(message)
            return
        compressor = zlib.compressobj(self.level, zlib.DEFLATED, GZIP_WBITS)
        body = compressor.compress(body)
        if more:
            self.compressor = compressor
        else:
            body += compressor.flush()
        vary = b""
        kept = []
        for name, value in headers:
            lowered = name.lower()
            if lowered == b"vary":
                vary = value
            elif lowered != b"content-length":
                kept.append((name, value))
        kept.append((b"content-encoding", b"gzip"))
        kept.append((b"vary", vary + b", Accept-Encoding" if vary else b"Accept-Encoding"))
        if not more:
            kept.append((b"content-length", str(len(body)).encode()))
        start["headers"] = kept
        message["body"] = body
        await self.send(start)
        await self.send(message)
