"""The bare baseline: what this stack does for a signed-in page's shape of work, without Relay.

A minimal Litestar + Jinja2 app on the drivers alone (aiosqlite or asyncpg, no ORM), served
by granian like Relay, against the same database. ``GET /page?rows=N&size=S`` does what a
signed-in page has to do at least:

- the session lookup by token: the cookie's SHA-256, one query joining the session to its
  member (the same query Relay's ``load_session`` sends);
- one query of ``N`` rows of content (newest first);
- a Jinja2 page of ``S`` bytes built from those rows (a card per row, repeated until the
  page is as large as the Relay page it stands for);
- gzip at the level Relay uses.

bench/pages.py serves it next to Relay and reports each Relay page as a ratio to it.

    DATABASE_URL=sqlite:///path granian --interface asgi --factory bench.bare:create_app
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from jinja2 import Environment
from litestar import Litestar, Request, Response, get
from litestar.config.compression import CompressionConfig
from litestar.exceptions import NotAuthorizedException

from app.web.pages import GZIP_LEVEL  # the level Relay uses

SESSION_SQL = """
SELECT s.id AS session_id, s.expires_at, s.last_seen_at, s.fresh_until,
       m.id, m.email, m.name, m.role, m.team, m.site, m.language, m.active,
       m.webauthn_user_id, m.created_at, m.deactivated_at
FROM member_session s JOIN member m ON m.id = s.member
WHERE s.token_hash = {}
"""
ROWS_SQL = """
SELECT i.id, i.kind, i.title, i.excerpt, i.language, i.tags, i.pinned, i.publish_at
FROM content_item i ORDER BY i.publish_at DESC, i.id DESC LIMIT {}
"""

TEMPLATE = """<!doctype html>
<html lang="{{ member.language }}"><head><meta charset="utf-8">
<title>Relay</title><link rel="stylesheet" href="/static/app.css"></head>
<body><header><p>{{ member.name }}</p></header><main>
{% for row in cards %}<article class="card feed-card" id="item-{{ row.id }}">
<p class="kind">{{ row.kind }}</p><h2><a href="/items/{{ row.id }}">{{ row.title }}</a></h2>
<p class="excerpt">{{ row.excerpt }}</p><p class="tags">{{ row.tags }}</p>
<p class="when"><time datetime="{{ row.publish_at }}">{{ row.publish_at }}</time></p>
<form method="post" action="/items/{{ row.id }}/share"><button class="button">Share {{ loop.index }}</button></form>
</article>
{% endfor %}</main></body></html>
"""


async def keep_session(connection: Any) -> None:
    """As app.core.db.keep_session: nothing to undo when a connection goes back to the pool."""


class Database:
    """A few open connections: asyncpg's pool, or idle aiosqlite connections reused."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = url.startswith("postgres")
        self.pool: Any = None
        self.idle: list[Any] = []

    async def start(self) -> None:
        if self.postgres:
            import asyncpg

            # The pool as Relay's app.core.db sets it up: no reset query on each release.
            self.pool = await asyncpg.create_pool(
                self.url, min_size=1, max_size=10, reset=keep_session
            )

    async def stop(self) -> None:
        if self.pool is not None:
            await self.pool.close()
        for connection in self.idle:
            await connection.close()

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        if self.postgres:
            numbered = sql.format(*(f"${n + 1}" for n in range(len(args))))
            async with self.pool.acquire() as connection:
                return list(await connection.fetch(numbered, *args))
        import aiosqlite

        connection = self.idle.pop() if self.idle else await aiosqlite.connect(self.path)
        try:
            async with connection.execute(sql.format(*("?" for _ in args)), args) as cursor:
                columns = [c[0] for c in cursor.description]
                rows = [dict(zip(columns, row, strict=True)) for row in await cursor.fetchall()]
        except BaseException:
            await connection.close()
            raise
        if len(self.idle) < 8:
            self.idle.append(connection)
        else:
            await connection.close()
        return rows

    @property
    def path(self) -> str:
        return self.url.removeprefix("sqlite:///")


def create_app() -> Litestar:
    database = Database(os.environ["DATABASE_URL"])
    template = Environment(autoescape=True).from_string(TEMPLATE)
    card_size: list[int] = []

    @get("/page")
    async def page(
        request: Request[Any, Any, Any], rows: int = 20, size: int = 25_000
    ) -> Response[str]:
        token = request.cookies.get("relay_session", "")
        found = await database.fetch(SESSION_SQL, hashlib.sha256(token.encode()).hexdigest())
        if not found or not found[0]["active"]:
            raise NotAuthorizedException()
        member = dict(found[0])
        items = [dict(r) for r in await database.fetch(ROWS_SQL, rows)]
        # A card per row, repeated until the page is the size of the page it stands for.
        if not card_size:
            one = len(template.render(member=member, cards=items[:1]))
            card_size.append(max(1, one - len(template.render(member=member, cards=[]))))
        count = max(len(items), round(size / card_size[0]))
        cards = [items[n % len(items)] for n in range(count)]
        html = template.render(member=member, cards=cards)
        return Response(html, media_type="text/html")

    @get("/ping", media_type="text/plain")
    async def ping() -> str:
        return "pong"

    return Litestar(
        route_handlers=[page, ping],
        on_startup=[database.start],
        on_shutdown=[database.stop],
        compression_config=CompressionConfig(
            backend="gzip", minimum_size=512, gzip_compress_level=GZIP_LEVEL
        ),
        openapi_config=None,
        debug=False,
    )
