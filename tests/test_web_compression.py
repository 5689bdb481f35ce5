"""Responses are gzipped when worth it (app.web.compression), and nothing else changes."""

from __future__ import annotations

import gzip
from typing import Any

from litestar.testing import AsyncTestClient

from app.web.compression import GzipMiddleware
from tests.helpers import HTML


async def test_pages_are_gzipped_and_small_answers_are_not(
    employee_client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    client = employee_client
    ping = await client.get("/ping", headers={"accept-encoding": "gzip"})
    assert ping.text == "pong" and "content-encoding" not in ping.headers

    page = await client.get("/", headers={**HTML, "accept-encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in page.headers["vary"].lower()
    assert "hx-request" in page.headers["vary"].lower()  # the page's own Vary is kept
    assert int(page.headers["content-length"]) < len(page.content)  # sent compressed

    plain = await client.get("/", headers={**HTML, "accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.text.count("<article") == page.text.count("<article")


async def test_a_streamed_body_is_one_gzip_stream() -> None:
    """A body sent in parts (``more_body``) goes through one compressor, without a length."""
    parts = [b"first part " * 100, b"second part " * 100, b""]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"9999")],
            }
        )
        for n, part in enumerate(parts):
            await send(
                {"type": "http.response.body", "body": part, "more_body": n < len(parts) - 1}
            )

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    middleware = GzipMiddleware(app, level=1, minimum_size=512)
    scope = {"type": "http", "path": "/export", "headers": [(b"accept-encoding", b"gzip, br")]}
    await middleware(scope, None, send)  # type: ignore[arg-type]
    headers = dict(sent[0]["headers"])
    assert headers[b"content-encoding"] == b"gzip" and b"content-length" not in headers
    body = b"".join(m["body"] for m in sent[1:])
    assert gzip.decompress(body) == b"".join(parts)
