"""HR campaigns: their audience, the draft's checks, sending them when due, and their results.

Messages are queued with ``push.enqueue``; the engine in ``push/`` sends them.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from app.accounts.tables import Member, Role, Session
from app.content.feed import published_sql, published_where
from app.content.tables import ContentItem
from app.core.cache import TTLMap
from app.core.clock import now as clock_now
from app.core.db import is_postgres, write_transaction
from app.core.forms import FormResult
from app.core.i18n import _
from app.core.search import contains_pattern
from app.core.settings import Settings
from app.core.validation import parse_ids
from app.notifications.devices import BADGE, ICON, message_refusal
from app.notifications.preferences import DEFAULT_TIME_ZONE, is_time_zone
from app.rewards.tables import Reward
from app.sharing.tables import Share
from push import (
    CampaignStats,
    PushMessage,
    PushMessageError,
    campaign_recipients,
    campaign_stats,
    check_message,
    enqueue,
)
from push.tables import PushSubscription

from .tables import Campaign, CampaignState, NotificationOpen, NotificationPreference

# --- Campaigns -----------------------------------------------------------------------------


ACTIVITIES = ("", "active", "inactive")


@dataclass(frozen=True)
class Audience:
    """Who a campaign goes to: everyone, or members matching every filter that is set."""

    team_ids: list[int] = field(default_factory=list)
    site_ids: list[int] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    activity: str = ""  # "active" or "inactive" in the last `days` days, or "" for either
    days: int = 30
    never_shared: bool = False
    # Chosen members (an event's sign-ups, picked by app.events), with words saying who they
    # are; None: no such choice.
    members: list[int] | None = None
    named: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Audience:
        try:
            data = json.loads(text or "{}")
            return cls(**data) if isinstance(data, dict) else cls()
        except (TypeError, ValueError):
            return cls()


async def shares_after_campaign(campaign_id: int, since: datetime, hours: int = 48) -> int:
    """Shares of the campaign's linked item by its recipients in the ``hours`` after ``since``.

    The linked item is the one the campaign's link opens (``/items/{id}``); a campaign that
    links elsewhere has no item, hence no shares to count.
    """
    campaign = await Campaign.select(Campaign.url).where(Campaign.id == campaign_id).first()
    match = re.fullmatch(r"/items/(\d+)", (campaign or {}).get("url", ""))
    if match is None:
        return 0
    return await Share.count().where(
        (Share.item == int(match.group(1)))
        & Share.member.is_in(campaign_recipients(campaign_id))
        & (Share.at >= since)
        & (Share.at < since + timedelta(hours=hours))
    )


def _audience_where(audience: Audience, now: datetime) -> list[Any]:
    """The audience as conditions on the member table, all in SQL: a count of 50,000
    members is one statement, not their ids read into Python and filtered 500 at a time."""
    where: list[Any] = [Member.active.eq(True)]
    if audience.members is not None:
        where.append(Member.id.is_in(audience.members or [0]))
    if audience.team_ids:
        where.append(Member.team.is_in(audience.team_ids))
    if audience.site_ids:
        where.append(Member.site.is_in(audience.site_ids))
    if audience.roles:
        where.append(Member.role.is_in(audience.roles))
    if audience.activity:
        seen = Session.select(Session.member).where(
            Session.last_seen_at >= now - timedelta(days=audience.days),
            Session.member.is_not_null(),
        )
        where.append(
            Member.id.is_in(seen) if audience.activity == "active" else Member.id.not_in(seen)
        )
    if audience.never_shared:
        where.append(Member.id.not_in(Share.select(Share.member).where(Share.member.is_not_null())))
    refused = NotificationPreference.select(NotificationPreference.member).where(
        NotificationPreference.campaign.eq(False), NotificationPreference.member.is_not_null()
    )
    where.append(Member.id.not_in(refused))
    return where


async def audience_member_ids(audience: Audience, now: datetime) -> list[int]:
    """Active members in the audience who have not turned campaign notifications off."""
    rows = await Member.select(Member.id).where(*_audience_where(audience, now))
    return [row["id"] for row in rows]


@dataclass(frozen=True)
class CampaignDraft:
    title: str
    body: str
    url: str
    image: str
    audience: Audience
    scheduled_at: datetime | None  # None: send now

    def message(self, campaign_id: int | None = None) -> PushMessage:
        return PushMessage(
            title=self.title,
            body=self.body,
            url=self.url,
            icon=ICON,
            badge=BADGE,
            image=self.image or None,
            tag=f"campaign-{campaign_id}" if campaign_id else "campaign-preview",
        )


def is_site_path(value: str) -> bool:
    """A path on this site (``/offers/12``), never a URL that leaves it."""
    if not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 500:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:  # "/[" is no path anyone links to
        return False
    return not parts.scheme and not parts.netloc and not any(ch.isspace() for ch in value)


def _ids(values: list[str]) -> list[int]:
    return sorted(parse_ids(values))


def parse_campaign(
    data: dict[str, Any], settings: Settings, now: datetime, time_zone: str
) -> FormResult:
    """The compose form checked: ``values["draft"]`` when it is ok.

    ``data`` maps names to a string, or a list for the audience's multiple choices.
    """

    def many(name: str) -> list[str]:
        value = data.get(name, [])
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]

    form = FormResult.of(data)
    title = form.text(
        "title",
        max_length=120,
        required=_("Give the notification a title."),
        too_long=_("Keep the title under 120 characters."),
    )
    body = form.text("body", max_length=400, too_long=_("Keep the text under 400 characters."))
    url, image = form.raw("url") or "/", form.raw("image")
    if url.startswith(settings.public_url + "/"):
        url = url.removeprefix(settings.public_url)
    if not is_site_path(url):
        form.fail("url", _("Link to a page of Relay, such as /rewards, or choose an item below."))
    if image.startswith(settings.public_url + "/"):
        image = image.removeprefix(settings.public_url)
    if image and not is_site_path(image):
        form.fail("image", _("Use an image from Relay itself, such as /static/…"))
    # The activity's sentence wins over the roles' when both are wrong: both are the audience.
    activity = form.raw("activity")
    if activity not in ACTIVITIES:
        form.fail("audience", _("Choose active, inactive or anyone."))
    roles = [role for role in many("roles") if role]
    if any(role not in {r.value for r in Role} for role in roles):
        form.fail("audience", _("Choose roles from the list."))
    days = form.integer(
        "days",
        low=1,
        high=365,
        max_digits=3,
        optional=True,
        message=_("Give a number of days from 1 to 365."),
    )
    scheduled_at: datetime | None = None
    if form.raw("when") == "later":
        zone = ZoneInfo(time_zone if is_time_zone(time_zone) else DEFAULT_TIME_ZONE)
        scheduled_at = form.datetime(
            "scheduled_at", zone=zone, required=True, message=_("Give a date and time to send it.")
        )
        if scheduled_at is not None and scheduled_at <= now:
            form.fail("scheduled_at", _("Choose a time in the future."))
    if not form.ok:
        return form
    draft = CampaignDraft(
        title=title,
        body=body,
        url=url,
        image=image,
        audience=Audience(
            team_ids=_ids(many("teams")),
            site_ids=_ids(many("sites")),
            roles=roles,
            activity=activity,
            days=days or 30,
            never_shared=form.checkbox("never_shared"),
        ),
        scheduled_at=scheduled_at,
    )
    try:
        check_message(draft.message(10**9), kind="campaign", topic=None, urgency="normal", ttl=0)
    except PushMessageError as exc:
        form.fail("body", message_refusal(exc))
        return form
    form.values["draft"] = draft
    return form


def audience_of(data: dict[str, Any]) -> Audience:
    """The audience part of the compose form as it stands, what cannot be read left out:
    for the reach shown while the editor chooses (the form's checks come on sending)."""

    def many(name: str) -> list[str]:
        value = data.get(name, [])
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]

    days = str(data.get("days") or "")
    activity = str(data.get("activity") or "")
    return Audience(
        team_ids=_ids(many("teams")),
        site_ids=_ids(many("sites")),
        roles=[role for role in many("roles") if role in {r.value for r in Role}],
        activity=activity if activity in ACTIVITIES else "",
        days=int(days)
        if len(days) <= 3 and days.isascii() and days.isdigit() and int(days) >= 1
        else 30,
        never_shared=data.get("never_shared") == "on",
    )


@dataclass(frozen=True)
class Reach:
    """Whom a campaign would reach if sent now: members in its audience who accept campaigns,
    those of them with a device with notifications on, and those devices."""

    members: int
    members_with_devices: int
    devices: int


async def audience_reach(audience: Audience, now: datetime) -> Reach:
    """How many members the audience holds, how many of them have a device that would get
    the campaign, and how many devices (every active one), counted in SQL (the compose
    form shows it on every view of the campaigns page)."""
    where = _audience_where(audience, now)
    active = PushSubscription.select(PushSubscription.member).where(
        PushSubscription.active.eq(True), PushSubscription.member.is_not_null()
    )
    members = await Member.count().where(*where)
    with_devices = await Member.count().where(*where, Member.id.is_in(active)) if members else 0
    devices = (
        await PushSubscription.count().where(
            PushSubscription.active.eq(True),
            PushSubscription.member.is_in(Member.select(Member.id).where(*where)),
        )
        if with_devices
        else 0
    )
    return Reach(members, with_devices, devices)


class KeptReach:
    """Each audience's reach kept a minute per process (``ttl_s``): the campaigns page shows
    the compose form's reach on every view, and counting 50,000 members is a scan (12 ms of
    CPU on SQLite, several times that on PostgreSQL). A member, device or preference changed
    meanwhile shows in the figure within the minute; sending counts afresh."""

    def __init__(self, ttl_s: float = 60.0) -> None:
        self._kept: TTLMap[str, Reach] = TTLMap(ttl_s, max_size=256)

    async def of(self, audience: Audience, at: datetime) -> Reach:
        key = audience.to_json()
        kept = self._kept.get(key)
        if kept is None:
            kept = self._kept.put(key, await audience_reach(audience, at))
        return kept


# Relay's pages a campaign may open whose address has a number: what must exist behind it.
ITEM_PAGES = {"/items/{item_id}", "/items/{item_id}/share", "/items/{item_id}/recommend"}
REWARD_PAGES = {"/rewards/{reward_id}", "/rewards/{reward_id}/redeem"}


async def link_problem(path: str, route: tuple[str, dict[str, Any]] | None) -> str | None:
    """Why a campaign may not link to ``path`` (None: it may). ``route`` is the path's GET
    route in the app (its template and parameters), None when no page answers there. A
    page without parameters exists for everyone; an item or a reward must be published."""
    if route is None:
        return _(
            "No page of Relay is at %(path)s: choose an item below, or a page such as /rewards."
        ) % {"path": path}
    template, params = route
    if not params:
        return None
    if template in ITEM_PAGES:
        if not await is_published_item(int(params["item_id"])):  # an id out of range: False
            return _("%(path)s is not a published item: members would find nothing there.") % {
                "path": path
            }
        return None
    if template in REWARD_PAGES:
        reward_id = int(params["reward_id"])
        if not 0 < reward_id < 2**31 or not await Reward.exists().where(
            Reward.id == reward_id, Reward.active.eq(True)
        ):
            return _("%(path)s is not an available reward.") % {"path": path}
        return None
    return _("Members cannot open %(path)s: choose an item below, or a page such as /rewards.") % {
        "path": path
    }


async def is_published_item(item_id: int) -> bool:
    if not 0 < item_id < 2**31:  # no such id, and more than PostgreSQL's integer holds
        return False
    return await ContentItem.exists().where(ContentItem.id == item_id, published_where(clock_now()))


async def link_choices(search: str, limit: int = 8) -> list[dict[str, Any]]:
    """Published items to link a campaign to, newest first, matching ``search`` if given."""
    # Written out, as recent_campaigns(): the campaigns page reads both on every view.
    where, args = published_sql(clock_now())
    pattern = contains_pattern(search)
    if pattern:
        where.append("i.search_text LIKE {}")  # folded: app.core.search
        args.append(pattern)
    rows = await ContentItem.raw(
        "SELECT i.id, i.kind, i.title FROM content_item i WHERE "  # noqa: S608 (placeholders only)
        + " AND ".join(where)
        + " ORDER BY i.publish_at DESC LIMIT {}",
        *args,
        limit,
    )
    return [dict(row) for row in rows]


async def send_campaign_test(draft: CampaignDraft, member_id: int, now: datetime) -> int:
    """The campaign as it will look, to the editor's own devices only."""
    return await enqueue(draft.message(), kind="test", member_ids=[member_id], now=now)


async def create_campaign(draft: CampaignDraft, author_id: int, now: datetime) -> int:
    """Write the campaign; sent at once (deliveries in the same transaction) unless scheduled."""
    async with write_transaction():
        rows = await Campaign.insert(
            Campaign(
                title=draft.title,
                body=draft.body,
                url=draft.url,
                image=draft.image,
                audience=draft.audience.to_json(),
                state=CampaignState.scheduled.value,
                scheduled_at=draft.scheduled_at or now,
                created_by=author_id,
                created_at=now,
            )
        ).returning(Campaign.id)
        campaign_id = int(rows[0]["id"])
        if draft.scheduled_at is None:
            await _send_campaign(campaign_id, now)
    return campaign_id


async def _send_campaign(campaign_id: int, now: datetime) -> bool:
    """Mark a scheduled campaign sent and queue its deliveries, in the caller's transaction.

    The state changes only from ``scheduled``: whichever process gets there first sends it,
    the others find nothing to do.
    """
    claimed = await (
        Campaign.update({Campaign.state: CampaignState.sent.value, Campaign.sent_at: now})
        .where(Campaign.id == campaign_id, Campaign.state == CampaignState.scheduled.value)
        .returning(Campaign.id)
    )
    if not claimed:
        return False
    campaign = await Campaign.select().where(Campaign.id == campaign_id).first()
    assert campaign is not None
    draft = CampaignDraft(
        title=campaign["title"],
        body=campaign["body"],
        url=campaign["url"],
        image=campaign["image"],
        audience=Audience.from_json(campaign["audience"]),
        scheduled_at=None,
    )
    member_ids = await audience_member_ids(draft.audience, now)
    await Campaign.update({Campaign.members_targeted: len(member_ids)}).where(
        Campaign.id == campaign_id
    )
    if member_ids:
        await enqueue(
            draft.message(campaign_id),
            kind="campaign",
            member_ids=member_ids,
            campaign_id=campaign_id,
            now=now,
        )
    return True


async def send_due_campaigns(now: datetime) -> int:
    """Send every scheduled campaign whose time has come; returns how many."""
    due = await Campaign.select(Campaign.id).where(
        Campaign.state == CampaignState.scheduled.value, Campaign.scheduled_at <= now
    )
    sent = 0
    for row in due:
        async with write_transaction():
            sent += await _send_campaign(row["id"], now)
    return sent


async def cancel_campaign(campaign_id: int) -> bool:
    """Cancel a campaign that has not gone out yet; False when it already has."""
    rows = await (
        Campaign.update({Campaign.state: CampaignState.cancelled.value})
        .where(Campaign.id == campaign_id, Campaign.state == CampaignState.scheduled.value)
        .returning(Campaign.id)
    )
    return bool(rows)


@dataclass(frozen=True)
class CampaignReport:
    campaign: dict[str, Any]
    audience: Audience
    members: int
    stats: CampaignStats
    opened: int
    shares: int


async def campaign_report(campaign_id: int) -> CampaignReport | None:
    campaign = await Campaign.select().where(Campaign.id == campaign_id).first()
    if campaign is None:
        return None
    opened = await NotificationOpen.count().where(NotificationOpen.campaign == campaign_id)
    shares = 0
    if campaign["sent_at"] is not None:
        shares = await shares_after_campaign(campaign_id, campaign["sent_at"])
    return CampaignReport(
        campaign=campaign,
        audience=Audience.from_json(campaign["audience"]),
        members=campaign["members_targeted"],
        stats=await campaign_stats(campaign_id),
        opened=opened,
        shares=shares,
    )


CAMPAIGNS_PAGE = 50


async def recent_campaigns(
    before: int | None = None, limit: int = CAMPAIGNS_PAGE
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of the campaigns older than ``before`` (ids are never reused: newest first),
    and the next page's ``before`` (None on the last page)."""
    # Written out: Piccolo's builder cost more than the query.
    older = "WHERE id < {} " if before is not None else ""
    rows = await Campaign.raw(
        "SELECT id, title, state, scheduled_at, sent_at, members_targeted FROM campaign "  # noqa: S608 (placeholders only)
        + older
        + "ORDER BY id DESC LIMIT {}",
        *([before] if before is not None else []),
        limit + 1,
    )
    rows = [dict(row) for row in rows]
    return rows[:limit], (rows[limit - 1]["id"] if len(rows) > limit else None)


async def single_runner_lock(name: str) -> bool:
    """Inside a transaction: True for the one process that may run job ``name`` now.

    PostgreSQL: a transaction-level advisory lock, free at commit; SQLite's write transaction
    already lets one writer in at a time.
    """
    if not is_postgres():
        return True
    key = sum(ord(ch) * 31**i for i, ch in enumerate(name)) % (2**31)
    rows = await Campaign.raw("SELECT pg_try_advisory_xact_lock({}) AS ok", key)
    return bool(rows[0]["ok"])
