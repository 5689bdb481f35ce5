"""The activity ledger (plain functions, no HTTP).

:func:`record_activity` is the one writer of :class:`Activity`; everything that wants to
know what happened (points, notifications, reporting, the pages that show clicks) reads it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.activity.tables import Activity, ActivityKind
from app.content.feed import CardColumn
from app.core import db
from app.core.clock import now
from app.core.events import publish


@dataclass(frozen=True)
class ActivityRecorded:
    """An :class:`Activity` row was just written (the first time for its key), inside the
    transaction that wrote it: what it is worth is credited in that same transaction."""

    activity: dict[str, Any]  # the row; its ``detail`` a dict or the stored JSON text
    # What the handlers credited for it (points), told back to the one who recorded it.
    earned: list[int] = field(default_factory=list)


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
    recorded = await activity_recorded(kind, key, member=member, item=item, at=at, **detail)
    return recorded is not None


async def activity_recorded(
    kind: ActivityKind,
    key: str,
    *,
    member: int | None = None,
    item: int | None = None,
    at: datetime | None = None,
    **detail: Any,
) -> ActivityRecorded | None:
    """:func:`record_activity`, answering with the event it published (and so with what the
    activity earned), or None when ``key`` was already recorded."""
    row = Activity(
        kind=ActivityKind(kind).value,
        key=f"{kind}:{key}"[:120],
        member=member,
        item=item,
        at=at or now(),
        detail=json.dumps(detail, sort_keys=True),
    )
    event = None
    async with db.write_transaction():
        rows = (
            await Activity.insert(row)
            .on_conflict(target=Activity.key, action="DO NOTHING")
            .returning(Activity.id)
        )
        if rows:
            # Points in the same transaction: an event is never recorded without them.
            event = ActivityRecorded({**row.to_dict(), "id": rows[0]["id"], "detail": detail})
            await publish(event)
    return event


def clicks_column(member_id: int) -> CardColumn:
    """The genuine clicks the member's link to each card got, in the cards' own query (as
    :func:`genuine_clicks_by_item` counts them)."""
    return CardColumn(
        "clicks",
        "(SELECT COUNT(a.id) FROM activity a WHERE a.kind = {} AND a.member = {} "
        "AND a.item = p.id)",
        (ActivityKind.click.value, member_id),
    )


async def genuine_clicks_by_item(member_id: int, item_ids: list[int]) -> dict[int, int]:
    """Genuine clicks each of the member's links got, by item (zero for none)."""
    counts = dict.fromkeys(item_ids, 0)
    if not item_ids:
        return counts
    # Written out: it runs on every feed page and item page (Piccolo's builder cost more).
    marks = ", ".join(["{}"] * len(item_ids))
    rows = await Activity.raw(
        "SELECT item, COUNT(id) AS clicks FROM activity "  # noqa: S608 (placeholders only)
        f"WHERE kind = {{}} AND member = {{}} AND item IN ({marks}) GROUP BY item",
        ActivityKind.click.value,
        member_id,
        *item_ids,
    )
    for row in rows:
        counts[int(row["item"])] = int(row["clicks"])
    return counts
