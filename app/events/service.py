"""Events, their sign-ups, reminders, attendance and calendar files (plain functions, no HTTP).

An event is an :class:`~app.events.tables.Event` row and its content item (kind ``event``):
the item carries what every item has (title, text, language, publication; the feed, the
share links and the page behind a tracked link come with it), the event row what only an
event has. Both are written in one transaction by :func:`save_event`.

Signing up is the one read-then-write that must hold under a crowd: :func:`sign_up` checks
the deadline, the start, a sign-up already made and the capacity, and inserts, in one write
transaction holding the event's lock (SQLite's ``BEGIN IMMEDIATE``; on PostgreSQL the event
row ``FOR UPDATE``), so 100 members at once for 10 places make exactly 10 sign-ups.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from app.activity.service import record_activity
from app.activity.tables import ActivityKind
from app.candidates.applications import check_candidate, credited_referrer
from app.candidates.tables import Candidate, CandidateKind
from app.content.markdown import plain_excerpt
from app.content.tables import ContentItem, Kind
from app.core import db, i18n
from app.core.clock import now as clock_now
from app.core.forms import FormResult
from app.core.i18n import LANGUAGES, _, lazy
from app.core.settings import Settings
from app.notifications.campaigns import Audience, create_campaign, parse_campaign
from app.notifications.nudges import nudge_event_reminders
from app.notifications.preferences import is_time_zone, preferences_of_members, quiet_until
from app.notifications.tables import Nudge, NudgeState
from app.web.pagecache import public_pages_changed

from .tables import Event, EventKind, EventSignup, SignupRole

KIND_NAMES = {
    EventKind.job_fair.value: lazy("Job fair"),
    EventKind.school_forum.value: lazy("School forum"),
    EventKind.webinar.value: lazy("Webinar"),
    EventKind.open_house.value: lazy("Open house"),
    EventKind.masterclass.value: lazy("Masterclass"),
}
ROLE_NAMES = {
    SignupRole.volunteer.value: lazy("Volunteer"),
    SignupRole.attendee.value: lazy("Attendee"),
}
CAPACITY_MAX = 100_000
# Reminders: the day before (24 hours) and an hour before the start.
DAY_BEFORE = timedelta(hours=24)
HOUR_BEFORE = timedelta(hours=1)


def now() -> datetime:
    return clock_now().replace(microsecond=0)


# ---------------------------------------------------------------- the editors' form


def check_event(data: Mapping[str, Any] | None) -> FormResult:
    """The event form: what it is, where, when (in its own time zone), what is needed, how
    many may sign up and until when."""
    form = FormResult.of(data)
    form.text(
        "title",
        max_length=160,
        required=_("Give the event a title."),
        too_long=_("Keep the title under 160 characters."),
    )
    form.text("body", max_length=20_000, too_long=_("Keep the text under 20,000 characters."))
    form.choice("kind", KIND_NAMES, message=_("Choose the kind of event."))
    form.choice(
        "language", LANGUAGES, default="en", message=_("Choose the language it is written in.")
    )
    place = form.text("place", max_length=300, too_long=_("Keep the place under 300 characters."))
    online = form.url(
        "online_url",
        message=_("Enter the online link as an https:// address."),
        max_length=500,
    )
    if not place and not online:
        form.fail("place", _("Give a place, an online link, or both."))
    form.text("needs", max_length=2000, too_long=_("Keep it under 2,000 characters."))
    form.integer(
        "capacity",
        low=1,
        high=CAPACITY_MAX,
        grouping=" \u202f",
        message=_("Enter how many people may sign up: a whole number from 1 to 100,000."),
    )
    zone_name = form.raw("time_zone")
    form.values["time_zone"] = zone_name
    if not is_time_zone(zone_name):
        form.fail(
            "time_zone",
            _(
                "“%(zone)s” is not a time zone we know: choose one from the list, "
                "such as Europe/Paris."
            )
            % {"zone": zone_name[:64]}
            if zone_name
            else _("Choose the event's time zone, such as Europe/Paris."),
        )
        # The times cannot be read without their zone: kept as typed for the form.
        for name in ("starts_at", "ends_at", "signup_deadline"):
            form.values[name] = form.raw(name)
        return form
    zone = ZoneInfo(zone_name)
    starts = form.datetime(
        "starts_at", zone=zone, required=True, message=_("Give the date and time it starts.")
    )
    ends = form.datetime(
        "ends_at", zone=zone, required=True, message=_("Give the date and time it ends.")
    )
    deadline = form.datetime(
        "signup_deadline",
        zone=zone,
        required=True,
        message=_("Give the date and time sign-ups close."),
    )
    if starts and ends and ends <= starts:
        form.fail("ends_at", _("The end must come after the start."))
    if starts and deadline and deadline > starts:
        form.fail("signup_deadline", _("Sign-ups must close before the event starts."))
    return form


async def save_event(event_id: int | None, form: FormResult, by: int) -> int:
    """Create (``event_id`` None, published at once) or update an event and its item, in one
    transaction; the event's id."""
    assert form.ok
    v = form.values
    moment = now()
    item_values: dict[Any, Any] = {
        ContentItem.title: v["title"],
        ContentItem.body: v["body"],
        ContentItem.excerpt: plain_excerpt(v["body"], 160),
        ContentItem.language: v["language"],
        # It leaves the feed when it ends.
        ContentItem.expires_at: v["ends_at"],
        ContentItem.updated_at: moment,
    }
    event_values: dict[Any, Any] = {
        Event.kind: v["kind"],
        Event.place: v["place"],
        Event.online_url: v["online_url"],
        Event.starts_at: v["starts_at"],
        Event.ends_at: v["ends_at"],
        Event.time_zone: v["time_zone"],
        Event.needs: v["needs"],
        Event.capacity: v["capacity"],
        Event.signup_deadline: v["signup_deadline"],
        Event.updated_at: moment,
    }
    async with db.write_transaction():
        if event_id is None:
            item = ContentItem(kind=Kind.event.value, publish_at=moment, created_by=by)
            for column, value in item_values.items():
                setattr(item, column._meta.name, value)
            rows = await ContentItem.insert(item).returning(ContentItem.id)
            event = Event(item=rows[0]["id"], created_by=by, created_at=moment)
            for column, value in event_values.items():
                setattr(event, column._meta.name, value)
            rows = await Event.insert(event).returning(Event.id)
            event_id = int(rows[0]["id"])
        else:
            row = await Event.select(Event.item).where(Event.id == event_id).first()
            if row is None:
                raise LookupError(event_id)
            await ContentItem.update(item_values).where(ContentItem.id == row["item"])
            await Event.update(event_values).where(Event.id == event_id)
    public_pages_changed()
    return event_id


def form_values(event: Mapping[str, Any]) -> dict[str, Any]:
    """An event as its form shows it: times in the event's zone, as datetime-local text."""
    zone = ZoneInfo(event["time_zone"])

    def local(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")

    return {
        **{k: event[k] for k in ("title", "body", "kind", "language", "place", "online_url")},
        **{k: event[k] for k in ("needs", "capacity", "time_zone")},
        "starts_at": local(event["starts_at"]),
        "ends_at": local(event["ends_at"]),
        "signup_deadline": local(event["signup_deadline"]),
    }


# ---------------------------------------------------------------- reading events

EVENT_COLUMNS = (
    *Event.all_columns(),
    Event.item.title.as_alias("title"),
    Event.item.body.as_alias("body"),
    Event.item.excerpt.as_alias("excerpt"),
    Event.item.language.as_alias("language"),
    Event.item.publish_at.as_alias("publish_at"),
    Event.item.archived_at.as_alias("archived_at"),
    Event.item.image.as_alias("image"),
)


def _published(moment: datetime) -> Any:
    return (Event.item.publish_at <= moment) & Event.item.archived_at.is_null()


async def event_by_id(event_id: int) -> dict[str, Any] | None:
    return await Event.select(*EVENT_COLUMNS).where(Event.id == event_id).first()


async def public_event(event_id: int, at: datetime | None = None) -> dict[str, Any] | None:
    """The event if anyone may see it now: its item is published and not archived."""
    return (
        await Event.select(*EVENT_COLUMNS)
        .where(Event.id == event_id, _published(at or now()))
        .first()
    )


async def event_of_item(item_id: int) -> dict[str, Any] | None:
    """The event an item of kind ``event`` stands for (the page behind a tracked link)."""
    event = await Event.select(*EVENT_COLUMNS).where(Event.item == item_id).first()
    return with_facts(event) if event else None


async def events_by_item(item_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The events of these feed cards, by item id, with their facts."""
    if not item_ids:
        return {}
    rows = await Event.select(*EVENT_COLUMNS).where(Event.item.is_in(item_ids))
    return {int(row["item"]): with_facts(row) for row in rows}


async def upcoming_events(at: datetime | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Published events that have not ended, soonest first, with their facts."""
    moment = at or now()
    rows = (
        await Event.select(*EVENT_COLUMNS)
        .where(_published(moment), Event.ends_at > moment)
        .order_by(Event.starts_at)
        .limit(limit)
    )
    return [with_facts(row, moment) for row in rows]


async def studio_events(limit: int = 200) -> list[dict[str, Any]]:
    """Every event for the editors, latest start first, with its sign-up count."""
    rows = (
        await Event.select(*EVENT_COLUMNS).order_by(Event.starts_at, ascending=False).limit(limit)
    )
    counts = await signup_counts([row["id"] for row in rows])
    for row in rows:
        with_facts(row)
        row["signups"] = counts.get(row["id"], 0)
    return rows


def with_facts(event: dict[str, Any], at: datetime | None = None) -> dict[str, Any]:
    """Add what pages show: the kind's name, local start and end, whether sign-ups are open."""
    moment = at or now()
    zone = ZoneInfo(event["time_zone"])
    event["kind_name"] = _(KIND_NAMES.get(event["kind"], event["kind"]))
    event["local_start"] = event["starts_at"].astimezone(zone)
    event["local_end"] = event["ends_at"].astimezone(zone)
    event["local_deadline"] = event["signup_deadline"].astimezone(zone)
    event["started"] = event["starts_at"] <= moment
    event["ended"] = event["ends_at"] <= moment
    event["open"] = moment < event["signup_deadline"] and not event["started"]
    return event


async def signup_counts(event_ids: list[int]) -> dict[int, int]:
    if not event_ids:
        return {}
    marks = ", ".join(["{}"] * len(event_ids))
    rows = await EventSignup.raw(
        f"SELECT event, COUNT(*) AS n FROM event_signup WHERE event IN ({marks}) GROUP BY event",  # noqa: S608
        *event_ids,
    )
    return {int(row["event"]): int(row["n"]) for row in rows}


# ---------------------------------------------------------------- signing up


class SignupOutcome(StrEnum):
    signed_up = "signed_up"
    already = "already"  # this member had signed up already
    full = "full"
    closed = "closed"  # past the sign-up deadline
    past = "past"  # the event has started or ended
    unknown = "unknown"  # no such published event


OUTCOME_SENTENCES = {
    SignupOutcome.signed_up: lazy("You are signed up."),
    SignupOutcome.already: lazy("You had already signed up."),
    SignupOutcome.full: lazy("Sorry, the event is full."),
    SignupOutcome.closed: lazy("Sign-ups for this event are closed."),
    SignupOutcome.past: lazy("This event has already taken place: you cannot sign up any more."),
    SignupOutcome.unknown: lazy("This event is not open for sign-ups."),
}


async def _lock_event(event_id: int) -> None:
    """Serialise sign-ups to one event until the transaction ends (SQLite's write
    transaction already does)."""
    if db.is_postgres():
        await Event.raw("SELECT id FROM event WHERE id = {} FOR UPDATE", event_id)


async def sign_up(
    event_id: int, member_id: int, role: str, at: datetime | None = None
) -> SignupOutcome:
    """Sign a member up as a volunteer or an attendee, in one transaction: the event must be
    published, not started, before its deadline, with a place left, and the member not
    signed up already."""
    moment = at or now()
    if role not in ROLE_NAMES:
        raise ValueError(f"unknown role {role!r}")
    async with db.write_transaction():
        await _lock_event(event_id)
        event = (
            await Event.select(Event.id, Event.starts_at, Event.signup_deadline, Event.capacity)
            .where(Event.id == event_id, _published(moment))
            .first()
        )
        if event is None:
            return SignupOutcome.unknown
        if event["starts_at"] <= moment:
            return SignupOutcome.past
        if event["signup_deadline"] <= moment:
            return SignupOutcome.closed
        pair = f"{event_id}:{member_id}"
        if await EventSignup.exists().where(EventSignup.pair == pair):
            return SignupOutcome.already
        taken = await EventSignup.count().where(EventSignup.event == event_id)
        if taken >= event["capacity"]:
            return SignupOutcome.full
        rows = (
            await EventSignup.insert(
                EventSignup(
                    pair=pair, event=event_id, member=member_id, role=role, created_at=moment
                )
            )
            .on_conflict(target=EventSignup.pair, action="DO NOTHING")
            .returning(EventSignup.id)
        )
        return SignupOutcome.signed_up if rows else SignupOutcome.already


async def cancel(event_id: int, member_id: int, at: datetime | None = None) -> bool:
    """Take back a sign-up before the event starts; False when there was none to take back."""
    moment = at or now()
    async with db.write_transaction():
        event = await Event.select(Event.starts_at).where(Event.id == event_id).first()
        if event is None or event["starts_at"] <= moment:
            return False
        rows = await (
            EventSignup.delete()
            .where(EventSignup.pair == f"{event_id}:{member_id}")
            .returning(EventSignup.id)
        )
        return bool(rows)


async def signup_of(event_id: int, member_id: int) -> dict[str, Any] | None:
    return await EventSignup.select().where(EventSignup.pair == f"{event_id}:{member_id}").first()


async def my_signups(member_id: int) -> dict[int, dict[str, Any]]:
    rows = await EventSignup.select().where(EventSignup.member == member_id)
    return {int(row["event"]): row for row in rows}


async def signups_of(event_id: int) -> list[dict[str, Any]]:
    """Everyone signed up, volunteers first, in the order they signed up."""
    rows = (
        await EventSignup.select(
            *EventSignup.all_columns(),
            EventSignup.member.name.as_alias("name"),
            EventSignup.member.email.as_alias("email"),
            # Two joins deep: Piccolo's typing stops at the first.
            EventSignup.member.team.name.as_alias("team_name"),  # type: ignore[union-attr]
        )
        .where(EventSignup.event == event_id)
        .order_by(EventSignup.id)
    )
    rows.sort(key=lambda row: row["role"] != SignupRole.volunteer.value)
    return rows


async def confirm_volunteer(event_id: int, signup_id: int, confirmed: bool, at: datetime) -> bool:
    """An editor confirms a volunteer (or takes the confirmation back, before attendance)."""
    rows = await (
        EventSignup.update({EventSignup.confirmed_at: at if confirmed else None})
        .where(
            EventSignup.id == signup_id,
            EventSignup.event == event_id,
            EventSignup.role == SignupRole.volunteer.value,
            EventSignup.attended_at.is_null(),
        )
        .returning(EventSignup.id)
    )
    return bool(rows)


async def mark_attended(event_id: int, signup_id: int, at: datetime | None = None) -> bool:
    """An editor ticks that a confirmed volunteer took part, once the event has started: the
    points of the admin's rule are credited once (an activity keyed by the sign-up), in the
    same transaction. False when it cannot be ticked (not a confirmed volunteer, not started,
    or ticked already)."""
    moment = at or now()
    async with db.write_transaction():
        row = (
            await EventSignup.select(
                EventSignup.member,
                EventSignup.event.item.as_alias("item"),
                EventSignup.event.starts_at.as_alias("starts_at"),
            )
            .where(
                EventSignup.id == signup_id,
                EventSignup.event == event_id,
                EventSignup.role == SignupRole.volunteer.value,
                EventSignup.confirmed_at.is_not_null(),
                EventSignup.attended_at.is_null(),
            )
            .first()
        )
        if row is None or row["starts_at"] > moment:
            return False
        await EventSignup.update({EventSignup.attended_at: moment}).where(
            EventSignup.id == signup_id
        )
        await record_activity(
            ActivityKind.event_attended,
            str(signup_id),
            member=int(row["member"]),
            item=int(row["item"]),
            at=moment,
            event=event_id,
        )
    return True


# ---------------------------------------------------------------- messages and reminders


def check_message(
    data: Mapping[str, Any], event: Mapping[str, Any], settings: Settings, at: datetime
) -> FormResult:
    """The editor's message to the event's sign-ups: a push campaign whose audience is them,
    checked by the campaigns' own form (title, text, size of the notification)."""
    fields = {
        "title": FormResult.of(data).raw("title"),
        "body": FormResult.of(data).raw("body"),
        "url": f"/events/{event['id']}",
        "when": "now",
    }
    return parse_campaign(fields, settings, at, event["time_zone"])


async def message_signups(
    form: FormResult, event: Mapping[str, Any], author: int, at: datetime
) -> int | None:
    """Send the checked message as a campaign to everyone signed up now; its id, or None
    when nobody is signed up."""
    members = [int(row["member"]) for row in await signups_of(int(event["id"]))]
    if not members:
        return None
    named = _("Sign-ups of “%(title)s”") % {"title": event["title"]}
    audience = Audience(members=members, named=named[:200])
    return await create_campaign(replace(form.values["draft"], audience=audience), author, at)


def _reminder_words(event: Mapping[str, Any], which: str) -> tuple[str, str]:
    start = event["starts_at"].astimezone(ZoneInfo(event["time_zone"]))
    when = start.strftime("%H:%M")
    if which == "day":
        title = _("Tomorrow: %(title)s") % {"title": event["title"]}
    else:
        title = _("In an hour: %(title)s") % {"title": event["title"]}
    where = event["place"] or _("Online")
    return title, _("%(time)s (%(zone)s) · %(place)s") % {
        "time": when,
        "zone": event["time_zone"],
        "place": where,
    }


async def _drop_late_reminders(moment: datetime) -> None:
    """Reminders still waiting (quiet hours, the daily cap) when their event has started
    would only come after it: dropped, before this round sends what is due."""
    started = await Event.select(Event.id).where(
        Event.starts_at <= moment, Event.starts_at > moment - DAY_BEFORE
    )
    for row in started:
        await Nudge.update({Nudge.state: NudgeState.dropped.value}).where(
            Nudge.kind == "event",
            Nudge.state == NudgeState.waiting.value,
            Nudge.key.like(f"event:{row['id']}:%"),
        )


async def remind_signups(at: datetime | None = None) -> int:
    """The job: a reminder push the day before (24 hours) and an hour before each event, to
    everyone signed up, once each (the nudge's key), through the member's switches and quiet
    hours. A reminder the member's quiet hours would hold until the event has started is not
    written (it would come too late). Returns the reminders written."""
    moment = at or now()
    await _drop_late_reminders(moment)
    events = await Event.select(*EVENT_COLUMNS).where(
        _published(moment), Event.starts_at > moment, Event.starts_at <= moment + DAY_BEFORE
    )
    if not events:
        return 0
    by_id = {int(e["id"]): e for e in events}
    signups = await EventSignup.select(
        EventSignup.event, EventSignup.member, EventSignup.member.language.as_alias("language")
    ).where(EventSignup.event.is_in(list(by_id)))
    preferences = await preferences_of_members(sorted({int(s["member"]) for s in signups}))
    reminders = []
    for signup in signups:
        event, member = by_id[int(signup["event"])], int(signup["member"])
        which = "hour" if event["starts_at"] - moment <= HOUR_BEFORE else "day"
        held = quiet_until(preferences[member], moment)
        if held is not None and held >= event["starts_at"]:
            continue
        token = i18n.current_language.set(signup["language"] or i18n.DEFAULT_LANGUAGE)
        try:
            title, body = _reminder_words(event, which)
        finally:
            i18n.current_language.reset(token)
        key = f"event:{event['id']}:{member}:{which}"
        reminders.append((member, key, title, body, f"/events/{event['id']}"))
    return await nudge_event_reminders(reminders, moment)


# ---------------------------------------------------------------- calendar file


def calendar_file(event: Mapping[str, Any], public_url: str) -> bytes:
    """The event as an iCalendar file: times in the event's own zone (TZID), with that zone's
    VTIMEZONE, so every calendar shows it at the right moment wherever its reader is."""
    import icalendar  # here: 7 MB of a web process's memory, for a file few ever download

    zone = ZoneInfo(event["time_zone"])
    url = f"{public_url.rstrip('/')}/events/{event['id']}"
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Relay//Events//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    entry = icalendar.Event()
    host = public_url.split("//", 1)[-1].split("/", 1)[0] or "relay"
    entry.add("uid", f"event-{event['id']}@{host}")
    entry.add("dtstamp", now())
    entry.add("summary", event["title"])
    entry.add("dtstart", event["starts_at"].astimezone(zone))
    entry.add("dtend", event["ends_at"].astimezone(zone))
    description = plain_excerpt(event["body"], 2000)
    if event["needs"]:
        description = f"{description}\n\n{event['needs']}".strip()
    entry.add("description", f"{description}\n\n{url}".strip())
    if event["place"]:
        entry.add("location", event["place"])
    elif event["online_url"]:
        entry.add("location", event["online_url"])
    entry.add("url", event["online_url"] or url)
    calendar.add_component(entry)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


# ---------------------------------------------------------------- candidates' interest


def check_interest(data: Mapping[str, Any]) -> FormResult:
    """A candidate's interest: the application's fields (no CV), with consent to the notice."""
    return check_candidate(dict(data), None, consent_needed=True)


async def register_interest(
    event: Mapping[str, Any], referrer: int | None, form: FormResult, signed_in: int | None
) -> int:
    """A candidate row, with consent, on the event's item (kept and purged like an
    application: the admin's retention), credited to the member whose link brought them
    unless it is the candidate themselves. It earns no points: it is interest, not an
    application."""
    assert form.ok
    referrer = await credited_referrer(referrer, form.values["email"], signed_in)
    async with db.write_transaction():
        rows = await Candidate.insert(
            Candidate(
                kind=CandidateKind.event_interest.value,
                item=int(event["item"]),
                referrer=referrer,
                name=form.values["name"],
                email=form.values["email"].lower(),
                phone=form.values["phone"],
                linkedin=form.values["linkedin"],
                message=form.values["message"],
                consent_at=now(),
            )
        ).returning(Candidate.id)
    return int(rows[0]["id"])


async def interested_candidates(event: Mapping[str, Any]) -> list[dict[str, Any]]:
    return (
        await Candidate.select(
            Candidate.id,
            Candidate.name,
            Candidate.email,
            Candidate.phone,
            Candidate.message,
            Candidate.created_at,
            Candidate.referrer.name.as_alias("referrer_name"),
        )
        .where(
            Candidate.item == int(event["item"]),
            Candidate.kind == CandidateKind.event_interest.value,
        )
        .order_by(Candidate.id, ascending=False)
    )
