"""Stories and offers: validation, the studio's actions, the feed query, guides and hosts.

Plain functions, no HTTP. Times come in as ``now`` where they matter, so a schedule can be
tested without waiting.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.accounts.tables import Member
from app.content.guides import DEFAULT_GUIDES
from app.content.markdown import plain_excerpt
from app.content.media import image_url
from app.content.tables import (
    ApplyHost,
    ContentItem,
    ContentTarget,
    FeedState,
    Kind,
    OfferStatus,
    ShareGuide,
)
from app.core.cache import TTLMap
from app.core.clock import now as clock_now
from app.core.db import write_transaction
from app.core.i18n import LANGUAGES, _, lazy
from app.org.tables import Site, Team
from app.web.pagecache import public_pages_changed
from app.web.validation import host_of, https_url, parse_id, parse_ids, parse_int, parse_time

PAGE_SIZE = 20
# The networks an item has captions and a best-practice guide for, in the order shown.
NETWORK_NAMES = {
    "linkedin": "LinkedIn",
    "x": "X",
    "facebook": "Facebook",
    "whatsapp": "WhatsApp",
    "instagram": "Instagram",
    "tiktok": "TikTok",
}
NETWORKS = tuple(NETWORK_NAMES)
CONTRACTS = {
    "permanent": lazy("Permanent"),
    "fixed_term": lazy("Fixed-term"),
    "internship": lazy("Internship"),
    "apprenticeship": lazy("Apprenticeship"),
    "freelance": lazy("Freelance"),
}
REMOTE = {
    "on_site": lazy("On site"),
    "hybrid": lazy("Hybrid"),
    "remote": lazy("Fully remote"),
}
STATUS_NAMES = {
    "draft": lazy("Draft"),
    "scheduled": lazy("Scheduled"),
    "published": lazy("Published"),
    "expired": lazy("Expired"),
    "archived": lazy("Archived"),
}
OFFER_STATUS_NAMES = {
    "draft": lazy("Draft offer"),
    "open": lazy("Open"),
    "closed": lazy("Closed"),
}
TAG = re.compile(r"^[\w-]{1,30}$")


def now() -> datetime:
    return clock_now().replace(microsecond=0)


# ---------------------------------------------------------------- editing


@dataclass
class ItemInput:
    """What the studio's form says, checked: values to write, or errors by field."""

    values: dict[str, Any] = field(default_factory=dict)
    teams: list[int] = field(default_factory=list)
    sites: list[int] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def parse_tags(text: str) -> list[str]:
    tags = []
    for raw in re.split(r"[,\s]+", text or ""):
        tag = raw.strip().lstrip("#").lower()
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def tags_column(tags: list[str]) -> str:
    return f",{','.join(tags)}," if tags else ""


def tags_of(column: str) -> list[str]:
    return [t for t in (column or "").split(",") if t]


def captions_from_form(data: dict[str, Any]) -> dict[str, list[str]]:
    captions: dict[str, list[str]] = {}
    for network in NETWORKS:
        text = str(data.get(f"captions_{network}", "") or "")
        lines = [c.strip() for c in re.split(r"\n\s*\n|\r\n\s*\r\n", text) if c.strip()]
        if lines:
            captions[network] = lines
    return captions


def captions_text(captions_json: str) -> dict[str, str]:
    """Captions per network as the form shows them: one caption per paragraph."""
    captions = load_captions(captions_json)
    return {n: "\n\n".join(captions.get(n, [])) for n in NETWORKS}


def load_captions(captions_json: str) -> dict[str, list[str]]:
    try:
        value = json.loads(captions_json or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


async def check_item(kind: str, data: dict[str, Any]) -> ItemInput:
    """Validate the studio's form for a story or an offer."""
    result = ItemInput()
    errors = result.errors
    get = lambda name: str(data.get(name, "") or "").strip()  # noqa: E731

    title = get("title")
    if not title:
        errors["title"] = _("Give it a title.")
    elif len(title) > 160:
        errors["title"] = _("Keep the title under 160 characters.")
    body = get("body")
    if len(body) > 20_000:
        errors["body"] = _("The text is too long: at most 20,000 characters.")
    language = get("language") or "en"
    if language not in LANGUAGES:
        errors["language"] = _("Choose one of the languages in the list.")
    tags = parse_tags(get("tags"))
    if any(not TAG.match(t) for t in tags) or len(tags) > 10:
        errors["tags"] = _("Use up to 10 tags made of letters, digits and dashes.")
    captions = captions_from_form(data)
    if any(len(c) > 3000 for cs in captions.values() for c in cs):
        errors["captions"] = _("A caption is too long: at most 3,000 characters.")

    teams = parse_ids(data.get("teams"))
    sites = parse_ids(data.get("sites"))
    audience_all = get("audience") != "chosen"
    if not audience_all:
        known_teams = {r["id"] for r in await Team.select(Team.id)}
        known_sites = {r["id"] for r in await Site.select(Site.id)}
        teams = [t for t in teams if t in known_teams]
        sites = [s for s in sites if s in known_sites]
        if not teams and not sites:
            errors["audience"] = _("Choose at least one team or site, or publish for everyone.")
    else:
        teams, sites = [], []

    expires_at = None
    try:
        expires_at = parse_time(get("expires_at"))
    except ValueError:
        errors["expires_at"] = _("Enter a date and time, or leave it empty.")

    video_url = get("video_url")
    if video_url and https_url(video_url) is None:
        errors["video_url"] = _("Enter the https:// address of the video, or leave it empty.")

    values: dict[str, Any] = {
        "kind": kind,
        "title": title,
        "body": body,
        "language": language,
        "tags": tags_column(tags),
        "captions": json.dumps(captions, ensure_ascii=False),
        "image_alt": get("image_alt")[:200],
        "video_url": video_url,
        "audience_all": audience_all,
        "pinned": get("pinned") in {"on", "true", "1"},
        "expires_at": expires_at,
    }
    if kind == Kind.offer:
        site = get("site")
        site_id = parse_id(site)
        if (site and site_id is None) or (
            site_id is not None and not await Site.exists().where(Site.id == site_id)
        ):
            errors["site"] = _("Choose one of the sites in the list.")
        contract = get("contract")
        if contract not in CONTRACTS:
            errors["contract"] = _("Choose the kind of contract.")
        remote = get("remote")
        if remote not in REMOTE:
            errors["remote"] = _("Choose how much remote work the job allows.")
        salary: list[int | None] = []
        for name in ("salary_min", "salary_max"):
            text = get(name).replace(" ", "")
            if not text:
                salary.append(None)
            elif (amount := parse_int(text, max_digits=7)) is not None:
                salary.append(amount)
            else:
                errors["salary"] = _("Enter the salary range as whole numbers, or leave it empty.")
                salary.append(None)
        if salary[0] is not None and salary[1] is not None and salary[0] > salary[1]:
            errors["salary"] = _("The lower bound of the salary is above the upper one.")
        status = get("offer_status") or OfferStatus.draft.value
        if status not in OFFER_STATUS_NAMES:
            errors["offer_status"] = _("Choose the offer's status.")
        apply_url = get("apply_url")
        if apply_url:
            hosts = await allowed_apply_hosts()
            problem = apply_url_problem(apply_url, hosts)
            if problem:
                errors["apply_url"] = problem
        values |= {
            "site": site_id,
            "contract": contract,
            "remote": remote,
            "salary_min": salary[0],
            "salary_max": salary[1],
            "bonus_text": get("bonus_text")[:200],
            "offer_status": status,
            "apply_url": apply_url,
        }
    result.values = values
    result.teams = teams
    result.sites = sites
    return result


async def save_item(
    item_id: int | None, checked: ItemInput, by: int | None, image: str | None = None
) -> int:
    """Create (item_id None) or update an item and its audience, in one transaction."""
    values = dict(checked.values)
    values["updated_at"] = now()
    values["excerpt"] = plain_excerpt(values.get("body", ""), 160)
    if image is not None:
        values["image"] = image
    async with write_transaction():
        if item_id is None:
            rows = await ContentItem.insert(ContentItem(created_by=by, **values)).returning(
                ContentItem.id
            )
            item_id = int(rows[0]["id"])
        else:
            changes: dict[Any, Any] = values
            await ContentItem.update(changes).where(ContentItem.id == item_id)
            await ContentTarget.delete().where(ContentTarget.item == item_id)
        targets = [ContentTarget(item=item_id, team=t) for t in checked.teams]
        targets += [ContentTarget(item=item_id, site=s) for s in checked.sites]
        if targets:
            await ContentTarget.insert(*targets)
    public_pages_changed()
    return item_id


async def item_by_id(item_id: int) -> dict[str, Any] | None:
    return (
        await ContentItem.select(
            *ContentItem.all_columns(), ContentItem.site.name.as_alias("site_name")
        )
        .where(ContentItem.id == item_id)
        .first()
    )


async def targets_of(item_id: int) -> tuple[list[int], list[int]]:
    rows = await ContentTarget.select(ContentTarget.team, ContentTarget.site).where(
        ContentTarget.item == item_id
    )
    return (
        [r["team"] for r in rows if r["team"] is not None],
        [r["site"] for r in rows if r["site"] is not None],
    )


async def publish(item_id: int, at: datetime | None = None) -> None:
    """Publish now (``at`` None) or schedule for ``at``; an offer in draft opens with it."""
    moment = at or now()
    await ContentItem.update(
        {
            ContentItem.publish_at: moment,
            ContentItem.archived_at: None,
            ContentItem.updated_at: now(),
        }
    ).where(ContentItem.id == item_id)
    await ContentItem.update({ContentItem.offer_status: OfferStatus.open.value}).where(
        (ContentItem.id == item_id)
        & (ContentItem.kind == Kind.offer.value)
        & (ContentItem.offer_status == OfferStatus.draft.value)
    )
    public_pages_changed()


async def unpublish(item_id: int) -> None:
    await ContentItem.update({ContentItem.publish_at: None, ContentItem.updated_at: now()}).where(
        ContentItem.id == item_id
    )
    public_pages_changed()


async def archive(item_id: int) -> None:
    await ContentItem.update({ContentItem.archived_at: now(), ContentItem.updated_at: now()}).where(
        ContentItem.id == item_id
    )
    public_pages_changed()


async def set_pinned(item_id: int, pinned: bool) -> None:
    await ContentItem.update({ContentItem.pinned: pinned}).where(ContentItem.id == item_id)


async def set_offer_status(item_id: int, status: OfferStatus) -> None:
    await ContentItem.update({ContentItem.offer_status: status.value}).where(
        (ContentItem.id == item_id) & (ContentItem.kind == Kind.offer.value)
    )
    public_pages_changed()


def status_of(item: dict[str, Any], at: datetime | None = None) -> str:
    moment = at or now()
    if item.get("archived_at"):
        return "archived"
    if item.get("publish_at") is None:
        return "draft"
    if item["publish_at"] > moment:
        return "scheduled"
    if item.get("expires_at") is not None and item["expires_at"] <= moment:
        return "expired"
    return "published"


async def studio_items(
    kind: str | None = None, status: str | None = None, tag: str | None = None
) -> list[dict[str, Any]]:
    """The studio's list, newest first, filtered by kind, status and tag."""
    moment = now()
    query = ContentItem.select(
        ContentItem.id,
        ContentItem.kind,
        ContentItem.title,
        ContentItem.language,
        ContentItem.tags,
        ContentItem.pinned,
        ContentItem.publish_at,
        ContentItem.expires_at,
        ContentItem.archived_at,
        ContentItem.offer_status,
        ContentItem.audience_all,
    ).order_by(ContentItem.id, ascending=False)
    if kind in {k.value for k in Kind}:
        query = query.where(ContentItem.kind == kind)
    if tag and TAG.match(tag):
        query = query.where(ContentItem.tags.like(f"%,{tag},%"))
    if status == "draft":
        query = query.where(ContentItem.publish_at.is_null() & ContentItem.archived_at.is_null())
    elif status == "scheduled":
        query = query.where((ContentItem.publish_at > moment) & ContentItem.archived_at.is_null())
    elif status == "archived":
        query = query.where(ContentItem.archived_at.is_not_null())
    elif status in {"published", "expired"}:
        query = query.where((ContentItem.publish_at <= moment) & ContentItem.archived_at.is_null())
    rows = await query.limit(500)
    for row in rows:
        row["status"] = status_of(row, moment)
        row["tag_list"] = tags_of(row["tags"])
    if status in {"published", "expired"}:
        rows = [r for r in rows if r["status"] == status]
    return rows


_kept_tags: TTLMap[str, list[str]] = TTLMap(ttl_s=30.0, max_size=1)


async def feed_tags() -> list[str]:
    """Tags for the feed's chips; kept 30 seconds per process (shown on every feed page)."""
    tags = _kept_tags.get("tags")
    if tags is None:
        tags = _kept_tags.put("tags", await all_tags())
    return tags


async def all_tags() -> list[str]:
    rows = (
        await ContentItem.select(ContentItem.tags)
        .where(ContentItem.tags != "", ContentItem.archived_at.is_null())
        .distinct()
    )
    return sorted({t for r in rows for t in tags_of(r["tags"])})


# ---------------------------------------------------------------- the feed


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
            (ContentItem.kind == Kind.story.value)
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
       i.offer_status AS offer_status, s.name AS site_name,
       EXISTS (SELECT 1 FROM share sh WHERE sh.member = {} AND sh.item = i.id) AS shared
FROM content_item i
LEFT JOIN site s ON s.id = i.site
WHERE """


async def feed_page(
    member: Member,
    *,
    kind: str | None = None,
    tag: str | None = None,
    search: str | None = None,
    after: str | None = None,
    at: datetime | None = None,
    limit: int = PAGE_SIZE,
) -> FeedPage:
    """What ``member`` may see, pinned first then newest, ``limit`` cards after ``after``.

    Keyset pagination on (pinned, publish_at, id): a card published meanwhile never shifts
    the next page, so no card shows twice.
    """
    moment = at or now()
    # One hand-written query (the hot path): Piccolo's builder cost more than the query itself.
    # Each card says whether this member already shared it.
    where = [
        "i.publish_at <= {}",
        "i.archived_at IS NULL",
        "(i.expires_at IS NULL OR i.expires_at > {})",
        "(i.kind = 'story' OR i.offer_status = 'open')",
    ]
    args: list[Any] = [moment, moment]
    if member.team is not None or member.site is not None:
        where.append(
            "(i.audience_all = {} OR i.id IN "
            "(SELECT t.item FROM content_target t WHERE t.team = {} OR t.site = {}))"
        )
        args += [True, member.team or 0, member.site or 0]
    else:
        where.append("i.audience_all = {}")
        args.append(True)
    if kind in {k.value for k in Kind}:
        where.append("i.kind = {}")
        args.append(kind)
    if tag and TAG.match(tag):
        where.append("i.tags LIKE {}")
        args.append(f"%,{tag.lower()},%")
    if search and search.strip():
        term = search.strip()[:100].replace("%", "").replace("_", " ").lower()
        where.append("LOWER(i.title) LIKE {}")
        args.append(f"%{term}%")
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
    sql = (
        FEED_SQL
        + " AND ".join(where)
        + " ORDER BY i.pinned DESC, i.publish_at DESC, i.id DESC LIMIT {}"
    )
    rows = [dict(r) for r in await ContentItem.raw(sql, member.id, *args, limit + 1)]
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
    member: Member, item_id: int, at: datetime | None = None
) -> dict[str, Any] | None:
    """The item if ``member`` may see it in their feed now."""
    moment = at or now()
    return (
        await ContentItem.select(
            *ContentItem.all_columns(), ContentItem.site.name.as_alias("site_name")
        )
        .where(ContentItem.id == item_id, published_where(moment), await audience_where(member))
        .first()
    )


async def open_offers(limit: int = 6) -> list[dict[str, Any]]:
    """Open offers for everyone: what the public pages suggest."""
    return (
        await ContentItem.select(
            ContentItem.id,
            ContentItem.title,
            ContentItem.contract,
            ContentItem.remote,
            ContentItem.site.name.as_alias("site_name"),
        )
        .where(
            published_where(now()),
            ContentItem.kind == Kind.offer.value,
            ContentItem.audience_all == True,  # noqa: E712
        )
        .order_by(ContentItem.publish_at, ascending=False)
        .limit(limit)
    )


# ---------------------------------------------------------------- member's feed state


async def feed_state(member_id: int) -> dict[str, Any] | None:
    return await FeedState.select().where(FeedState.member == member_id).first()


# A visit that follows another within this window is the same visit (paging, coming back).
SAME_VISIT_S = 30 * 60
VISIT_WRITE_EVERY_S = 60


async def mark_feed_visit(member_id: int, at: datetime | None = None) -> datetime | None:
    """Record a visit to the feed; returns the time of the previous visit ("new since")."""
    moment = at or now()
    state = await feed_state(member_id)
    recent = state is not None and state["seen_at"] is not None
    if recent and 0 <= (moment - state["seen_at"]).total_seconds() < VISIT_WRITE_EVERY_S:  # type: ignore[index]
        # Paging and reloads: the same visit; no write on the hot path.
        return state["previous_seen_at"]  # type: ignore[index]
    async with write_transaction():
        state = await feed_state(member_id)
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


# ---------------------------------------------------------------- guides


def default_guide(network: str, language: str) -> str:
    texts = DEFAULT_GUIDES.get(network) or DEFAULT_GUIDES["linkedin"]
    return texts.get(language) or texts["en"]


async def guide_text(network: str, language: str) -> str:
    row = (
        await ShareGuide.select(ShareGuide.body)
        .where(ShareGuide.key == f"{network}:{language}")
        .first()
    )
    return row["body"] if row and row["body"].strip() else default_guide(network, language)


async def save_guide(network: str, language: str, body: str) -> None:
    key = f"{network}:{language}"
    async with write_transaction():
        if await ShareGuide.exists().where(ShareGuide.key == key):
            await ShareGuide.update({ShareGuide.body: body, ShareGuide.updated_at: now()}).where(
                ShareGuide.key == key
            )
        else:
            await ShareGuide.insert(ShareGuide(key=key, body=body))


# ---------------------------------------------------------------- apply hosts


HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


async def allowed_apply_hosts() -> list[str]:
    return [r["host"] for r in await ApplyHost.select(ApplyHost.host).order_by(ApplyHost.host)]


def parse_hosts(text: str) -> tuple[list[str], list[str]]:
    """(hosts, refused): one host a line or separated by commas or spaces."""
    hosts, refused = [], []
    for raw in re.split(r"[\s,]+", text or ""):
        host = raw.strip().lower().rstrip(".")
        if not host:
            continue
        if "://" in host:
            host = host_of(host)
        if HOST.match(host):
            if host not in hosts:
                hosts.append(host)
        else:
            refused.append(raw)
    return hosts, refused


async def save_apply_hosts(hosts: list[str]) -> None:
    async with write_transaction():
        await ApplyHost.delete(force=True)
        if hosts:
            await ApplyHost.insert(*(ApplyHost(host=h) for h in hosts))


def apply_url_problem(url: str, hosts: list[str]) -> str | None:
    parts = https_url(url)
    if parts is None or not parts.hostname:
        return _("Enter an https:// address.")
    if parts.hostname.lower() not in hosts:
        if not hosts:
            return _(
                "No application site is allowed yet: an admin can add one under Application sites."
            )
        return _("This site is not among those an admin allowed: %(hosts)s.") % {
            "hosts": ", ".join(hosts)
        }
    return None


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
