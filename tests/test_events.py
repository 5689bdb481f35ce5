"""Events: editors create them (time zones checked), members sign up under capacity and
deadline, the calendar file keeps the event's zone, reminders go out once each through the
member's preferences, attendance earns the admin's points, candidates register interest."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from litestar.testing import AsyncTestClient

from app.candidates.tables import Candidate
from app.core.settings import Settings
from app.events import service
from app.events.service import SignupOutcome
from app.events.tables import EventSignup
from app.notifications import preferences
from app.notifications.jobs import run_jobs
from app.notifications.preferences import Preferences
from app.notifications.tables import Campaign, Nudge
from app.points import ledger
from app.points.tables import PointsRule
from app.sharing.service import link_code
from app.wiring import JOBS
from push.tables import PushDelivery
from push.worker import PushWorker
from tests.factories import make_event, make_member, subscribe
from tests.helpers import HTML, HTMX, PHONE, csrf, form_token, sign_in
from tests.push_sink import PushSink


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    """Relay may post reminders to the push sink on 127.0.0.1 (over http)."""
    return {**env, "PUSH_ALLOWED_TEST_HOSTS": "127.0.0.1"}


@pytest.fixture
async def push_worker(database: str, settings: Settings) -> AsyncIterator[PushWorker]:
    worker = PushWorker(settings)
    yield worker
    await worker.aclose()


def event_form(**fields: str) -> dict[str, str]:
    return {
        "title": "Open house in Lyon",
        "body": "Come and see **the office**.",
        "kind": "open_house",
        "language": "en",
        "place": "12 rue de la République, Lyon",
        "online_url": "",
        "needs": "3 volunteers to guide visitors",
        "capacity": "20",
        "time_zone": "Europe/Paris",
        "starts_at": "2099-06-12T18:00",
        "ends_at": "2099-06-12T21:00",
        "signup_deadline": "2099-06-11T12:00",
        **fields,
    }


# --- Editors create events ---------------------------------------------------------------------


async def test_an_editor_creates_an_event_and_a_time_zone_that_does_not_exist_is_refused(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await sign_in(client, "editor")
    headers = await csrf(client, "/studio/events/new")
    refused = await client.post(
        "/studio/events/new",
        data=event_form(time_zone="Europe/Atlantis"),
        headers=headers,
    )
    assert refused.status_code == 422
    assert "“Europe/Atlantis” is not a time zone we know" in refused.text
    assert 'aria-invalid="true" aria-describedby="event-zone-error' in refused.text
    assert 'value="2099-06-12T18:00"' in refused.text  # what was typed stays in the form
    for bad, field, sentence in [
        ({"ends_at": "2099-06-12T17:00"}, "event-ends", "The end must come after the start."),
        (
            {"signup_deadline": "2099-06-13T12:00"},
            "event-deadline",
            "Sign-ups must close before the event starts.",
        ),
        ({"capacity": "0"}, "event-capacity", "a whole number from 1 to 100,000"),
        ({"place": ""}, "event-place", "Give a place, an online link, or both."),
        ({"online_url": "javascript:alert(1)"}, "event-online", "https:// address"),
        ({"starts_at": "tomorrow"}, "event-starts", "Give the date and time it starts."),
    ]:
        answer = await client.post("/studio/events/new", data=event_form(**bad), headers=headers)
        assert answer.status_code == 422, bad
        assert f'id="{field}-error"' in answer.text and sentence in answer.text, bad

    made = await client.post(
        "/studio/events/new", data=event_form(), headers=headers, follow_redirects=False
    )
    assert made.status_code == 303
    event_id = int(made.headers["location"].split("/")[-1].split("?")[0])
    event = await service.event_by_id(event_id)
    assert event is not None
    # Stored in UTC: 18:00 in Paris on 12 June 2099 is summer time (UTC+2).
    assert event["starts_at"] == datetime(2099, 6, 12, 16, 0, tzinfo=UTC)
    assert event["time_zone"] == "Europe/Paris"

    # A member sees it in the feed, with its local time and zone, and on its public page.
    await sign_in(client, "employee")
    feed = await client.get("/", headers=HTML)
    assert "Open house in Lyon" in feed.text and f"/events/{event_id}" in feed.text
    assert "Jun 12, 2099, 6:00\u202fPM (Europe/Paris)" in feed.text
    client.cookies.clear()
    public = await client.get(f"/events/{event_id}", headers=HTML)
    assert public.status_code == 200
    assert '<meta property="og:title" content="Open house in Lyon">' in public.text
    assert f'<meta property="og:url" content="http://localhost:8000/events/{event_id}">' in (
        public.text
    )
    assert "Register my interest" in public.text


async def test_editor_routes_check_the_role_of_everyone(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    event_id = await make_event()
    member = await make_member()
    await service.sign_up(event_id, member.id, "volunteer")
    [signup] = await EventSignup.select(EventSignup.id)
    base = f"/studio/events/{event_id}"
    reads = ["/studio/events", "/studio/events/new", base]
    writes = [
        ("/studio/events/new", event_form()),
        (base, event_form()),
        (f"{base}/signups/{signup['id']}/confirm", {}),
        (f"{base}/signups/{signup['id']}/attended", {}),
        (f"{base}/message", {"title": "Hello", "body": ""}),
    ]
    # Nobody signed in: to the sign-in page.
    for path in reads:
        answer = await client.get(path, headers=HTML, follow_redirects=False)
        assert answer.status_code == 303 and "/signin" in answer.headers["location"], path
    headers = await csrf(client, f"/events/{event_id}")
    for path, data in writes:
        answer = await client.post(path, data=data, headers=headers, follow_redirects=False)
        assert answer.status_code in (401, 303), path
    # An employee: refused, every route.
    await sign_in(client, "employee")
    headers = await csrf(client, "/events")
    for path in reads:
        assert (await client.get(path, headers=HTML)).status_code == 403, path
    for path, data in writes:
        assert (await client.post(path, data=data, headers=headers)).status_code == 403, path
    assert await EventSignup.count().where(EventSignup.confirmed_at.is_not_null()) == 0
    # Editors and admins: in.
    for role in ("editor", "admin"):
        client.cookies.clear()
        await sign_in(client, role)
        for path in reads:
            assert (await client.get(path, headers=HTML)).status_code == 200, (role, path)
        headers = await csrf(client, "/studio/events")
        confirm = await client.post(writes[2][0], data={}, headers={**headers, **HTMX})
        assert confirm.status_code == 200, role


# --- Signing up ------------------------------------------------------------------------------


async def test_a_hundred_members_at_once_for_ten_places_make_exactly_ten_sign_ups(
    database: str,
) -> None:
    event_id = await make_event(capacity=10)
    members = [await make_member() for _ in range(100)]
    outcomes = await asyncio.gather(
        *(service.sign_up(event_id, m.id, "volunteer") for m in members)
    )
    assert outcomes.count(SignupOutcome.signed_up) == 10
    assert outcomes.count(SignupOutcome.full) == 90
    assert await EventSignup.count().where(EventSignup.event == event_id) == 10
    # One member tapping twice at once signs up once.
    other = await make_event(capacity=10)
    twice = await asyncio.gather(
        *(service.sign_up(other, members[0].id, "attendee") for _ in range(5))
    )
    assert twice.count(SignupOutcome.signed_up) == 1
    assert twice.count(SignupOutcome.already) == 4
    assert await EventSignup.count().where(EventSignup.event == other) == 1


async def test_past_events_and_closed_sign_ups_are_refused_and_a_cancelled_place_is_free_again(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    member = await sign_in(client, "employee")
    past = await make_event(starts=datetime.now(UTC) - timedelta(days=1))
    closed = await make_event(
        starts=datetime.now(UTC) + timedelta(hours=1), deadline_before=timedelta(hours=2)
    )
    full = await make_event(capacity=1)
    headers = {**(await csrf(client, "/events")), **HTMX}

    answer = await client.post(
        f"/events/{past}/signup", data={"role": "volunteer"}, headers=headers
    )
    assert answer.status_code == 409
    assert "This event has already taken place: you cannot sign up any more." in answer.text
    answer = await client.post(
        f"/events/{closed}/signup", data={"role": "volunteer"}, headers=headers
    )
    assert answer.status_code == 409 and "Sign-ups for this event are closed." in answer.text
    answer = await client.post(f"/events/{full}/signup", data={"role": "guest"}, headers=headers)
    assert answer.status_code == 422
    assert "Choose whether you come as a volunteer or as an attendee." in answer.text

    someone = await make_member()
    assert await service.sign_up(full, someone.id, "attendee") == SignupOutcome.signed_up
    answer = await client.post(f"/events/{full}/signup", data={"role": "attendee"}, headers=headers)
    assert answer.status_code == 409 and "Sorry, the event is full." in answer.text
    assert await service.cancel(full, someone.id)
    answer = await client.post(f"/events/{full}/signup", data={"role": "attendee"}, headers=headers)
    assert answer.status_code == 200 and "You are signed up." in answer.text
    assert await service.signup_of(full, member.id) is not None
    answer = await client.post(f"/events/{full}/cancel", headers=headers)
    assert "Your sign-up is cancelled." in answer.text
    assert await service.signup_of(full, member.id) is None
    assert await EventSignup.count().where(EventSignup.event.is_in([past, closed])) == 0


async def test_the_calendar_file_keeps_the_events_time_zone(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    start = datetime(2099, 7, 14, 7, 30, tzinfo=UTC)
    event_id = await make_event("Webinar for Montréal", starts=start, time_zone="America/Montreal")
    answer = await client.get(f"/events/{event_id}/calendar.ics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/calendar")
    assert "attachment" in answer.headers["content-disposition"]
    calendar = icalendar.Calendar.from_ical(answer.content)
    [entry] = calendar.walk("VEVENT")
    [zone] = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "America/Montreal"
    assert entry["DTSTART"].params["TZID"] == "America/Montreal"
    assert entry.decoded("DTSTART") == start  # 03:30 in Montréal (summer time)
    assert entry.decoded("DTSTART").astimezone(ZoneInfo("America/Montreal")).hour == 3
    assert entry.decoded("DTEND") == start + timedelta(hours=3)
    assert str(entry["SUMMARY"]) == "Webinar for Montréal"
    assert "INSA Lyon" in str(entry["LOCATION"])
    assert f"/events/{event_id}" in str(entry["DESCRIPTION"])


# --- Reminders -------------------------------------------------------------------------------


async def test_reminders_go_out_the_day_before_and_an_hour_before_once_each(
    settings: Settings, push_worker: PushWorker, push_sink: PushSink
) -> None:
    start = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
    event_id = await make_event("Masterclass: data at scale", starts=start)
    member = await make_member(language="fr")
    device = push_sink.new_browser()
    await subscribe(member.id, device)
    await preferences.save_preferences(
        member.id, Preferences(quiet_start=0, quiet_end=0), datetime.now(UTC)
    )
    # Quiet from two hours before the start to an hour after it (Paris, the default zone):
    # the day-before reminder waits for the end of that evening's quiet hours, the
    # hour-before one would only come after the start, so it is not written.
    local = start.astimezone(ZoneInfo("Europe/Paris"))
    quiet_start, quiet_end = local - timedelta(hours=2), local + timedelta(hours=1)
    quiet = await make_member()
    await subscribe(quiet.id, push_sink.new_browser())
    await preferences.save_preferences(
        quiet.id,
        Preferences(
            quiet_start=quiet_start.hour * 60 + quiet_start.minute,
            quiet_end=quiet_end.hour * 60 + quiet_end.minute,
        ),
        datetime.now(UTC),
    )
    muted = await make_member()  # turned event reminders off
    await subscribe(muted.id, push_sink.new_browser())
    await preferences.save_preferences(muted.id, Preferences(event=False), datetime.now(UTC))
    for someone in (member, quiet, muted):
        assert await service.sign_up(event_id, someone.id, "volunteer") == SignupOutcome.signed_up

    def reminders() -> list[Any]:
        # The event was also announced as new content to everyone: not a reminder.
        return [r for r in push_sink.accepted() if r.payload["tag"] == "nudge-event"]

    async def round_at(moment: datetime) -> None:
        assert await run_jobs(settings, moment, JOBS) == []
        await push_worker.drain(moment)

    await round_at(start - timedelta(days=2))  # too early
    assert reminders() == []
    day_before = start - timedelta(hours=23, minutes=59)
    await round_at(day_before)
    await round_at(day_before + timedelta(minutes=1))  # the next round: nothing new
    [first] = reminders()
    assert first.endpoint == device.endpoint
    assert first.payload["title"] == "Demain\u00a0: Masterclass: data at scale"
    assert first.payload["url"] == f"/events/{event_id}"
    await round_at(start - timedelta(minutes=59))
    await round_at(start - timedelta(minutes=58))
    accepted = reminders()
    assert len(accepted) == 2
    assert accepted[1].payload["title"] == "Dans une heure\u00a0: Masterclass: data at scale"
    assert {r.endpoint for r in accepted} == {device.endpoint}
    rows = await Nudge.select(Nudge.key).where(Nudge.kind == "event")
    keys = sorted(row["key"] for row in rows)
    assert keys == sorted(
        [
            f"event:{event_id}:{member.id}:day",
            f"event:{event_id}:{member.id}:hour",
            f"event:{event_id}:{quiet.id}:day",
        ]
    )
    assert await PushDelivery.count().where(PushDelivery.kind == "event") == 2
    await round_at(start + timedelta(minutes=1))  # started: nothing more
    assert len(reminders()) == 2
    # The quiet member's reminder, still held by their quiet hours, will not come late.
    [held] = await Nudge.select(Nudge.state).where(Nudge.key == f"event:{event_id}:{quiet.id}:day")
    assert held["state"] == "dropped"


# --- Attendance and points -------------------------------------------------------------------


async def test_a_confirmed_volunteer_marked_present_earns_the_admins_points_once(
    database: str,
) -> None:
    start = datetime.now(UTC) + timedelta(hours=5)
    event_id = await make_event(starts=start)
    volunteer, attendee = await make_member(), await make_member()
    await service.sign_up(event_id, volunteer.id, "volunteer")
    await service.sign_up(event_id, attendee.id, "attendee")
    rows = {r["member"]: r["id"] for r in await EventSignup.select()}
    # An admin sets the rule's points.
    await ledger.balance(volunteer.id)
    from app.points.rules import rules

    await rules()
    await PointsRule.update({PointsRule.points: 60}).where(PointsRule.action == "event_attended")
    # Not before it starts, not unconfirmed, never an attendee.
    assert not await service.mark_attended(event_id, rows[volunteer.id], start + timedelta(hours=1))
    assert await service.confirm_volunteer(event_id, rows[volunteer.id], True, start)
    assert not await service.confirm_volunteer(event_id, rows[attendee.id], True, start)
    assert not await service.mark_attended(event_id, rows[volunteer.id], start - timedelta(hours=1))
    assert await service.mark_attended(event_id, rows[volunteer.id], start + timedelta(hours=1))
    assert not await service.mark_attended(event_id, rows[volunteer.id], start + timedelta(hours=2))
    assert await ledger.balance(volunteer.id) == 60
    assert await ledger.balance(attendee.id) == 0


# --- Messages and candidates -----------------------------------------------------------------


async def test_an_editor_writes_to_the_sign_ups_with_a_campaign_targeted_at_them(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    event_id = await make_event()
    signed = [await make_member() for _ in range(3)]
    await make_member()  # not signed up: not written to
    for member in signed:
        await service.sign_up(event_id, member.id, "volunteer")
    await sign_in(client, "editor")
    page = await client.get(f"/studio/events/{event_id}", headers=HTML)
    headers = await csrf(client, f"/studio/events/{event_id}")
    empty = await client.post(
        f"/studio/events/{event_id}/message", data={"title": ""}, headers=headers
    )
    assert empty.status_code == 422 and "Give the notification a title." in empty.text
    sent = await client.post(
        f"/studio/events/{event_id}/message",
        data={
            "title": "Stand set-up at 8:30",
            "body": "Meet at gate B.",
            "_csrf_token": form_token(page.text),
        },
        headers=headers,
        follow_redirects=False,
    )
    assert sent.status_code == 303
    campaign_id = int(sent.headers["location"].rsplit("/", 1)[1])
    [campaign] = await Campaign.select().where(Campaign.id == campaign_id)
    assert campaign["members_targeted"] == 3
    assert campaign["url"] == f"/events/{event_id}"
    report = await client.get(f"/campaigns/{campaign_id}", headers=HTML)
    assert "Sign-ups of “Job fair at INSA Lyon”" in report.text


async def test_a_candidate_registers_interest_from_a_members_link_with_consent(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    event_id = await make_event()
    event = await service.event_by_id(event_id)
    assert event is not None
    lea = await make_member(name="Léa Martin")
    code = await link_code(lea.id, event["item"])
    page = await client.get(f"/r/{code}", headers={**HTML, "user-agent": PHONE})
    assert page.status_code == 200
    assert "Job fair at INSA Lyon" in page.text and "2 engineers to talk" in page.text
    assert f'action="/r/{code}/interest"' in page.text
    headers = {"x-csrftoken": form_token(page.text), **HTMX, "user-agent": PHONE}
    fields = {"name": "Jeanne Durand", "email": "jeanne@example.org", "message": "<b>hi</b>"}
    refused = await client.post(f"/r/{code}/interest", data=fields, headers=headers)
    assert refused.status_code == 422
    assert "Tick the box to agree" in refused.text
    assert await Candidate.count() == 0
    done = await client.post(
        f"/r/{code}/interest", data={**fields, "consent": "yes"}, headers=headers
    )
    assert done.status_code == 200 and "Thank you!" in done.text
    [candidate] = await Candidate.select()
    assert candidate["kind"] == "event_interest"
    assert candidate["referrer"] == lea.id and candidate["item"] == event["item"]
    assert candidate["consent_at"] is not None
    # The editors see them on the event, escaped.
    await sign_in(client, "editor")
    studio = await client.get(f"/studio/events/{event_id}", headers=HTML)
    assert "Jeanne Durand" in studio.text and "Brought by Léa Martin" in studio.text
    assert "&lt;b&gt;hi&lt;/b&gt;" in studio.text
    assert re.search(r"<b>hi</b>", studio.text) is None
