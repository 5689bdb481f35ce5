"""Notifications: who opted in where, what they want to hear, HR campaigns and their results.

Plain functions, no HTTP. Push itself (encryption, sending, retries) is the engine in
``push/``: everything here queues messages through ``push.outbox.enqueue``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta
from functools import cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

from piccolo.columns import Column

from app.accounts.tables import Member, Role, Session
from app.core.db import is_postgres, write_transaction
from app.core.i18n import _
from app.core.settings import Settings
from app.sharing.tables import Share
from app.web.devices import device_name
from push.addresses import Refusal, endpoint_refusal
from push.outbox import (
    CampaignStats,
    PushMessage,
    PushMessageError,
    campaign_stats,
    check_message,
    enqueue,
)
from push.subscriptions import DeviceOfAnotherMember, SubscriptionError, save_subscription
from push.tables import PushDelivery, PushSubscription

from .tables import Campaign, CampaignState, NotificationOpen, NotificationPreference

KIND_SWITCHES = ("content", "referral", "reward", "campaign")
# Which switch governs each kind of push (summary and re-engagement follow "new content").
SWITCH_OF_KIND = {
    "content": "content",
    "summary": "content",
    "reengage": "content",
    "referral": "referral",
    "reward": "reward",
    "redemption": "reward",
    "campaign": "campaign",
}
DEFAULT_TIME_ZONE = "Europe/Paris"
ICON = "/static/icons/icon-192.png"
BADGE = "/static/icons/icon-64.png"
DELIVERY_KEY = re.compile(r"[0-9a-f]{32}")
TIME_OF_DAY = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


# --- Preferences and quiet hours -----------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    content: bool = True
    referral: bool = True
    reward: bool = True
    campaign: bool = True
    quiet_start: int = 21 * 60
    quiet_end: int = 8 * 60
    time_zone: str = DEFAULT_TIME_ZONE

    def wants(self, kind: str) -> bool:
        switch = SWITCH_OF_KIND.get(kind)
        return True if switch is None else bool(getattr(self, switch))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @staticmethod
    def clock_text(minutes: int) -> str:
        return f"{minutes // 60:02d}:{minutes % 60:02d}"


@cache
def time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(name: str) -> bool:
    return name in time_zones()


def _preferences_from_row(row: dict[str, Any] | None) -> Preferences:
    if row is None:
        return Preferences()
    zone = row["time_zone"] if is_time_zone(row["time_zone"]) else DEFAULT_TIME_ZONE
    return Preferences(
        content=row["content"],
        referral=row["referral"],
        reward=row["reward"],
        campaign=row["campaign"],
        quiet_start=row["quiet_start"],
        quiet_end=row["quiet_end"],
        time_zone=zone,
    )


async def preferences_of(member_id: int) -> Preferences:
    row = (
        await NotificationPreference.select()
        .where(NotificationPreference.member == member_id)
        .first()
    )
    return _preferences_from_row(row)


async def preferences_stored(member_id: int) -> bool:
    """Whether the member (or their browser) has set preferences yet."""
    return await NotificationPreference.exists().where(NotificationPreference.member == member_id)


async def preferences_of_members(member_ids: list[int]) -> dict[int, Preferences]:
    """Everyone's preferences at once (members without a row get the defaults)."""
    found: dict[int, Preferences] = {}
    for start in range(0, len(member_ids), 500):
        rows = await NotificationPreference.select().where(
            NotificationPreference.member.is_in(member_ids[start : start + 500])
        )
        found |= {row["member"]: _preferences_from_row(row) for row in rows}
    return {member_id: found.get(member_id, Preferences()) for member_id in member_ids}


async def save_preferences(member_id: int, preferences: Preferences, now: datetime) -> None:
    fields: dict[str, Any] = {**asdict(preferences), "updated_at": now}
    values: dict[Column | str, Any] = {key: value for key, value in fields.items()}
    async with write_transaction():
        updated = await (
            NotificationPreference.update(values)
            .where(NotificationPreference.member == member_id)
            .returning(NotificationPreference.id)
        )
        if not updated:
            await NotificationPreference.insert(NotificationPreference(member=member_id, **fields))


def parse_preferences(form: dict[str, str]) -> tuple[Preferences | None, dict[str, str]]:
    """The Notifications form as preferences, or the errors to show next to each field."""
    errors: dict[str, str] = {}
    minutes: dict[str, int] = {}
    for name in ("quiet_start", "quiet_end"):
        match = TIME_OF_DAY.fullmatch(form.get(name, "").strip())
        if match is None:
            errors[name] = _("Give a time of day such as 21:00.")
        else:
            minutes[name] = int(match[1]) * 60 + int(match[2])
    time_zone = form.get("time_zone", "").strip()
    if not is_time_zone(time_zone):
        errors["time_zone"] = _("Choose a time zone from the list, such as Europe/Paris.")
    if errors:
        return None, errors
    return (
        Preferences(
            **{kind: form.get(kind) == "on" for kind in KIND_SWITCHES},
            quiet_start=minutes["quiet_start"],
            quiet_end=minutes["quiet_end"],
            time_zone=time_zone,
        ),
        {},
    )


async def remember_time_zone(member_id: int, time_zone: str, now: datetime) -> None:
    """The zone the browser reported, kept only while the member has not chosen one."""
    if not is_time_zone(time_zone):
        return
    async with write_transaction():
        exists = (
            await NotificationPreference.select(NotificationPreference.id)
            .where(NotificationPreference.member == member_id)
            .first()
        )
        if exists is None:
            await NotificationPreference.insert(
                NotificationPreference(member=member_id, time_zone=time_zone, updated_at=now)
            )


def quiet_until(preferences: Preferences, now: datetime) -> datetime | None:
    """When the member's quiet hours end if ``now`` falls inside them, else None."""
    start, end = preferences.quiet_start, preferences.quiet_end
    if start == end:
        return None
    local = now.astimezone(preferences.zone)
    minute = local.hour * 60 + local.minute
    quiet = start <= minute < end if start < end else (minute >= start or minute < end)
    if not quiet:
        return None
    end_day = local.date() if minute < end else local.date() + timedelta(days=1)
    wall = datetime.combine(end_day, time(end // 60, end % 60))
    return wall.replace(tzinfo=preferences.zone).astimezone(now.tzinfo)


# --- Devices -------------------------------------------------------------------------------


def check_push_endpoint(endpoint: str, settings: Settings) -> None:
    """Refuse push addresses Relay must not post to (the rules are ``push.addresses``'):
    https to a public host name on port 443, or a host of ``PUSH_ALLOWED_TEST_HOSTS``.

    Names are not resolved here: a DNS answer at subscription time proves nothing later, so
    the sender checks the address it connects to every time.
    """
    refusal = endpoint_refusal(endpoint, settings.push_allowed_test_hosts)
    if refusal is Refusal.malformed:
        raise SubscriptionError(_("This browser gave an unusable push address."))
    if refusal is not None:
        raise SubscriptionError(_("This browser gave a push address Relay cannot send to."))


class DeviceTaken(SubscriptionError):
    """The device receives another member's notifications and was not subscribed afresh."""


async def _save(member_id: int, endpoint: str, p256dh: str, auth: str, name: str) -> int:
    try:
        return await save_subscription(member_id, endpoint, p256dh, auth, name)
    except DeviceOfAnotherMember as exc:
        raise DeviceTaken(
            _(
                "This device already receives another member's notifications. To receive "
                "yours here instead, reset notifications for this site in the browser's "
                "settings, then turn them on again."
            )
        ) from exc


async def opt_in(
    member_id: int,
    settings: Settings,
    endpoint: str,
    p256dh: str,
    auth: str,
    user_agent: str,
) -> int:
    """Save this device's subscription after checking its address; returns its id.

    Raises :class:`DeviceTaken` for another member's device sent with its old keys.
    """
    check_push_endpoint(endpoint, settings)
    return await _save(member_id, endpoint, p256dh, auth, device_name(user_agent))


async def replace_subscription(
    member_id: int,
    settings: Settings,
    old_endpoint: str,
    endpoint: str,
    p256dh: str,
    auth: str,
    user_agent: str,
) -> int | None:
    """The browser renewed its subscription (``pushsubscriptionchange``): move to the new one.

    Only a device this member already had can be renewed this way; the old one is turned off.
    """
    check_push_endpoint(endpoint, settings)
    old = (
        await PushSubscription.select(PushSubscription.id, PushSubscription.device_name)
        .where(PushSubscription.endpoint == old_endpoint, PushSubscription.member == member_id)
        .first()
    )
    if old is None:
        return None
    async with write_transaction():
        if old_endpoint != endpoint:
            await PushSubscription.update({PushSubscription.active: False}).where(
                PushSubscription.id == old["id"]
            )
        name = old["device_name"] or device_name(user_agent)
        return await _save(member_id, endpoint, p256dh, auth, name)


@dataclass(frozen=True)
class Device:
    id: int
    name: str
    active: bool
    created_at: datetime
    last_ok_at: datetime | None


async def devices_of(member_id: int) -> list[Device]:
    rows = (
        await PushSubscription.select(
            PushSubscription.id,
            PushSubscription.device_name,
            PushSubscription.active,
            PushSubscription.created_at,
            PushSubscription.last_ok_at,
        )
        .where(PushSubscription.member == member_id)
        .order_by(PushSubscription.created_at, ascending=False)
    )
    return [
        Device(r["id"], r["device_name"], r["active"], r["created_at"], r["last_ok_at"])
        for r in rows
    ]


async def set_device_active(member_id: int, subscription_id: int, active: bool) -> bool:
    """Turn one of this member's devices on or off; False when it is not theirs."""
    rows = await (
        PushSubscription.update({PushSubscription.active: active})
        .where(PushSubscription.id == subscription_id, PushSubscription.member == member_id)
        .returning(PushSubscription.id)
    )
    return bool(rows)


async def send_test(member_id: int, now: datetime) -> int:
    """A test notification to every active device of the member; returns how many."""
    message = PushMessage(
        title=_("Notifications work"),
        body=_("This is how Relay will tell you about new offers and your rewards."),
        url="/notifications",
        icon=ICON,
        badge=BADGE,
        tag="relay-test",
    )
    return await enqueue(message, kind="test", member_ids=[member_id], urgency="high", now=now)


async def record_open(delivery_key: str, now: datetime) -> bool:
    """Count a tapped notification once; ``delivery_key`` is the ``id`` of its payload.

    The key is looked up in the outbox, so only real deliveries are counted, and the campaign
    it belongs to is taken from there, never from the browser.
    """
    if not DELIVERY_KEY.fullmatch(delivery_key):
        return False
    delivery = (
        await PushDelivery.select(PushDelivery.campaign, PushDelivery.kind)
        .where(PushDelivery.key == delivery_key)
        .first()
    )
    if delivery is None:
        return False
    rows = await (
        NotificationOpen.insert(
            NotificationOpen(
                delivery_key=delivery_key,
                campaign=delivery["campaign"],
                kind=delivery["kind"],
                opened_at=now,
            )
        )
        .on_conflict(target=NotificationOpen.delivery_key, action="DO NOTHING")
        .returning(NotificationOpen.id)
    )
    return bool(rows)


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

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Audience:
        try:
            data = json.loads(text or "{}")
            return cls(**data) if isinstance(data, dict) else cls()
        except (TypeError, ValueError):
            return cls()


async def members_who_shared(member_ids: list[int]) -> set[int]:
    """Those of ``member_ids`` who have ever shared something."""

    if not member_ids:
        return set()
    rows = await Share.select(Share.member).where(Share.member.is_in(member_ids)).distinct()
    return {row["member"] for row in rows}


async def shares_after_campaign(campaign_id: int, since: datetime, hours: int = 48) -> int:
    """Shares of the campaign's linked item by its recipients in the ``hours`` after ``since``.

    The linked item is the one the campaign's link opens (``/items/{id}``); a campaign that
    links elsewhere has no item, hence no shares to count.
    """

    campaign = await Campaign.select(Campaign.url).where(Campaign.id == campaign_id).first()
    match = re.fullmatch(r"/items/(\d+)", (campaign or {}).get("url", ""))
    if match is None:
        return 0
    recipients = PushDelivery.select(PushDelivery.subscription.member).where(
        PushDelivery.campaign == campaign_id
    )
    return await Share.count().where(
        (Share.item == int(match.group(1)))
        & Share.member.is_in(recipients)
        & (Share.at >= since)
        & (Share.at < since + timedelta(hours=hours))
    )


async def audience_member_ids(audience: Audience, now: datetime) -> list[int]:
    """Active members in the audience who have not turned campaign notifications off."""
    query = Member.select(Member.id).where(Member.active.eq(True))
    if audience.team_ids:
        query = query.where(Member.team.is_in(audience.team_ids))
    if audience.site_ids:
        query = query.where(Member.site.is_in(audience.site_ids))
    if audience.roles:
        query = query.where(Member.role.is_in(audience.roles))
    ids = [row["id"] for row in await query]
    if audience.activity and ids:
        since = now - timedelta(days=audience.days)
        rows = await Session.select(Session.member).where(Session.last_seen_at >= since)
        seen = {row["member"] for row in rows}
        keep_seen = audience.activity == "active"
        ids = [member_id for member_id in ids if (member_id in seen) == keep_seen]
    if audience.never_shared and ids:
        shared = await members_who_shared(ids)
        ids = [member_id for member_id in ids if member_id not in shared]
    if not ids:
        return []
    refused = set()
    for start in range(0, len(ids), 500):
        rows = await NotificationPreference.select(NotificationPreference.member).where(
            NotificationPreference.member.is_in(ids[start : start + 500]),
            NotificationPreference.campaign.eq(False),
        )
        refused |= {row["member"] for row in rows}
    return [member_id for member_id in ids if member_id not in refused]


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
    parts = urlsplit(value)
    return (
        value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
        and not parts.scheme
        and not parts.netloc
        and not any(ch.isspace() for ch in value)
        and len(value) <= 500
    )


def _ids(values: list[str]) -> list[int]:
    return sorted({int(v) for v in values if v.isdigit() and len(v) < 10})


def parse_campaign(
    form: dict[str, Any], settings: Settings, now: datetime, time_zone: str
) -> tuple[CampaignDraft | None, dict[str, str]]:
    """The compose form as a draft, or the errors to show next to each field.

    ``form`` maps names to a string, or a list for the audience's multiple choices.
    """

    def one(name: str) -> str:
        value = form.get(name, "")
        return (value[0] if value else "") if isinstance(value, list) else str(value)

    def many(name: str) -> list[str]:
        value = form.get(name, [])
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]

    errors: dict[str, str] = {}
    title, body = one("title").strip(), one("body").strip()
    url, image = one("url").strip() or "/", one("image").strip()
    if not title:
        errors["title"] = _("Give the notification a title.")
    elif len(title) > 120:
        errors["title"] = _("Keep the title under 120 characters.")
    if len(body) > 400:
        errors["body"] = _("Keep the text under 400 characters.")
    if url.startswith(settings.public_url + "/"):
        url = url.removeprefix(settings.public_url)
    if not is_site_path(url):
        errors["url"] = _("Link to a page of Relay, such as /offers/12.")
    if image.startswith(settings.public_url + "/"):
        image = image.removeprefix(settings.public_url)
    if image and not is_site_path(image):
        errors["image"] = _("Use an image from Relay itself, such as /static/…")
    roles = [role for role in many("roles") if role]
    if any(role not in {r.value for r in Role} for role in roles):
        errors["audience"] = _("Choose roles from the list.")
    activity = one("activity")
    if activity not in ACTIVITIES:
        errors["audience"] = _("Choose active, inactive or anyone.")
    days_text = one("days").strip() or "30"
    if not days_text.isdigit() or not 1 <= int(days_text) <= 365:
        errors["days"] = _("Give a number of days from 1 to 365.")
    scheduled_at: datetime | None = None
    if one("when") == "later":
        try:
            local = datetime.fromisoformat(one("scheduled_at").strip())
            zone = ZoneInfo(time_zone if is_time_zone(time_zone) else DEFAULT_TIME_ZONE)
            scheduled_at = (local if local.tzinfo else local.replace(tzinfo=zone)).astimezone(
                now.tzinfo
            )
            if scheduled_at <= now:
                errors["scheduled_at"] = _("Choose a time in the future.")
        except ValueError:
            errors["scheduled_at"] = _("Give a date and time to send it.")
    if errors:
        return None, errors
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
            days=int(days_text),
            never_shared=one("never_shared") == "on",
        ),
        scheduled_at=scheduled_at,
    )
    try:
        check_message(draft.message(10**9), kind="campaign", topic=None, urgency="normal", ttl=0)
    except PushMessageError as exc:
        errors["body"] = str(exc)
        return None, errors
    return draft, {}


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


async def recent_campaigns(limit: int = 50) -> list[dict[str, Any]]:
    return (
        await Campaign.select(
            Campaign.id,
            Campaign.title,
            Campaign.state,
            Campaign.scheduled_at,
            Campaign.sent_at,
            Campaign.members_targeted,
        )
        .order_by(Campaign.created_at, ascending=False)
        .limit(limit)
    )


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
