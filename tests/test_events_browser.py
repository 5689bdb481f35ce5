"""In Chromium at phone size: a member (in French) signs up as a volunteer for an event from
the feed, adds it to their calendar, gets the reminder push the day before, and gets the
points an editor (in English) gives by ticking that they took part."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest
from playwright.sync_api import Browser, Page, expect

from app.core.settings import Settings
from app.events.tables import Event
from app.notifications import preferences
from app.notifications.jobs import run_jobs
from app.notifications.preferences import Preferences
from app.wiring import JOBS
from push.worker import PushWorker
from tests.browser import check_accessibility, finish_phone, open_phone
from tests.factories import make_event, make_member, session_cookie, subscribe
from tests.helpers import free_port
from tests.push_sink import PushSink

pytestmark = pytest.mark.browser


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "PUSH_ALLOWED_TEST_HOSTS": "127.0.0.1"}


@pytest.fixture
def sink(env: dict[str, str]) -> Iterator[PushSink]:
    """The push sink, checking tokens against the key the live server made in the data dir."""
    from push.vapid import application_server_key

    with PushSink(application_server_key(Settings.from_env(env)), port=free_port()) as sink:
        yield sink


def signed_in_phone(browser: Browser, url: str, cookie: tuple[str, str], locale: str) -> Page:
    page = open_phone(browser, url, locale=locale)
    page.context.add_cookies([{"name": cookie[0], "value": cookie[1], "url": url}])
    return page


def test_a_member_volunteers_gets_the_calendar_file_the_reminder_and_the_points(
    browser: Browser,
    live_server: Any,
    seed: Any,
    sink: PushSink,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    start = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
    device = sink.new_browser()

    async def setup() -> tuple[int, int, tuple[str, str], tuple[str, str]]:
        editor = await make_member(role="editor", name="Hélène RH")
        event_id = await make_event("Forum INSA Lyon", starts=start, capacity=5, by=editor.id)
        marie = await make_member(name="Marie Dubois", language="fr")
        await subscribe(marie.id, device)
        await preferences.save_preferences(
            marie.id, Preferences(quiet_start=0, quiet_end=0), datetime.now(UTC)
        )
        return event_id, marie.id, await session_cookie(marie), await session_cookie(editor)

    event_id, _marie, marie_cookie, editor_cookie = seed(setup)

    # Marie finds the event in her feed, and signs up as a volunteer.
    phone = signed_in_phone(browser, live_server.url, marie_cookie, "fr-FR")
    try:
        phone.goto("/")
        card = phone.locator("article.feed-card", has_text="Forum INSA Lyon")
        expect(card).to_contain_text("Salon de recrutement")
        expect(card).to_contain_text("(Europe/Paris)")
        expect(card).to_contain_text("2 engineers to talk about their work on the stand")
        check_accessibility(phone)
        card.get_by_role("link", name="S’inscrire").click()
        phone.wait_for_url(f"**/events/{event_id}")
        expect(phone.get_by_role("heading", name="Forum INSA Lyon")).to_be_visible()
        expect(phone.get_by_text("5 places restantes")).to_be_visible()
        check_accessibility(phone)
        phone.get_by_role("button", name="M’inscrire comme bénévole").click()
        expect(phone.get_by_role("status")).to_have_text("Vous êtes inscrit.")
        expect(phone.get_by_text("Vous êtes inscrit comme\u00a0: Bénévole.")).to_be_visible()
        check_accessibility(phone)

        # The calendar file, in the event's own time zone.
        with phone.expect_download() as download:
            phone.get_by_role("link", name="Ajouter à mon agenda").click()
        path = tmp_path / "event.ics"
        download.value.save_as(path)
        calendar = icalendar.Calendar.from_ical(path.read_bytes())
        [entry] = calendar.walk("VEVENT")
        assert str(entry["SUMMARY"]) == "Forum INSA Lyon"
        assert entry["DTSTART"].params["TZID"] == "Europe/Paris"
        assert entry.decoded("DTSTART") == start
        assert [str(z["TZID"]) for z in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
    finally:
        finish_phone(phone)

    # The day before, the job runner (its clock advanced) sends her the reminder.
    day_before = start - timedelta(hours=23, minutes=50)

    async def next_day() -> None:
        settings = Settings.from_env(env)
        worker = PushWorker(settings)
        try:
            assert await run_jobs(settings, day_before, JOBS) == []
            await worker.drain(day_before)
        finally:
            await worker.aclose()

    seed(next_day)
    sink.wait_for(lambda: any(r.payload["tag"] == "nudge-event" for r in sink.accepted()))
    [reminder] = [r for r in sink.accepted() if r.payload["tag"] == "nudge-event"]
    assert reminder.endpoint == device.endpoint
    assert reminder.payload["title"] == "Demain\u00a0: Forum INSA Lyon"
    assert reminder.payload["url"] == f"/events/{event_id}"

    # The event takes place: the editor confirms Marie and ticks that she took part.
    async def it_takes_place() -> None:
        moment = datetime.now(UTC)
        await Event.update(
            {
                Event.starts_at: moment - timedelta(hours=1),
                Event.ends_at: moment + timedelta(hours=2),
            }
        ).where(Event.id == event_id)

    editor = signed_in_phone(browser, live_server.url, editor_cookie, "en-GB")
    try:
        editor.goto("/studio/events")
        check_accessibility(editor)
        editor.get_by_role("link", name="Forum INSA Lyon").click()
        editor.wait_for_url(f"**/studio/events/{event_id}")
        expect(editor.locator("#signups")).to_contain_text("Marie Dubois")
        check_accessibility(editor)
        editor.get_by_role("button", name="Confirm Marie Dubois").click()
        expect(editor.locator("#signups")).to_contain_text("Confirmed")
        seed(it_takes_place)
        editor.reload()
        editor.get_by_role("button", name="Marie Dubois took part").click()
        expect(editor.locator("#signups")).to_contain_text("Took part")
        check_accessibility(editor)
    finally:
        finish_phone(editor)

    phone = signed_in_phone(browser, live_server.url, marie_cookie, "fr-FR")
    try:
        phone.goto("/me/points")
        line = phone.locator("#history li", has_text="Bénévole à un événement")
        expect(line).to_have_count(1)
        expect(line).to_contain_text("40")
        check_accessibility(phone)
    finally:
        finish_phone(phone)


def test_an_editor_creates_an_event_in_french_and_a_candidate_registers_interest(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    async def setup() -> tuple[tuple[str, str], tuple[str, str]]:
        editor = await make_member(role="editor", name="Hélène RH", language="fr")
        member = await make_member(name="Paul Martin")
        return await session_cookie(editor), await session_cookie(member)

    editor_cookie, member_cookie = seed(setup)
    editor = signed_in_phone(browser, live_server.url, editor_cookie, "fr-FR")
    try:
        editor.goto("/studio/events/new")
        check_accessibility(editor)
        editor.get_by_label("Titre").fill("Portes ouvertes à Lyon")
        editor.get_by_label("Type d’événement").select_option(label="Portes ouvertes")
        editor.get_by_label("Lieu").fill("12 rue de la République, Lyon")
        editor.get_by_label("Fuseau horaire de l’événement").fill("Europe/Atlantide")
        editor.get_by_label("Début").fill("2099-06-12T18:00")
        editor.get_by_label("Fin").fill("2099-06-12T21:00")
        editor.get_by_label("Clôture des inscriptions").fill("2099-06-11T12:00")
        editor.get_by_label("Places (bénévoles et participants)").fill("30")
        editor.get_by_role("button", name="Créer et publier").click()
        zone = editor.get_by_label("Fuseau horaire de l’événement")
        expect(zone).to_have_attribute("aria-invalid", "true")
        expect(editor.locator("#event-zone-error")).to_have_text(
            "« Europe/Atlantide » n’est pas un fuseau horaire que nous connaissons\u00a0: "
            "choisissez-en un dans la liste, comme Europe/Paris."
        )
        check_accessibility(editor)
        zone.fill("Europe/Paris")
        editor.get_by_role("button", name="Créer et publier").click()
        expect(editor.get_by_role("status")).to_have_text(
            "Enregistré. Les membres le voient dans leur fil."
        )
        check_accessibility(editor)
        event_url = editor.get_by_role("link", name="Voir sa page publique").get_attribute("href")
        assert event_url is not None
    finally:
        finish_phone(editor)

    # Paul, in English, finds it among the coming events.
    member = signed_in_phone(browser, live_server.url, member_cookie, "en-GB")
    try:
        member.goto("/events")
        expect(member.get_by_role("link", name="Portes ouvertes à Lyon")).to_contain_text(
            "Jun 12, 2099, 6:00\u202fPM (Europe/Paris)"
        )
        check_accessibility(member)
    finally:
        finish_phone(member)

    # A candidate opens the public page, forgets to consent, then registers.
    candidate = open_phone(browser, live_server.url)
    try:
        candidate.goto(event_url)
        expect(candidate.get_by_role("heading", name="Portes ouvertes à Lyon")).to_be_visible()
        check_accessibility(candidate)
        candidate.get_by_label("Your name").fill("Jeanne Durand")
        candidate.get_by_label("Email").fill("jeanne@example.org")
        candidate.get_by_role("button", name="Register my interest").click()
        expect(candidate.locator("#interest-consent-error")).to_contain_text("Tick the box")
        check_accessibility(candidate)
        candidate.get_by_label("I agree that the company keeps my details").check()
        candidate.get_by_role("button", name="Register my interest").click()
        expect(candidate.get_by_role("status")).to_contain_text("Thank you!")
        check_accessibility(candidate)
    finally:
        finish_phone(candidate)
