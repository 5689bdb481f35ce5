"""The activity ledger and the honest counting of clicks (plain functions, no HTTP).

:func:`record_activity` is the one writer of :class:`Activity`; everything that wants to
know what happened (points, notifications, reporting, the pages that show clicks) reads it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from ipaddress import IPv6Address, ip_address, ip_network
from typing import Any

from piccolo.query.functions.aggregate import Count

from app.candidates.tables import Activity, ActivityKind, Visit, VisitorKey
from app.core import db
from app.core.clock import now
from app.core.events import publish


@dataclass(frozen=True)
class ActivityRecorded:
    """An :class:`Activity` row was just written (the first time for its key), inside the
    transaction that wrote it: what it is worth is credited in that same transaction."""

    activity: dict[str, Any]  # the row; its ``detail`` a dict or the stored JSON text


async def record_activity(
    kind: ActivityKind,
    key: str,
    *,
    member: int | None = None,
    item: int | None = None,
    at: datetime | None = None,
    **detail: Any,
) -> bool:
    """Record that something happened, once per ``key``; False when it was already recorded.

    Kinds: ``share``, ``click`` (a genuine click on ``member``'s link to ``item``), ``application``,
    ``recommendation`` (the friend accepted), ``stage`` (``detail`` has the new stage).
    """
    row = Activity(
        kind=ActivityKind(kind).value,
        key=f"{kind}:{key}"[:120],
        member=member,
        item=item,
        at=at or now(),
        detail=json.dumps(detail, sort_keys=True),
    )
    async with db.write_transaction():
        rows = (
            await Activity.insert(row)
            .on_conflict(target=Activity.key, action="DO NOTHING")
            .returning(Activity.id)
        )
        if rows:
            # Points in the same transaction: an event is never recorded without them.
            await publish(
                ActivityRecorded({**row.to_dict(), "id": rows[0]["id"], "detail": detail})
            )
    return bool(rows)


async def genuine_clicks_by_item(member_id: int, item_ids: list[int]) -> dict[int, int]:
    """Genuine clicks each of the member's links got, by item (zero for none)."""
    counts = dict.fromkeys(item_ids, 0)
    if not item_ids:
        return counts
    rows = (
        await Activity.select(Activity.item, Count(Activity.id, alias="clicks"))
        .where(
            Activity.kind == ActivityKind.click.value,
            Activity.member == member_id,
            Activity.item.is_in(item_ids),
        )
        .group_by(Activity.item)
    )
    for row in rows:
        counts[int(row["item"])] = int(row["clicks"])
    return counts


# --- Visitors: a keyed hash that changes every day ---------------------------------------

KEEP_KEYS_DAYS = 2  # today and yesterday: a page opened before midnight may beacon after it


async def key_of_day(day: date) -> str:
    """The visitor key of a UTC day, created by whichever process needs it first."""
    label = day.isoformat()
    row = await VisitorKey.select(VisitorKey.key).where(VisitorKey.day == label).first()
    if row:
        return str(row["key"])
    await VisitorKey.insert(VisitorKey(day=label, key=secrets.token_hex(32))).on_conflict(
        target=VisitorKey.day, action="DO NOTHING"
    )
    oldest = (day - timedelta(days=KEEP_KEYS_DAYS - 1)).isoformat()
    await VisitorKey.delete().where(VisitorKey.day < oldest)
    row = await VisitorKey.select(VisitorKey.key).where(VisitorKey.day == label).first()
    assert row is not None
    return str(row["key"])


def visitor_hash(key: str, address: str, user_agent: str) -> str:
    """Who visited, known only within the key's day: never the address itself."""
    message = f"{address}\n{user_agent}".encode()
    return hmac.new(bytes.fromhex(key), message, hashlib.sha256).hexdigest()[:32]


def address_hash(key: str, address: str) -> str:
    """Where from, known only within the key's day. An IPv6 address counts by its /64: one
    subscriber's whole block, which a script could otherwise walk through."""
    with contextlib.suppress(ValueError):
        parsed = ip_address(address)
        if isinstance(parsed, IPv6Address) and parsed.ipv4_mapped is None:
            address = str(ip_network(f"{parsed}/64", strict=False))
    message = f"address\n{address}".encode()
    return hmac.new(bytes.fromhex(key), message, hashlib.sha256).hexdigest()[:32]


# --- Figures for the admin page ------------------------------------------------------------


@dataclass(frozen=True)
class ClickFigures:
    previews: int
    views: int
    clicks: int


async def click_figures(since: datetime | None = None) -> ClickFigures:
    visits = Visit.count()
    previews = Visit.count().where(Visit.preview.eq(True))
    clicks = Activity.count().where(Activity.kind == ActivityKind.click.value)
    if since is not None:
        visits = visits.where(Visit.at >= since)
        previews = previews.where(Visit.at >= since)
        clicks = clicks.where(Activity.at >= since)
    total, bots, genuine = await visits, await previews, await clicks
    return ClickFigures(previews=bots, views=total - bots, clicks=genuine)
