"""Signed-in devices: one session per sign-in, idle and absolute lifetimes, sign-out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.middleware import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
    DefineMiddleware,
)
from litestar.types import ASGIApp, Scope

from app.accounts.tables import Member, Session
from app.accounts.tokens import hash_token, new_token
from app.core.clock import now
from app.core.settings import SESSION_IDLE_LIFETIME, SESSION_LIFETIME

FRESH_FOR = timedelta(minutes=5)
TOUCH_EVERY = timedelta(minutes=5)


def cookie_name(https: bool) -> str:
    return "__Host-relay_session" if https else "relay_session"


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
]
# One plain query on every signed-in request: Piccolo's query builder costs more CPU per
# join than the database does, so this hot path is written out once, for both databases.
_LOAD_SESSION = """
SELECT s.id AS session_id, s.expires_at, s.last_seen_at, s.fresh_until,
       m.id, m.email, m.name, m.role, m.team, m.site, m.language, m.active,
       m.webauthn_user_id, m.created_at, m.deactivated_at
FROM member_session s JOIN member m ON m.id = s.member
WHERE s.token_hash = {}
"""


async def load_session(
    token: str, idle_lifetime: timedelta = SESSION_IDLE_LIFETIME
) -> CurrentSession | None:
    """The live session behind a cookie, with its active member; None when it has ended
    (or when it went unused for longer than ``idle_lifetime``)."""
    rows = await Session.raw(_LOAD_SESSION, hash_token(token))
    if not rows:
        return None
    row = rows[0]
    moment = now()
    if (
        _aware(row["expires_at"]) <= moment
        or moment - _aware(row["last_seen_at"]) > idle_lifetime
        or not row["active"]
    ):
        await Session.delete().where(Session.id == row["session_id"])
        return None
    if moment - _aware(row["last_seen_at"]) > TOUCH_EVERY:
        await Session.update({Session.last_seen_at: moment}).where(Session.id == row["session_id"])
    member = Member(_ignore_missing=True, _exists_in_db=True, **{c: row[c] for c in MEMBER_COLUMNS})
    fresh = row["fresh_until"] is not None and _aware(row["fresh_until"]) > moment
    return CurrentSession(id=row["session_id"], member=member, fresh=fresh)


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # a driver that hands back text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def mark_fresh(session_id: int) -> None:
    await Session.update({Session.fresh_until: now() + FRESH_FOR}).where(Session.id == session_id)


async def end_session(session_id: int) -> None:
    await Session.delete().where(Session.id == session_id)


async def end_all_sessions(member_id: int) -> int:
    ended = await Session.delete().where(Session.member == member_id).returning(Session.id)
    return len(ended)


class SessionAuthentication(AbstractAuthenticationMiddleware):
    """Sets ``request.user`` to the signed-in :class:`Member` (None for a visitor) and
    ``request.auth`` to their :class:`CurrentSession` (or None), for guards, routes and pages.

    A visitor is not refused here: each route's guard decides (app.accounts.guards)."""

    def __init__(
        self, app: ASGIApp, https: bool, idle_lifetime: timedelta = SESSION_IDLE_LIFETIME
    ) -> None:
        super().__init__(app, scopes={ScopeType.HTTP})
        self.cookie = cookie_name(https).encode()
        self.idle_lifetime = idle_lifetime

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        token = _cookie(connection.scope, self.cookie)
        current = await load_session(token, self.idle_lifetime) if token else None
        if current is None:
            return AuthenticationResult(user=None, auth=None)
        return AuthenticationResult(user=current.member, auth=current)


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
