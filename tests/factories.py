"""Factories for data: members and their push subscriptions, as the app would store them."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from app.accounts.tables import Member
from push.subscriptions import save_subscription
from push.tables import PushSubscription
from tests.push_sink import FakeBrowser


async def make_member(name: str = "Léa Martin", email: str | None = None) -> int:
    email = email or f"{secrets.token_hex(4)}@example.com"
    rows = await Member.insert(Member(email=email, name=name)).returning(Member.id)  # type: ignore[attr-defined]
    return int(rows[0]["id"])


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
