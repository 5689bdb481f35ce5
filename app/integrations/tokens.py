"""Integration tokens: the bearer tokens outside systems call Relay with.

One table for every kind (``scim`` now; the ATS's ``api`` tokens later), each token bound to
its kind so that it never opens another door, and to scopes within it. The token is shown
once, when an admin makes it; only its SHA-256 is stored. It is found by that hash (the
database compares hashes, which tell nothing about a token), then compared again in constant
time. Making and revoking are audited; the token itself is never logged nor stored.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.accounts import audit
from app.accounts.tokens import hash_token
from app.core.clock import now
from app.core.db import write_transaction
from app.core.forms import FormResult
from app.core.i18n import _
from app.integrations.tables import IntegrationToken

SCIM = "scim"
API = "api"
KINDS = {SCIM: "scim:provision", API: ""}  # kind -> the scopes a new token of that kind gets
# What an ATS's token may do behind /api/v1; the admin ticks them when making the token.
API_SCOPES = ("offers:write", "candidates:read", "candidates:write")
# A token is "used" at most once a minute in the database: one write a minute, not a request.
LAST_USED_STEP = timedelta(minutes=1)
MAX_TOKEN_LENGTH = 120


@dataclass(frozen=True)
class Caller:
    """Who is calling with a valid token."""

    token_id: int
    kind: str
    name: str
    scopes: frozenset[str]

    @property
    def via(self) -> str:
        """How the audit log names the caller."""
        return f"SCIM · {self.name}" if self.kind == SCIM else f"API · {self.name}"


def check_name(values: dict[str, Any]) -> FormResult:
    form = FormResult.of(values)
    form.text(
        "name",
        max_length=80,
        required=_("Name the identity provider, like Microsoft Entra ID or Okta."),
        too_long=_("Keep the name under 80 characters."),
    )
    return form


async def create(
    kind: str, name: str, by: int, client: str = "", scopes: tuple[str, ...] | None = None
) -> tuple[int, str]:
    """A new token of ``kind`` (with ``scopes``, else its kind's): its id and the token
    itself, to show once."""
    # 256 random bits, prefixed so that secret scanners (and people) recognise it.
    token = f"relay_{kind}_{secrets.token_urlsafe(32)}"
    async with write_transaction():
        rows = await IntegrationToken.insert(
            IntegrationToken(
                kind=kind,
                name=name,
                scopes=" ".join(scopes) if scopes is not None else KINDS[kind],
                token_hash=hash_token(token),
                created_by=by,
            )
        ).returning(IntegrationToken.id)
        token_id = int(rows[0]["id"])
        await audit.record(
            "integration_token_created",
            actor=by,
            client=client,
            kind=kind,
            name=name,
            scopes=" ".join(scopes) if scopes is not None else KINDS[kind],
        )
    return token_id, token


async def revoke(token_id: int, kind: str, by: int, client: str = "") -> bool:
    async with write_transaction():
        row = (
            await IntegrationToken.select(IntegrationToken.name)
            .where(
                (IntegrationToken.id == token_id)
                & (IntegrationToken.kind == kind)
                & IntegrationToken.revoked_at.is_null()
            )
            .first()
        )
        if row is None:
            return False
        await IntegrationToken.update({IntegrationToken.revoked_at: now()}).where(
            IntegrationToken.id == token_id
        )
        await audit.record(
            "integration_token_revoked", actor=by, client=client, kind=kind, name=row["name"]
        )
    return True


async def listed(kind: str) -> list[dict[str, Any]]:
    """The tokens of a kind for the admin's page: never the token, nor its hash."""
    return await (
        IntegrationToken.select(
            IntegrationToken.id,
            IntegrationToken.name,
            IntegrationToken.scopes,
            IntegrationToken.created_at,
            IntegrationToken.last_used_at,
            IntegrationToken.revoked_at,
            IntegrationToken.created_by.name.as_alias("created_by_name"),
        )
        .where(IntegrationToken.kind == kind)
        .order_by(IntegrationToken.id, ascending=False)
    )


def bearer_of(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, or None."""
    if not authorization:
        return None
    scheme, _space, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return token


async def authenticate(token: str, kind: str) -> Caller | None:
    """The caller behind a token of ``kind``; None for any other token, revoked or unknown."""
    expected = hash_token(token)
    row = (
        await IntegrationToken.select(
            IntegrationToken.id,
            IntegrationToken.kind,
            IntegrationToken.name,
            IntegrationToken.scopes,
            IntegrationToken.token_hash,
            IntegrationToken.last_used_at,
        )
        .where((IntegrationToken.token_hash == expected) & IntegrationToken.revoked_at.is_null())
        .first()
    )
    if row is None or not hmac.compare_digest(row["token_hash"], expected):
        return None
    if row["kind"] != kind:
        return None
    await _mark_used(int(row["id"]), row["last_used_at"])
    return Caller(int(row["id"]), row["kind"], row["name"], frozenset(row["scopes"].split()))


async def _mark_used(token_id: int, last_used_at: datetime | str | None) -> None:
    moment = now()
    if isinstance(last_used_at, str):
        last_used_at = datetime.fromisoformat(last_used_at)
    if last_used_at is not None and last_used_at.tzinfo is None:
        last_used_at = last_used_at.replace(tzinfo=UTC)
    if last_used_at is not None and moment - last_used_at < LAST_USED_STEP:
        return
    await IntegrationToken.update({IntegrationToken.last_used_at: moment}).where(
        IntegrationToken.id == token_id
    )
