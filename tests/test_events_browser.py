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
