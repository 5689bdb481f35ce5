"""Who may use a route. Every route handler declares exactly one of these guards.

``anyone`` for public pages, ``signed_in`` for any active member, ``editor`` for HR and
communication (editors and admins), ``admin`` for people, settings and rules.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from app.accounts.tables import ROLE_RANK, Member, Role


def member_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Member | None:
    """The signed-in member (``request.user``, set by app.accounts.sessions), or None."""
    return connection.user


async def anyone(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Public: candidates, the sign-in and enrolment pages, the PWA's files."""


async def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if member_of(connection) is None:
        raise NotAuthorizedException()


def _at_least(role: Role, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    member = member_of(connection)
    if member is None:
        raise NotAuthorizedException()
    if ROLE_RANK[Role(member.role)] < ROLE_RANK[role]:
        raise PermissionDeniedException()


async def editor(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    _at_least(Role.editor, connection)


async def admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    _at_least(Role.admin, connection)
