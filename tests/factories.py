"""Factories for real rows, made through Relay's own tables and services."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime

from app.accounts.sessions import cookie_name, create_session
from app.accounts.tables import Member
from app.org.tables import Site, Team
from push.subscriptions import save_subscription
from push.tables import PushSubscription
from tests.push_sink import FakeBrowser

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


async def subscribe(member_id: int, browser: FakeBrowser, device_name: str = "Pixel") -> int:
    """The browser opts in, through the same function the app's opt-in route uses."""
    return await save_subscription(
        member_id, browser.endpoint, browser.p256dh, browser.auth, device_name
    )


async def subscribe_many(member_id: int, browsers: Sequence[FakeBrowser]) -> None:
    """Many devices at once, for volume tests: rows written in bulk."""
    now = datetime.now(UTC)
    for start in range(0, len(browsers), 500):
        await PushSubscription.insert(
            *(
                PushSubscription(
                    member=member_id,
                    endpoint=b.endpoint,
                    p256dh=b.p256dh,
                    auth=b.auth,
                    created_at=now,
                )
                for b in browsers[start : start + 500]
            )
        )
