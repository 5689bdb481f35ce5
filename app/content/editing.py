"""Stories and offers as the studio writes them: checking a form, saving, publishing, archiving.

Plain functions, no HTTP. Times come in as ``now`` where they matter, so a schedule can be
tested without waiting.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from app.content.apply_hosts import allowed_apply_hosts, apply_url_problem
from app.content.markdown import plain_excerpt
from app.content.tables import (
    ContentItem,
    ContentTarget,
    Kind,
    OfferStatus,
)
from app.core import events
from app.core.clock import now as clock_now
from app.core.db import write_transaction
from app.core.forms import FormResult
from app.core.i18n import LANGUAGES, _, lazy
from app.core.search import folded
from app.core.validation import parse_id, parse_ids, parse_int
from app.org.tables import Site, Team
from app.web.pagecache import public_pages_changed

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


@dataclass(frozen=True)
class ItemWithdrawn:
    """An item left the feeds (unpublished or archived): what later domains made from it
    (the images made for sharing it, under ``data_dir``) goes too."""

    item_id: int
    data_dir: Path


@dataclass(frozen=True)
class OfferPublishing:
    """An offer is about to be published (or its studio page shown): later domains add to
    ``refusals`` the sentences saying why it may not be yet (no privacy notice for the
    candidates who will apply)."""

    item_id: int
    refusals: list[str]


async def publish_refusals(item: dict[str, Any]) -> list[str]:
    """Why this item may not be published yet, in sentences; none for a story."""
    if item.get("kind") != Kind.offer.value:
        return []
    asked = OfferPublishing(int(item["id"]), [])
    await events.publish(asked)
    return asked.refusals


def now() -> datetime:
    return clock_now().replace(microsecond=0)


# ---------------------------------------------------------------- editing


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


async def check_item(kind: str, data: dict[str, Any], zone: tzinfo = UTC) -> FormResult:
    """Validate the studio's form for a story or an offer: ``values`` are the item's columns,
    with ``teams`` and ``sites`` for its audience. Times are typed in the editor's ``zone``
    and kept in UTC."""
    form = FormResult.of(data)
    title = form.text(
        "title",
        max_length=160,
        required=_("Give it a title."),
        too_long=_("Keep the title under 160 characters."),
    )
    body = form.text(
        "body", max_length=20_000, too_long=_("The text is too long: at most 20,000 characters.")
    )
    language = form.choice(
        "language",
        LANGUAGES,
        default="en",
        message=_("Choose one of the languages in the list."),
    )
    tags = parse_tags(form.raw("tags"))
    if any(not TAG.match(t) for t in tags) or len(tags) > 10:
        form.fail("tags", _("Use up to 10 tags made of letters, digits and dashes."))
    captions = captions_from_form(data)
    if any(len(c) > 3000 for cs in captions.values() for c in cs):
        form.fail("captions", _("A caption is too long: at most 3,000 characters."))

    teams = parse_ids(data.get("teams"))
    sites = parse_ids(data.get("sites"))
    audience_all = form.raw("audience") != "chosen"
    if not audience_all:
        known_teams = {r["id"] for r in await Team.select(Team.id)}
        known_sites = {r["id"] for r in await Site.select(Site.id)}
        teams = [t for t in teams if t in known_teams]
        sites = [s for s in sites if s in known_sites]
        if not teams and not sites:
            form.fail("audience", _("Choose at least one team or site, or publish for everyone."))
    else:
        teams, sites = [], []

    expires_at = form.datetime(
        "expires_at", zone=zone, message=_("Enter a date and time, or leave it empty.")
    )
    video_url = form.url(
        "video_url",
        message=_("Enter the https:// address of the video, or leave it empty."),
    )

    values: dict[str, Any] = {
        "kind": kind,
        "title": title,
        "body": body,
        "language": language,
        "tags": tags_column(tags),
        "captions": json.dumps(captions, ensure_ascii=False),
        "image_alt": form.raw("image_alt")[:200],
        "video_url": video_url,
        "audience_all": audience_all,
        "pinned": form.raw("pinned") in {"on", "true", "1"},
        "expires_at": expires_at,
        "remove_video": form.raw("remove_video") == "on",
    }
    if kind == Kind.offer:
        site = form.raw("site")
        site_id = parse_id(site)
        if (site and site_id is None) or (
            site_id is not None and not await Site.exists().where(Site.id == site_id)
        ):
            form.fail("site", _("Choose one of the sites in the list."))
        contract = form.choice("contract", CONTRACTS, message=_("Choose the kind of contract."))
        remote = form.choice(
            "remote", REMOTE, message=_("Choose how much remote work the job allows.")
        )
        salary: list[int | None] = []
        for name in ("salary_min", "salary_max"):
            amount = parse_int(form.raw(name), max_digits=7, grouping=" ")
            if form.raw(name) and amount is None:
                form.fail(
                    "salary", _("Enter the salary range as whole numbers, or leave it empty.")
                )
                amount = None
            salary.append(amount)
        if salary[0] is not None and salary[1] is not None and salary[0] > salary[1]:
            form.fail("salary", _("The lower bound of the salary is above the upper one."))
        status = form.choice(
            "offer_status",
            OFFER_STATUS_NAMES,
            default=OfferStatus.draft.value,
            message=_("Choose the offer's status."),
        )
        apply_url = form.raw("apply_url")
        if apply_url:
            hosts = await allowed_apply_hosts()
            problem = apply_url_problem(apply_url, hosts)
            if problem:
                form.fail("apply_url", problem)
        values |= {
            "site": site_id,
            "contract": contract,
            "remote": remote,
            "salary_min": salary[0],
            "salary_max": salary[1],
            "bonus_text": form.raw("bonus_text")[:200],
            "offer_status": status,
            "apply_url": apply_url,
        }
    form.values = {**values, "teams": teams, "sites": sites}
    return form


async def save_item(
    item_id: int | None,
    checked: FormResult,
    by: int | None,
    image: str | None = None,
    video: str | None = None,
) -> int:
    """Create (item_id None) or update an item and its audience (``teams`` and ``sites``
    among the values), in one transaction. ``image`` and ``video`` are new uploads' names
    (None keeps the item's); a ``remove_video`` value of True takes its video off."""
    values = dict(checked.values)
    teams, sites = values.pop("teams", []), values.pop("sites", [])
    values["updated_at"] = now()
    values["excerpt"] = plain_excerpt(values.get("body", ""), 160)
    if "title" in values:
        values["search_text"] = folded(values["title"])  # ContentItem(…) does it on insert
    if image is not None:
        values["image"] = image
    if values.pop("remove_video", False):
        values["video"] = None
    if video is not None:
        values["video"] = video
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
        targets = [ContentTarget(item=item_id, team=t) for t in teams]
        targets += [ContentTarget(item=item_id, site=s) for s in sites]
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


STUDIO_PAGE = 50


async def studio_items(
    kind: str | None = None,
    status: str | None = None,
    tag: str | None = None,
    before: int | None = None,
    limit: int = STUDIO_PAGE,
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of the studio's list, newest first, filtered by kind, status and tag, of the
    items older than ``before``; and the next page's ``before`` (None on the last page)."""
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
    else:  # events are edited with their sign-ups, under Studio, Events (app.events)
        query = query.where(ContentItem.kind != Kind.event.value)
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
        if status == "published":
            query = query.where(
                ContentItem.expires_at.is_null() | (ContentItem.expires_at > moment)
            )
        else:
            query = query.where(ContentItem.expires_at <= moment)
    if before is not None:
        query = query.where(ContentItem.id < before)
    rows = await query.limit(limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    for row in rows:
        row["status"] = status_of(row, moment)
        row["tag_list"] = tags_of(row["tags"])
    return rows, (rows[-1]["id"] if more else None)
