"""Which members a newly published item is announced to, and claiming the items to announce."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.accounts.tables import Member
from app.content.editing import targets_of
from app.content.feed import published_where
from app.content.tables import (
    ContentItem,
)


async def audience_member_ids(item_id: int) -> list[int]:
    """Active members an item is published for: everyone, or its teams' and sites' members."""
    item = (
        await ContentItem.select(ContentItem.audience_all).where(ContentItem.id == item_id).first()
    )
    if item is None:
        return []
    query = Member.select(Member.id).where(Member.active.eq(True))
    if not item["audience_all"]:
        teams, sites = await targets_of(item_id)
        if not teams and not sites:
            return []
        if teams and sites:
            query = query.where(Member.team.is_in(teams) | Member.site.is_in(sites))
        elif teams:
            query = query.where(Member.team.is_in(teams))
        else:
            query = query.where(Member.site.is_in(sites))
    return [row["id"] for row in await query]


async def claim_unannounced(since: datetime, moment: datetime) -> list[dict[str, Any]]:
    """Items visible since ``since`` that nobody announced yet, now marked announced.

    The conditional update makes each item announced by exactly one process.
    """
    candidates = (
        await ContentItem.select(ContentItem.id, ContentItem.title)
        .where(
            published_where(moment)
            & (ContentItem.publish_at > since)
            & ContentItem.announced_at.is_null()
        )
        .order_by(ContentItem.publish_at)
    )
    claimed = []
    for item in candidates:
        won = (
            await ContentItem.update({ContentItem.announced_at: moment})
            .where((ContentItem.id == item["id"]) & ContentItem.announced_at.is_null())
            .returning(ContentItem.id)
        )
        if won:
            claimed.append(item)
    return claimed
