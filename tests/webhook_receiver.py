"""A webhook receiver on 127.0.0.1 that verifies every request with the Standard Webhooks
reference library (``standardwebhooks``), not with Relay's own signer.

Each path answers as it is told: ``fail`` times 500 then 204, or 500 forever. What arrived
and verified is kept per path, with the ``webhook-id`` of each request.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.helpers import free_port


@dataclass
class Route:
    secret: str = ""
    fail: int = 0  # answer 500 this many times, then 204; -1: always 500
    attempts: list[str] = field(default_factory=list)  # webhook-id of every request
    delivered: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # id, payload
    refused: list[str] = field(default_factory=list)  # why verification failed


class WebhookReceiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.routes: dict[str, Route] = {}
        self._runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def route(self, path: str, fail: int = 0) -> Route:
        self.routes[path] = Route(fail=fail)
        return self.routes[path]

    async def _handle(self, request: web.Request) -> web.Response:
        route = self.routes.get(request.match_info["path"])
        if route is None:
            return web.Response(status=404)
        body = await request.text()
        route.attempts.append(request.headers.get("webhook-id", ""))
        try:
            payload = Webhook(route.secret).verify(body, dict(request.headers))
        except WebhookVerificationError as exc:
            route.refused.append(str(exc))
            return web.Response(status=401, text="bad signature")
        if route.fail == -1 or route.fail > 0:
            route.fail = route.fail - 1 if route.fail > 0 else -1
            return web.Response(status=500, text="receiver is down")
        route.delivered.append((request.headers["webhook-id"], payload))
        return web.Response(status=204)

    async def __aenter__(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/{path}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class ThreadedReceiver:
    """The receiver in a thread of its own, for sync tests (a browser test's live server)."""

    def __init__(self) -> None:
        self.receiver = WebhookReceiver()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.receiver.__aenter__(), self._loop).result(10)
        return self.receiver

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.receiver.__aexit__(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
