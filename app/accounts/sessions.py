"""Signed-in devices: one session per sign-in, idle and absolute lifetimes, sign-out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.datastructures import Cookie
from litestar.middleware import (
    DefineMiddleware,
)
from litestar.types import ASGIApp, Receive, Scope, Send

from app.accounts.tables import Member, Session
from app.accounts.tokens import hash_token, new_token
from app.core.cache import TTLMap
from app.core.clock import now
from app.core.settings import SESSION_IDLE_LIFETIME, SESSION_LIFETIME, Settings

FRESH_FOR = timedelta(minutes=5)
TOUCH_EVERY = timedelta(minutes=5)
# How long a process may answer from its copy of a session; any change to a session or a
# member drops every copy at once (see SessionCache), so this bounds memory, not staleness.
SESSION_CACHE_TTL_S = 30.0
SESSION_CHANNEL = "relay:sessions"

log = logging.getLogger("relay.accounts")


def cookie_name(https: bool) -> str:
    return "__Host-relay_session" if https else "relay_session"


def session_cookie(settings: Settings, token: str) -> Cookie:
    """The cookie that carries a new session's token (passkey and single sign-on alike)."""
    return Cookie(
        key=cookie_name(settings.https),
        value=token,
        path="/",
        max_age=int(settings.session_lifetime.total_seconds()),
        httponly=True,
        secure=settings.https,
        samesite="lax",
    )


@dataclass
class CurrentSession:
    id: int
    member: Member
    fresh: bool


async def create_session(
    member_id: int,
    user_agent: str = "",
    fresh: bool = True,
    *,
    lifetime: timedelta = SESSION_LIFETIME,
) -> str:
    """Start a session for a member who just proved who they are; returns the cookie value.

    It ends after ``lifetime`` whatever happens (the app passes ``settings.session_lifetime``).
    """
    token, token_hash = new_token()
    moment = now()
    await Session.insert(
        Session(
            token_hash=token_hash,
            member=member_id,
            created_at=moment,
            last_seen_at=moment,
            expires_at=moment + lifetime,
            fresh_until=moment + FRESH_FOR if fresh else None,
            user_agent=user_agent[:200],
        )
    ).run()
    return token


MEMBER_COLUMNS = [
    "id",
    "email",
    "name",
    "role",
    "team",
    "site",
    "language",
    "active",
    "webauthn_user_id",
    "created_at",
    "deactivated_at",
    "photo",
]
# One plain query on every signed-in request: Piccolo's query builder costs more CPU per
# join than the database does, so this hot path is written out once, for both databases.
_LOAD_SESSION = """
SELECT s.id AS session_id, s.expires_at, s.last_seen_at, s.fresh_until,
       m.id, m.email, m.name, m.role, m.team, m.site, m.language, m.active,
       m.webauthn_user_id, m.created_at, m.deactivated_at, m.photo
FROM member_session s JOIN member m ON m.id = s.member
WHERE s.token_hash = {}
"""


@dataclass(slots=True)
class _Kept:
    """A session as read, ready to answer with: times made aware once, the member built once
    (no handler changes ``request.user``)."""

    session_id: int
    expires_at: datetime
    last_seen_at: datetime
    fresh_until: datetime | None
    active: bool
    member: Member

    @classmethod
    def of(cls, row: dict[str, Any]) -> _Kept:
        return cls(
            session_id=row["session_id"],
            expires_at=_aware(row["expires_at"]),
            last_seen_at=_aware(row["last_seen_at"]),
            fresh_until=_aware(row["fresh_until"]) if row["fresh_until"] is not None else None,
            active=bool(row["active"]),
            member=Member(
                _ignore_missing=True, _exists_in_db=True, **{c: row[c] for c in MEMBER_COLUMNS}
            ),
        )


class SessionCache:
    """The sessions a process read lately, by token hash: the lookup every signed-in request
    makes, without a query while nothing changed.

    A copy is never stale: every change to a session or to a member's row (sign-out, sign
    out everywhere, deactivation, a role, a language, a confirmation) calls
    :func:`sessions_changed` after it is committed, which drops every copy in this process
    and, when ``REDIS_URL`` is set, in every other one through Redis pub/sub
    (:class:`SessionBus`). A read that began before a change is not kept (the generation
    moved on meanwhile). Without Redis a process keeps copies only when it is the only web
    process (``WEB_CONCURRENCY`` 1, the default); with Redis, only while it is subscribed.
    """

    def __init__(self, ttl_s: float = SESSION_CACHE_TTL_S) -> None:
        self._rows: TTLMap[str, _Kept] = TTLMap(ttl_s, max_size=10_000)
        self.generation = 0
        self.allowed = True
        self.buses: list[SessionBus] = []

    @property
    def live(self) -> bool:
        return self.allowed and (not self.buses or all(bus.subscribed for bus in self.buses))

    def get(self, key: str) -> _Kept | None:
        return self._rows.get(key) if self.live else None

    def put(self, key: str, kept: _Kept, generation: int) -> None:
        if self.live and generation == self.generation:
            self._rows.put(key, kept)

    def forget(self, key: str) -> None:
        self._rows.discard(key)

    def drop_all(self) -> None:
        self.generation += 1
        self._rows.clear()


_cache = SessionCache()


def keep_sessions(allowed: bool) -> None:
    """Whether this process may keep sessions (``create_app``: not without Redis when
    several web processes serve, as none would hear of the others' changes)."""
    _cache.allowed = allowed
    _cache.drop_all()


async def sessions_changed() -> None:
    """A session or a member's row changed: every process forgets the sessions it kept.

    Call it after the change is committed (a read made before the commit would keep the
    old row otherwise)."""
    _cache.drop_all()
    for bus in list(_cache.buses):
        await bus.publish()


class SessionBus:
    """Tells every process sharing ``REDIS_URL`` that sessions changed, and hears them.

    A lifespan of the app: while it is not subscribed (starting, Redis unreachable) the
    process keeps no session, so no change can be missed."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.subscribed = False
        self._task: asyncio.Task[None] | None = None
        self._client: Any = None

    async def __aenter__(self) -> SessionBus:
        import redis.asyncio as redis

        self._client = redis.from_url(self.redis_url)
        _cache.buses.append(self)
        self._task = asyncio.create_task(self._listen())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self in _cache.buses:
            _cache.buses.remove(self)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._client.aclose()

    async def _listen(self) -> None:
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(SESSION_CHANNEL)
                _cache.drop_all()  # what was kept while not listening may be stale
                self.subscribed = True
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        _cache.drop_all()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis went away: keep nothing until it is back
                log.warning("Session changes not heard from Redis (%s); retrying", exc)
            finally:
                self.subscribed = False
                _cache.drop_all()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(1)

    async def publish(self) -> None:
        try:
            await self._client.publish(SESSION_CHANNEL, b"changed")
        except Exception as exc:
            log.error("Could not tell other processes that sessions changed: %s", exc)


async def load_session(
    token: str, idle_lifetime: timedelta = SESSION_IDLE_LIFETIME
) -> CurrentSession | None:
    """The live session behind a cookie, with its active member; None when it has ended
    (or when it went unused for longer than ``idle_lifetime``)."""
    key = hash_token(token)
    kept = _cache.get(key)
    if kept is None:
        generation = _cache.generation
        rows = await Session.raw(_LOAD_SESSION, key)
        if not rows:
            return None
        kept = _Kept.of(rows[0])
        _cache.put(key, kept, generation)
    moment = now()
    if kept.expires_at <= moment or moment - kept.last_seen_at > idle_lifetime or not kept.active:
        _cache.forget(key)
        await Session.delete().where(Session.id == kept.session_id)
        return None
    if moment - kept.last_seen_at > TOUCH_EVERY:
        await Session.update({Session.last_seen_at: moment}).where(Session.id == kept.session_id)
        kept.last_seen_at = moment
    fresh = kept.fresh_until is not None and kept.fresh_until > moment
    return CurrentSession(id=kept.session_id, member=kept.member, fresh=fresh)


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # a driver that hands back text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def mark_fresh(session_id: int) -> None:
    await Session.update({Session.fresh_until: now() + FRESH_FOR}).where(Session.id == session_id)
    await sessions_changed()


async def end_session(session_id: int) -> None:
    await Session.delete().where(Session.id == session_id)
    await sessions_changed()


async def end_all_sessions(member_id: int) -> int:
    """Every session of the member ends (inside a transaction, call :func:`sessions_changed`
    again once it is committed)."""
    ended = await Session.delete().where(Session.member == member_id).returning(Session.id)
    await sessions_changed()
    return len(ended)


class SessionAuthentication:
    """Sets ``request.user`` to the signed-in :class:`Member` (None for a visitor) and
    ``request.auth`` to their :class:`CurrentSession` (or None), for guards, routes and pages.

    A visitor is not refused here: each route's guard decides (app.accounts.guards). A plain
    ASGI middleware rather than Litestar's authentication base class, which built a
    connection object and checked exclusions on every request for what is a cookie look-up.
    """

    def __init__(
        self, app: ASGIApp, https: bool, idle_lifetime: timedelta = SESSION_IDLE_LIFETIME
    ) -> None:
        self.app = app
        self.cookie = cookie_name(https).encode()
        self.idle_lifetime = idle_lifetime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            token = _cookie(scope, self.cookie)
            current = await load_session(token, self.idle_lifetime) if token else None
            scope["user"] = current.member if current is not None else None
            scope["auth"] = current
        await self.app(scope, receive, send)


def session_middleware(
    https: bool, idle_lifetime: timedelta = SESSION_IDLE_LIFETIME
) -> DefineMiddleware:
    return DefineMiddleware(SessionAuthentication, https=https, idle_lifetime=idle_lifetime)


def _cookie(scope: Scope, name: bytes) -> str | None:
    for header, value in scope.get("headers", []):
        if header == b"cookie":
            for part in value.split(b";"):
                key, _sep, val = part.strip().partition(b"=")
                if key == name and val:
                    return val.decode("latin-1")
    return None
