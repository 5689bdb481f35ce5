"""Which members a newly published item is announced to, and claiming the items to announce."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.content.feed import published_where
from app.content.tables import ContentItem, ContentTarget


@dataclass(frozen=True)
class Audience:
    """Who an item is published for: everyone, or the members of some teams and sites."""

    everyone: bool
    teams: tuple[int, ...] = ()
    sites: tuple[int, ...] = ()

    def condition(self) -> tuple[str, list[Any]]:
        """The SQL condition on a member ``m`` (and its arguments) that holds for the active
        members of this audience, for set-based statements (app.notifications.nudges)."""
        if self.everyone:
            return "m.active = {}", [True]
        parts, args = [], []
        for column, ids in (("m.team", self.teams), ("m.site", self.sites)):
            if ids:
                parts.append(f"{column} IN ({', '.join(['{}'] * len(ids))})")
                args += list(ids)
        if not parts:
            return "m.active = {} AND 1 = 0", [True]  # targeted at nobody (all removed)
        return f"m.active = {{}} AND ({' OR '.join(parts)})", [True, *args]


async def audiences(item_ids: list[int]) -> dict[int, Audience]:
    """Each item's audience, in two queries whatever the number of items."""
    if not item_ids:
        return {}
    rows = await ContentItem.select(ContentItem.id, ContentItem.audience_all).where(
        ContentItem.id.is_in(item_ids)
    )
    targets: dict[int, tuple[set[int], set[int]]] = {}
    for target in await ContentTarget.select(
        ContentTarget.item, ContentTarget.team, ContentTarget.site
    ).where(ContentTarget.item.is_in(item_ids)):
        teams, sites = targets.setdefault(target["item"], (set(), set()))
        if target["team"] is not None:
            teams.add(target["team"])
        if target["site"] is not None:
            sites.add(target["site"])
    found = {}
    for row in rows:
        teams, sites = targets.get(row["id"], (set(), set()))
        everyone = bool(row["audience_all"])
        found[row["id"]] = Audience(
            everyone,
            () if everyone else tuple(sorted(teams)),
            () if everyone else tuple(sorted(sites)),
        )
    return found


async def claim_unannounced(since: datetime, moment: datetime) -> list[dict[str, Any]]:
    """Items visible since ``since`` that nobody announced yet, now marked announced.

    One conditional update for all of them makes each item announced by exactly one process.
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
    if not candidates:
        return []
    won = await (
        ContentItem.update({ContentItem.announced_at: moment})
        .where(
            ContentItem.id.is_in([item["id"] for item in candidates])
            & ContentItem.announced_at.is_null()
        )
        .returning(ContentItem.id)
    )
    claimed = {row["id"] for row in won}
    return [item for item in candidates if item["id"] in claimed]
