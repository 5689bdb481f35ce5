"""What each member wants to hear: their switches, quiet hours and time zone.

Plain functions, no HTTP.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from piccolo.columns import Column

from app.core.db import write_transaction
from app.core.forms import FormResult
from app.core.i18n import _, lazy

from .tables import NotificationPreference

KIND_SWITCHES = ("content", "referral", "reward", "campaign", "event")
# Which switch governs each kind of push (summary and re-engagement follow "new content").
SWITCH_OF_KIND = {
    "content": "content",
    "summary": "content",
    "reengage": "content",
    "referral": "referral",
    "voice": "referral",
    "reward": "reward",
    "redemption": "reward",
    "campaign": "campaign",
    "event": "event",
}
DEFAULT_TIME_ZONE = "Europe/Paris"
TIME_OF_DAY = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


# --- Preferences and quiet hours -----------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    content: bool = True
    referral: bool = True
    reward: bool = True
    campaign: bool = True
    event: bool = True  # reminders of the events the member signed up for
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


# The time zone picker's groups: the IANA regions people look under, in this order. Other
# names (legacy aliases such as "US/Eastern", "Etc/GMT+5") stay valid but are not listed.
ZONE_REGIONS = {
    "Europe": lazy("Europe"),
    "America": lazy("Americas"),
    "Africa": lazy("Africa"),
    "Asia": lazy("Asia"),
    "Australia": lazy("Australia"),
    "Pacific": lazy("Pacific"),
    "Atlantic": lazy("Atlantic"),
    "Indian": lazy("Indian Ocean"),
    "Antarctica": lazy("Antarctica"),
}


def zone_label(name: str) -> str:
    """What a person reads for a zone in its region's group: "Buenos Aires (Argentina)"
    for America/Argentina/Buenos_Aires, "Paris" for Europe/Paris."""
    parts = name.replace("_", " ").split("/")[1:] or [name]
    return parts[-1] + (f" ({' / '.join(parts[:-1])})" if len(parts) > 1 else "")


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("_", " ").casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@cache
def _zones_by_region() -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    grouped: dict[str, list[tuple[str, str]]] = {region: [] for region in ZONE_REGIONS}
    for name in time_zones():
        region = name.split("/", 1)[0]
        if region in grouped and "/" in name:
            grouped[region].append((name, zone_label(name)))
    return tuple(
        (region, tuple(sorted(zones, key=lambda z: _folded(z[1]))))
        for region, zones in grouped.items()
    )


def zone_groups(find: str = "") -> list[tuple[str, list[tuple[str, str]]]]:
    """The picker's zones by region, translated region names, as (region, [(zone, label)]);
    only those whose name or city contains ``find`` (case and accents aside) when given:
    the picker's search without JavaScript."""
    needle = _folded(find.strip())
    groups = []
    for region, zones in _zones_by_region():
        kept = [
            z for z in zones if not needle or needle in _folded(z[0]) or needle in _folded(z[1])
        ]
        if kept:
            groups.append((_(ZONE_REGIONS[region]), kept))
    if not needle or needle in "utc":
        groups.append(("UTC", [("UTC", "UTC")]))
    return groups


def _preferences_from_row(row: dict[str, Any] | None) -> Preferences:
    if row is None:
        return Preferences()
    zone = row["time_zone"] if is_time_zone(row["time_zone"]) else DEFAULT_TIME_ZONE
    return Preferences(
        content=row["content"],
        referral=row["referral"],
        reward=row["reward"],
        campaign=row["campaign"],
        event=row["event"],
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


def parse_preferences(data: Mapping[str, Any]) -> FormResult:
    """The Notifications form checked: ``values["preferences"]`` when it is ok."""
    form = FormResult.of(data)
    minutes: dict[str, int] = {}
    for name in ("quiet_start", "quiet_end"):
        match = TIME_OF_DAY.fullmatch(form.raw(name))
        if match is None:
            form.fail(name, _("Give a time of day such as 21:00."))
        else:
            minutes[name] = int(match[1]) * 60 + int(match[2])
    time_zone = form.raw("time_zone")
    if not is_time_zone(time_zone):
        form.fail("time_zone", _("Choose a time zone from the list, such as Europe/Paris."))
    switches = {kind: form.checkbox(kind) for kind in KIND_SWITCHES}
    if form.ok:
        form.values["preferences"] = Preferences(
            **switches,
            quiet_start=minutes["quiet_start"],
            quiet_end=minutes["quiet_end"],
            time_zone=time_zone,
        )
    return form


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
