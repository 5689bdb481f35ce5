"""While the database is down: 503 with Retry-After and a sentence, cached pages still served,
visits kept for later; and back to normal when it returns. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import logging
import re

import pytest
from litestar.testing import AsyncTestClient

from app.candidates.tables import Visit
from app.core.settings import Settings
from tests.database_outage import DatabaseOutage
from tests.factories import make_item, shared_offer
from tests.helpers import HTML, PHONE, all_recorded, csrf_token_of, sign_in

UNAVAILABLE_FR = "Relay est momentanément indisponible"
# A member's language is in the database: while it is down, their browser's is what counts.
FRENCH = {"accept-language": "fr-FR,fr;q=0.9"}
# An exception's name, its message, the driver, the database's address.
LEAKS = re.compile(
    r"\w+(Error|Exception)\b|Traceback|asyncpg|sqlite|is locked|refused|127\.0\.0\.1|postgres"
)


@pytest.fixture
def env(env: dict[str, str], outage: DatabaseOutage) -> dict[str, str]:
    """Relay reaches this test's database in a way the test can take away."""
    return {**env, **outage.env}


def assert_says_nothing_of_the_error(text: str) -> None:
    leaked = LEAKS.search(text)
    assert leaked is None, f"the answer leaks {leaked.group(0)!r}: {text[:300]}"


async def test_a_member_gets_a_503_page_in_their_language_while_the_database_is_down_then_200(
    client: AsyncTestClient,  # type: ignore[type-arg]
    outage: DatabaseOutage,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await sign_in(client, language="fr")
    item_id = await make_item("story", "Nos locaux")
    token = csrf_token_of((await client.get("/me", headers=HTML)).text)
    # Writes fail on both engines (SQLite's readers are never blocked: WAL).
    full_page = {
        "data": {"language": "fr", "_csrf_token": token},
        "headers": {**HTML, **FRENCH},
        "follow_redirects": False,
    }
    htmx = {
        "data": {"language": "fr"},
        "headers": {"x-csrftoken": token, "hx-request": "true", **FRENCH},
    }
    share = {
        "content": json.dumps({"network": "linkedin"}),
        "headers": {
            "x-csrftoken": token,
            "content-type": "application/json",
            "accept": "application/json",
            **FRENCH,
        },
    }

    outage.begin()
    with caplog.at_level(logging.WARNING, logger="relay"):
        page = await client.post("/me/language", **full_page)
    assert page.status_code == 503 and page.headers["retry-after"] == "30"
    assert UNAVAILABLE_FR in page.text and "Réessayez dans une minute" in page.text
    assert_says_nothing_of_the_error(page.text)
    # The operator reads the real error, once for the request.
    told = [r for r in caplog.records if "Database unavailable on POST /me/language" in r.message]
    assert len(told) == 1 and told[0].levelno == logging.WARNING

    fragment = await client.post("/me/language", **htmx)
    assert fragment.status_code == 503 and fragment.headers["retry-after"] == "30"
    notice = json.loads(fragment.headers["hx-trigger"])["relay:notice"]
    assert notice.startswith(UNAVAILABLE_FR)
    assert "<html" not in fragment.text and UNAVAILABLE_FR in fragment.text

    api = await client.post(f"/items/{item_id}/shares", **share)
    assert api.status_code == 503 and api.headers["retry-after"] == "30"
    assert (
        api.json()["error"]
        == "Le problème vient de chez nous, pas de vous. Réessayez dans une minute."
    )
    assert_says_nothing_of_the_error(api.text)

    outage.end()
    assert (await client.post("/me/language", **full_page)).status_code == 303
    assert (await client.post("/me/language", **htmx)).status_code == 204
    assert (await client.post(f"/items/{item_id}/shares", **share)).status_code == 200


async def test_reading_pages_from_an_unreachable_postgresql_answers_503(
    client: AsyncTestClient,  # type: ignore[type-arg]
    outage: DatabaseOutage,
    settings: Settings,
) -> None:
    if settings.is_sqlite:
        pytest.skip("a SQLite writer never blocks readers (WAL): reads go on during the lock")
    await sign_in(client, language="fr")
    outage.begin()
    for headers in (HTML, {"hx-request": "true"}, {"accept": "application/json"}):
        response = await client.get("/", headers={**headers, **FRENCH})
        assert response.status_code == 503 and response.headers["retry-after"] == "30"
        assert "indisponible" in response.text or "Réessayez" in response.text
        assert_says_nothing_of_the_error(response.text)
    page = await client.get("/leaderboard?period=week", headers=HTML)
    assert 'href="/leaderboard?period=week"' in page.text  # "Try again" asks the same again
    outage.end()
    assert (await client.get("/", headers=HTML)).status_code == 200


async def test_health_says_unavailable_without_naming_the_error_then_ok_again(
    client: AsyncTestClient,  # type: ignore[type-arg]
    outage: DatabaseOutage,
    settings: Settings,
) -> None:
    outage.begin()
    if settings.is_sqlite:
        # A reader is not blocked by a writer: health stays ok while only writes wait.
        assert (await client.get("/healthz")).json()["status"] == "ok"
        return
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}
    outage.end()
    assert (await client.get("/healthz")).json() == {"status": "ok", "database": "postgresql"}


async def test_a_cached_landing_page_is_served_while_the_database_is_down_and_visits_wait(
    client: AsyncTestClient,  # type: ignore[type-arg]
    outage: DatabaseOutage,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _sharer, _item_id, code = await shared_offer()
    page = {"headers": {**HTML, "user-agent": PHONE}}
    assert (await client.get(f"/r/{code}", **page)).status_code == 200
    await all_recorded(client)
    recorder = client.app.state.visits

    outage.begin()
    with caplog.at_level(logging.WARNING, logger="relay.visits"):
        for _ in range(3):
            assert (await client.get(f"/r/{code}", **page)).status_code == 200
        # The writer tries, fails, and keeps the rows for its next attempt.
        await logged(caplog, "Writing visits failed")
        assert not recorder.idle
        outage.end()
        await all_recorded(client)
    assert await Visit.count() == 4
    said = [r.message for r in caplog.records]
    assert sum("Writing visits failed" in m for m in said) == 1  # once, however many attempts
    assert sum("Visits written again" in m for m in said) == 1


async def logged(caplog: pytest.LogCaptureFixture, words: str) -> None:
    """Wait until the app (running beside this test) logs ``words``."""
    for _ in range(1000):
        if any(words in r.message for r in caplog.records):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never logged: {words}")
