"""Relay reached through a reverse proxy, in process: the socket's peer is the proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.core.settings import Settings

PROXY = "10.0.0.1"


def reached_from(app: Litestar, peer: str) -> Litestar:
    """Relay's app as reached from ``peer``'s socket: the reverse proxy's, in these tests.
    (Litestar's test client always says ``testclient``, which is no address.)"""
    handler = app.asgi_handler

    async def from_peer(scope: Any, receive: Any, send: Any) -> None:
        scope["client"] = (peer, 40000)
        await handler(scope, receive, send)

    app.asgi_handler = from_peer
    return app


@asynccontextmanager
async def client_behind_proxy(
    env: dict[str, str], trusted: str | None = PROXY, peer: str = PROXY, **variables: str
) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """A test client whose requests reach Relay from ``peer``, with FORWARDED_ALLOW_IPS set
    to ``trusted`` (None: not set): a request's ``x-forwarded-for`` header is then what the
    proxy appended for the client."""
    from app.main import create_app

    if trusted:
        variables["FORWARDED_ALLOW_IPS"] = trusted
    app = reached_from(create_app(Settings.from_env({**env, **variables})), peer)
    async with AsyncTestClient(app, base_url="http://localhost:8000") as client:
        yield client
