"""The feed a member reads: its tags, its pages of cards, the open offers, and what the feed
remembers of each member (last visit, credit by name).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.accounts.tables import Member
from app.content.editing import PAGE_SIZE, TAG, now, tags_of
from app.content.markdown import plain_excerpt
from app.content.media import image_url
from app.content.tables import (
    ContentItem,
    ContentTarget,
    FeedState,
    Kind,
    OfferStatus,
)
from app.core.cache import TTLMap
from app.core.db import write_transaction
from app.core.search import contains_pattern
from app.core.validation import parse_id, parse_int
from app.web import pagecache
from app.web.pagecache import public_pages_changed

# The tags in use, for the feed's chips and the studio's filter: kept as the public pages are
# (app.web.pagecache), forgotten at once when this process changes content, within TTL_S
# seconds otherwise.
_kept_tags: TTLMap[int, list[str]] = TTLMap(ttl_s=pagecache.TTL_S, max_size=2)


async def feed_tags() -> list[str]:
    """Tags of the items not archived, sorted (shown on every feed and studio page)."""
    key = pagecache.generation()
    tags = _kept_tags.get(key)
    if tags is None:
        tags = _kept_tags.put(key, await all_tags())
    return tags


async def all_tags() -> list[str]:
    rows = (
        await ContentItem.select(ContentItem.tags)
        .where(ContentItem.tags != "", ContentItem.archived_at.is_null())
        .distinct()
    )
    return sorted({t for r in rows for t in tags_of(r["tags"])})


# ---------------------------------------------------------------- the feed


@dataclass(frozen=True)
class CardColumn:
    """A value a later domain adds to each card of a page (the reader's clicks on it, their
    link's code, a challenge running on it), computed in the page's own query: one statement
    for the page, not one more round trip per domain. ``sql`` is a scalar sub-select on the
    card's item, ``p.id``, its placeholders ``{}`` filled from ``args``; the card reads it as
    ``row[alias]``."""

    alias: str
    sql: str
    args: tuple[Any, ...] = ()


def _with_columns(
    inner: str, inner_args: list[Any], columns: Sequence[CardColumn], order: str = ""
) -> tuple[str, list[Any]]:
    """``inner`` (a query on ``content_item i``) wrapped so that each column is computed
    for the rows it returns only (after its LIMIT), in the same statement."""
    if not columns:
        return inner, inner_args
    if not all(column.alias.isidentifier() for column in columns):
        raise ValueError("a card column's alias is a plain name")
    picked = "".join(f", {column.sql} AS {column.alias}" for column in columns)
    sql = f"SELECT p.*{picked} FROM ({inner}) p{order}"  # noqa: S608 (placeholders only)
    return sql, [arg for column in columns for arg in column.args] + inner_args


@dataclass
class FeedPage:
    cards: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(item: dict[str, Any]) -> str:
    return f"{int(bool(item['pinned']))}.{int(item['publish_at'].timestamp())}.{item['id']}"


def decode_cursor(text: str | None) -> tuple[bool, datetime, int] | None:
    if not text:
        return None
    parts = text.split(".")
    if len(parts) != 3 or parts[0] not in {"0", "1"}:
        return None
    seconds, item_id = parse_int(parts[1], max_digits=11), parse_id(parts[2])
    if seconds is None or item_id is None:
        return None
    return parts[0] == "1", datetime.fromtimestamp(seconds, UTC), item_id


def published_where(moment: datetime) -> Any:
    """Published, not archived, not expired; offers only while open."""
    return (
        (ContentItem.publish_at <= moment)
        & ContentItem.archived_at.is_null()
        & (ContentItem.expires_at.is_null() | (ContentItem.expires_at > moment))
        & (
            (ContentItem.kind != Kind.offer.value)
            | (ContentItem.offer_status == OfferStatus.open.value)
        )
    )


async def audience_where(member: Member) -> Any:
    """For everyone, or targeted at the member's team or site (a sub-query: one round trip)."""
    everyone = ContentItem.audience_all == True  # noqa: E712 - a SQL expression
    team, site = member.team, member.site
    if team is None and site is None:
        return everyone
    if team is not None and site is not None:
        match = (ContentTarget.team == team) | (ContentTarget.site == site)
    elif team is not None:
        match = ContentTarget.team == team
    else:
        match = ContentTarget.site == site
    return everyone | ContentItem.id.is_in(ContentTarget.select(ContentTarget.item).where(match))


FEED_SQL = """
SELECT i.id AS id, i.kind AS kind, i.title AS title, i.excerpt AS excerpt,
       i.language AS language, i.tags AS tags, i.image AS image,
       i.image_alt AS image_alt, i.pinned AS pinned, i.publish_at AS publish_at,
       i.contract AS contract, i.remote AS remote, i.bonus_text AS bonus_text,
       i.offer_status AS offer_status, i.captions AS captions, i.byline AS byline,
       i.byline_member AS byline_member, bm.photo AS byline_photo, s.name AS site_name,
       EXISTS (SELECT 1 FROM share sh WHERE sh.member = {} AND sh.item = i.id) AS shared
FROM content_item i
LEFT JOIN site s ON s.id = i.site
LEFT JOIN member bm ON bm.id = i.byline_member
WHERE """


def published_sql(moment: datetime) -> tuple[list[str], list[Any]]:
    """:func:`published_where` written out, on ``content_item i``."""
    where = [
        "i.publish_at <= {}",
        "i.archived_at IS NULL",
        "(i.expires_at IS NULL OR i.expires_at > {})",
        "(i.kind <> 'offer' OR i.offer_status = 'open')",
    ]
    return where, [moment, moment]


def _visible_where(member: Member, moment: datetime) -> tuple[list[str], list[Any]]:
    """:func:`published_where` and :func:`audience_where` written out, on ``content_item i``."""
    where, args = published_sql(moment)
    if member.team is not None or member.site is not None:
        where.append(
            "(i.audience_all = {} OR i.id IN "
            "(SELECT t.item FROM content_target t WHERE t.team = {} OR t.site = {}))"
        )
        args += [True, member.team or 0, member.site or 0]
    else:
        where.append("i.audience_all = {}")
        args.append(True)
    return where, args


async def feed_page(
    member: Member,
    *,
    kind: str | None = None,
    tag: str | None = None,
    search: str | None = None,
    after: str | None = None,
    at: datetime | None = None,
    limit: int = PAGE_SIZE,
    columns: Sequence[CardColumn] = (),
) -> FeedPage:
    """What ``member`` may see, pinned first then newest, ``limit`` cards after ``after``,
    each with ``columns``.

    Keyset pagination on (pinned, publish_at, id): a card published meanwhile never shifts
    the next page, so no card shows twice.
    """
    moment = at or now()
    # One hand-written query (the hot path): Piccolo's builder cost more than the query itself.
    # Each card says whether this member already shared it.
    where, args = _visible_where(member, moment)
    if kind in {k.value for k in Kind}:
        where.append("i.kind = {}")
        args.append(kind)
    if tag and TAG.match(tag):
        where.append("i.tags LIKE {}")
        args.append(f"%,{tag.lower()},%")
    pattern = contains_pattern(search or "")
    if pattern:
        where.append("i.search_text LIKE {}")  # accents and case folded (app.core.search)
        args.append(pattern)
    cursor = decode_cursor(after)
    if cursor is not None:
        pinned, at_time, item_id = cursor
        later = "(i.publish_at < {} OR (i.publish_at = {} AND i.id < {}))"
        if pinned:
            where.append(f"(i.pinned = {{}} OR (i.pinned = {{}} AND {later}))")
            args += [False, True, at_time, at_time, item_id]
        else:
            where.append(f"(i.pinned = {{}} AND {later})")
            args += [False, at_time, at_time, item_id]
    sql, args = _with_columns(
        FEED_SQL + " AND ".join(where) + " ORDER BY i.pinned DESC, i.publish_at DESC, i.id DESC"
        " LIMIT {}",
        [member.id, *args, limit + 1],
        columns,
        " ORDER BY p.pinned DESC, p.publish_at DESC, p.id DESC",
    )
    rows = [dict(r) for r in await ContentItem.raw(sql, *args)]
    for row in rows:
        row["pinned"] = bool(row["pinned"])
        row["shared"] = bool(row["shared"])
    more = len(rows) > limit
    rows = rows[:limit]
    return FeedPage(cards=rows, next_cursor=encode_cursor(rows[-1]) if more else None)


def card_view(row: dict[str, Any]) -> dict[str, Any]:
    """What a card shows, computed from its row."""
    return {
        **row,
        "excerpt": row.get("excerpt") or plain_excerpt(row.get("body", ""), 160),
        "tag_list": tags_of(row.get("tags", "")),
        "image_url": image_url(row.get("image")),
    }


async def visible_item(
    member: Member,
    item_id: int,
    at: datetime | None = None,
    columns: Sequence[CardColumn] = (),
) -> dict[str, Any] | None:
    """The item if ``member`` may see it in their feed now, with ``columns``."""
    # Written out: every item page and share sheet reads it (the builder cost 5 ms of CPU).
    where, args = _visible_where(member, at or now())
    sql, args = _with_columns(
        "SELECT i.*, s.name AS site_name, bm.photo AS byline_photo FROM content_item i "  # noqa: S608 (placeholders only)
        "LEFT JOIN site s ON s.id = i.site LEFT JOIN member bm ON bm.id = i.byline_member "
        "WHERE i.id = {} AND " + " AND ".join(where),
        [item_id, *args],
        columns,
    )
    rows = await ContentItem.raw(sql, *args)
    if not rows:
        return None
    item = dict(rows[0])
    item["audience_all"], item["pinned"] = bool(item["audience_all"]), bool(item["pinned"])
    return item


async def withdrawn(item_id: int) -> bool:
    """Whether the item left every feed for good: unknown, unpublished or archived."""
    row = (
        await ContentItem.select(ContentItem.publish_at, ContentItem.archived_at)
        .where(ContentItem.id == item_id)
        .first()
    )
    return row is None or row["publish_at"] is None or row["archived_at"] is not None


# The open offers, the same for every reader: kept as the public pages are (app.web.pagecache),
# forgotten at once when this process changes content, within TTL_S seconds otherwise.
_kept_offers: TTLMap[tuple[int, int], list[dict[str, Any]]] = TTLMap(
    ttl_s=pagecache.TTL_S, max_size=4
)


async def open_offers(limit: int = 6) -> list[dict[str, Any]]:
    """Open offers for everyone: what story pages and the public pages suggest."""
    key = (pagecache.generation(), limit)
    kept = _kept_offers.get(key)
    if kept is None:
        kept = _kept_offers.put(key, await _open_offers(limit))
    return [dict(offer) for offer in kept]


async def _open_offers(limit: int) -> list[dict[str, Any]]:
    # Written out: every story's page reads it (the builder cost twice the query's CPU).
    where, args = published_sql(now())
    rows = await ContentItem.raw(
        "SELECT i.id, i.title, i.contract, i.remote, s.name AS site_name FROM content_item i "  # noqa: S608 (placeholders only)
        "LEFT JOIN site s ON s.id = i.site WHERE "
        + " AND ".join([*where, "i.kind = 'offer'", "i.audience_all = {}"])
        + " ORDER BY i.publish_at DESC LIMIT {}",
        *args,
        True,
        limit,
    )
    return [dict(row) for row in rows]


# ---------------------------------------------------------------- member's feed state


async def feed_state(member_id: int) -> dict[str, Any] | None:
    # Written out: every feed page reads it (Piccolo's builder cost more than the query).
    rows = await FeedState.raw(
        "SELECT id, member, seen_at, previous_seen_at, credit_by_name FROM feed_state "
        "WHERE member = {} LIMIT 1",
        member_id,
    )
    return dict(rows[0]) if rows else None


# A visit that follows another within this window is the same visit (paging, coming back).
SAME_VISIT_S = 30 * 60
VISIT_WRITE_EVERY_S = 60


def _written_within(state: dict[str, Any] | None, moment: datetime) -> bool:
    """Whether the member's visit was written less than ``VISIT_WRITE_EVERY_S`` ago."""
    seen = state["seen_at"] if state is not None else None
    return seen is not None and 0 <= (moment - seen).total_seconds() < VISIT_WRITE_EVERY_S


async def mark_feed_visit(member_id: int, at: datetime | None = None) -> datetime | None:
    """Record a visit to the feed; returns the time of the previous visit ("new since")."""
    moment = at or now()
    state = await feed_state(member_id)
    if _written_within(state, moment):
        # Paging and reloads: the same visit; no write on the hot path.
        return state["previous_seen_at"]  # type: ignore[index]
    async with write_transaction():
        state = await feed_state(member_id)
        if _written_within(state, moment):
            # Another request of the same visit wrote it meanwhile (a page opened in
            # several tabs at once): nothing to write.
            return state["previous_seen_at"]  # type: ignore[index]
        if state is None:
            await FeedState.insert(FeedState(member=member_id, seen_at=moment)).on_conflict(
                action="DO NOTHING"
            )
            return None
        previous = state["previous_seen_at"]
        if state["seen_at"] is None or (moment - state["seen_at"]).total_seconds() > SAME_VISIT_S:
            previous = state["seen_at"]
        await FeedState.update(
            {FeedState.seen_at: moment, FeedState.previous_seen_at: previous}
        ).where(FeedState.member == member_id)
        return previous


async def credits_by_name(member_id: int) -> bool:
    state = await feed_state(member_id)
    return True if state is None else bool(state["credit_by_name"])


async def set_credit_by_name(member_id: int, credit: bool) -> None:
    async with write_transaction():
        if await FeedState.exists().where(FeedState.member == member_id):
            await FeedState.update({FeedState.credit_by_name: credit}).where(
                FeedState.member == member_id
            )
        else:
            await FeedState.insert(FeedState(member=member_id, credit_by_name=credit))
    public_pages_changed()
