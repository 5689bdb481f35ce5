"""Factories for real rows, made through Relay's own tables and services."""

from __future__ import annotations

import itertools

from app.accounts.sessions import cookie_name, create_session
from app.accounts.tables import Member
from app.org.tables import Site, Team

_numbers = itertools.count(1)


async def make_team(name: str | None = None) -> int:
    rows = await Team.insert(Team(name=name or f"Team {next(_numbers)}")).returning(
        Team._meta.primary_key
    )
    return int(rows[0]["id"])


async def make_site(name: str | None = None) -> int:
    rows = await Site.insert(Site(name=name or f"Site {next(_numbers)}")).returning(
        Site._meta.primary_key
    )
    return int(rows[0]["id"])


async def make_member(
    role: str = "employee",
    name: str | None = None,
    email: str | None = None,
    team: int | None = None,
    site: int | None = None,
    language: str = "en",
    active: bool = True,
) -> Member:
    n = next(_numbers)
    member = Member(
        email=email or f"person{n}@example.com",
        name=name or f"Person {n}",
        role=role,
        team=team,
        site=site,
        language=language,
        active=active,
    )
    await member.save()
    return member


async def session_cookie(member: Member) -> tuple[str, str]:
    """A signed-in session for a member, as the (name, value) of its cookie."""
    return cookie_name(https=False), await create_session(member.id, "pytest")
