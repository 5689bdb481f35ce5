"""The app shell over HTTP: languages, headers, CSRF, fragments, manifest, static files, health."""

from __future__ import annotations

import io
import json
import re
import stat
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from PIL import Image

from app.core.settings import Settings
from app.sharing import service as sharing
from app.translations.catalog import badly_spaced, french_typography, missing
from app.web.assets import HTMX_JS, IMMUTABLE, Assets
from tests.factories import make_item, make_member
from tests.helpers import HTML, csrf_token_of, run_relay, sign_in


async def test_a_visitor_gets_the_language_their_browser_asks_for(client: AsyncTestClient) -> None:
    english = await client.get("/signin", headers=HTML)
    assert english.status_code == 200
    assert '<html lang="en">' in english.text
    assert "Sign in with a passkey" in english.text
    assert english.headers["content-language"] == "en"

    french = await client.get(
        "/signin", headers={**HTML, "accept-language": "fr-FR,fr;q=0.9,en;q=0.5"}
    )
    assert '<html lang="fr">' in french.text
    assert "Se connecter avec une clé d’accès" in french.text
    assert "Aller au contenu" in french.text
    assert french.headers["content-language"] == "fr"

    preferred = await client.get(
        "/signin", headers={**HTML, "accept-language": "de, en;q=0.8, fr;q=0.3"}
    )
    assert '<html lang="en">' in preferred.text


async def test_a_member_sees_the_shell_in_their_own_language_whatever_the_browser_says(
    client: AsyncTestClient,
) -> None:
    await sign_in(client, language="fr")
    page = await client.get("/", headers={**HTML, "accept-language": "en-GB,en"})
    assert '<html lang="fr">' in page.text
    assert "Rien à partager pour l’instant" in page.text
    assert 'aria-current="page"' in page.text


async def test_the_feed_and_me_need_a_signed_in_member(client: AsyncTestClient) -> None:
    for path in ["/", "/me"]:
        response = await client.get(path, headers=HTML, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin")
    assert (await client.get("/me", headers=HTML, follow_redirects=False)).headers[
        "location"
    ] == "/signin?next=/me"


async def test_every_response_carries_a_strict_csp_and_security_headers(
    employee_client: AsyncTestClient,
) -> None:
    client = employee_client
    for path in ["/", "/me", "/offline", "/healthz", "/does-not-exist", "/manifest.webmanifest"]:
        response = await client.get(path, headers=HTML)
        csp = response.headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["script-src"] == "'self'", path
        assert directives["style-src"] == "'self'", path
        assert directives["frame-ancestors"] == "'none'", path
        assert directives["object-src"] == "'none'", path
        assert directives["base-uri"] == "'none'", path
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "camera=()" in response.headers["permissions-policy"]
    page = await client.get("/", headers=HTML)
    assert "<script>" not in page.text and " on" + "click=" not in page.text
    assert "style=" not in page.text


async def test_a_post_without_csrf_token_is_refused_and_an_htmx_post_with_it_is_accepted(
    employee_client: AsyncTestClient,
) -> None:
    client = employee_client
    refused = await client.post("/me/language", data={"language": "fr"}, headers=HTML)
    assert refused.status_code == 403
    assert "Your session may have expired" in refused.text
    forged = await client.post(
        "/me/language", data={"language": "fr", "_csrf_token": "forged"}, headers=HTML
    )
    assert forged.status_code == 403

    page = await client.get("/me", headers=HTML)
    token = csrf_token_of(page.text)
    accepted = await client.post(
        "/me/language",
        data={"language": "fr"},
        headers={"x-csrftoken": token, "hx-request": "true"},
    )
    assert accepted.status_code == 204
    assert accepted.headers["hx-redirect"] == "/me"
    assert "relay_lang=fr" in accepted.headers["set-cookie"]
    assert "HttpOnly" in accepted.headers["set-cookie"]
    assert "SameSite=lax" in accepted.headers["set-cookie"]

    in_french = await client.get("/me", headers=HTML)
    assert '<html lang="fr">' in in_french.text
    assert "Enregistrer la langue" in in_french.text


async def test_the_language_form_works_without_javascript(employee_client: AsyncTestClient) -> None:
    client = employee_client
    token = csrf_token_of((await client.get("/me", headers=HTML)).text)
    response = await client.post(
        "/me/language",
        data={"language": "fr", "_csrf_token": token},
        headers=HTML,
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/me"
    assert "Langue" in (await client.get("/me", headers=HTML)).text


async def test_the_csrf_cookie_is_httponly_and_samesite(employee_client: AsyncTestClient) -> None:
    client = employee_client
    page = await client.get("/me", headers=HTML)
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("relay_csrf=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie


async def test_an_unknown_language_gets_an_error_next_to_the_field(
    employee_client: AsyncTestClient,
) -> None:
    client = employee_client
    token = csrf_token_of((await client.get("/me", headers=HTML)).text)
    response = await client.post(
        "/me/language",
        data={"language": "klingon"},
        headers={"x-csrftoken": token, "hx-request": "true"},
    )
    assert response.status_code == 422
    assert response.text.lstrip().startswith('<form id="language-form"')
    assert 'id="language-error"' in response.text
    assert "Choose one of the languages in the list." in response.text
    assert 'aria-invalid="true"' in response.text


async def test_an_htmx_request_gets_the_fragment_and_a_history_restore_gets_the_page(
    employee_client: AsyncTestClient,
) -> None:
    client = employee_client
    full = await client.get("/me", headers=HTML)
    assert full.text.startswith("<!doctype html>")
    assert "HX-Request" in full.headers["vary"]

    fragment = await client.get("/me", headers={"hx-request": "true"})
    assert "<html" not in fragment.text
    assert fragment.text.lstrip().startswith("<title>Me · Relay</title>")
    assert 'class="tabbar"' in fragment.text
    assert "HX-Request" in fragment.headers["vary"]

    restored = await client.get(
        "/me", headers={"hx-request": "true", "hx-history-restore-request": "true"}
    )
    assert restored.text.startswith("<!doctype html>")
    assert "HX-Request" in restored.headers["vary"]


async def test_the_manifest_makes_relay_installable_and_its_icons_are_served(
    client: AsyncTestClient,
) -> None:
    response = await client.get("/manifest.webmanifest")
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(response.text)
    for key in [
        "id",
        "name",
        "short_name",
        "start_url",
        "scope",
        "display",
        "theme_color",
        "background_color",
    ]:
        assert manifest[key], key
    assert manifest["display"] == "standalone"
    assert manifest["scope"] == "/"
    by_purpose = {(i["sizes"], i["purpose"]): i for i in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= set(by_purpose)
    for icon in manifest["icons"]:
        served = await client.get(icon["src"])
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(served.content))
        assert f"{image.width}x{image.height}" == icon["sizes"]
        assert "immutable" in served.headers["cache-control"]


async def test_static_files_have_hashed_urls_long_caching_and_compression(
    employee_client: AsyncTestClient,
) -> None:
    client = employee_client
    page = (await client.get("/", headers=HTML)).text
    css_url = re.search(r'href="(/static/app\.[0-9a-f]{10}\.css)"', page).group(1)  # type: ignore[union-attr]
    htmx_url = re.search(r'src="(/static/htmx-2\.0\.11\.min\.[0-9a-f]{10}\.js)"', page).group(1)  # type: ignore[union-attr]
    css = await client.get(css_url, headers={"accept-encoding": "gzip"})
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert css.headers["content-encoding"] == "gzip"
    assert css.headers["content-type"].startswith("text/css")
    htmx = await client.get(htmx_url, headers={"accept-encoding": "gzip"})
    assert htmx.headers["content-type"].startswith("text/javascript")
    assert "2.0.11" in htmx.text

    stale = await client.get("/static/app.0000000000.css")
    assert stale.status_code == 200 and stale.headers["cache-control"] == "no-cache"
    assert (await client.get("/static/nothing.css")).status_code == 404
    assert (await client.get("/static/../pyproject.toml")).status_code == 404

    html = await client.get("/", headers={**HTML, "accept-encoding": "gzip"})
    assert html.headers["content-encoding"] == "gzip"


def scripts_of(html: str) -> list[str]:
    """The static scripts a page loads, by name: ``['htmx-2.0.11.min', 'app', ...]``."""
    return re.findall(r'<script src="/static/([\w.-]+)\.[0-9a-f]{10}\.js"', html)


async def test_each_page_loads_only_the_scripts_it_uses(client: AsyncTestClient) -> None:
    sharer = await make_member()
    story = await sharing.link_code(sharer.id, await make_item("story", "Our new office"))
    offer = await sharing.link_code(sharer.id, await make_item("offer", "Data engineer"))

    story_page = await client.get(f"/r/{story}", headers=HTML)
    assert scripts_of(story_page.text) == ["beacon"]
    offer_page = await client.get(f"/r/{offer}", headers=HTML)
    assert 'hx-post="/r/' in offer_page.text  # its apply form needs htmx
    assert scripts_of(offer_page.text) == [HTMX_JS.removesuffix(".js"), "beacon"]
    assert scripts_of((await client.get("/signin", headers=HTML)).text) == ["passkeys"]

    await sign_in(client)
    feed = await client.get("/", headers=HTML)
    assert scripts_of(feed.text) == [
        HTMX_JS.removesuffix(".js"),
        "app",
        "passkeys",
        "push",
        "share",
    ]


async def test_a_script_imports_the_shared_module_under_its_hashed_immutable_url(
    employee_client: AsyncTestClient,
) -> None:
    page = (await employee_client.get("/", headers=HTML)).text
    share_url = re.search(r'src="(/static/share\.[0-9a-f]{10}\.js)"', page).group(1)  # type: ignore[union-attr]
    share = await employee_client.get(share_url)
    relay_url = re.search(r'from "(/static/relay\.[0-9a-f]{10}\.js)"', share.text).group(1)  # type: ignore[union-attr]
    relay = await employee_client.get(relay_url)
    assert relay.status_code == 200
    assert relay.headers["cache-control"] == IMMUTABLE
    assert relay.headers["content-type"].startswith("text/javascript")
    assert "export async function postJSON" in relay.text


def test_a_change_to_a_shared_module_changes_the_url_of_every_script_importing_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "relay.js").write_text("export const answer = 42;\n")
    (tmp_path / "share.js").write_text('import { answer } from "./relay.js";\n')
    (tmp_path / "app.js").write_text("console.log('no imports');\n")
    before = Assets(tmp_path)
    assert f'from "{before.url("relay.js")}"' in before.by_name["share.js"].body.decode()

    (tmp_path / "relay.js").write_text("export const answer = 43;\n")
    after = Assets(tmp_path)
    assert after.url("relay.js") != before.url("relay.js")
    assert after.url("share.js") != before.url("share.js")
    assert after.url("app.js") == before.url("app.js")

    (tmp_path / "app.js").write_text('import "./missing.js";\n')
    with pytest.raises(ValueError, match="missing"):
        Assets(tmp_path)


async def test_the_service_worker_is_served_from_the_root_with_the_shell_to_precache(
    client: AsyncTestClient,
) -> None:
    response = await client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["service-worker-allowed"] == "/"
    assert response.headers["cache-control"] == "no-cache"
    precache = json.loads(re.search(r"const PRECACHE = (\[.*\]);", response.text).group(1))  # type: ignore[union-attr]
    assert "/offline" in precache
    for url in precache:
        assert (await client.get(url)).status_code == 200, url


async def test_health_answers_after_a_database_round_trip(
    client: AsyncTestClient, settings: Settings
) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    expected = "sqlite" if settings.is_sqlite else "postgresql"
    assert response.json() == {"status": "ok", "database": expected}


async def test_unknown_pages_are_friendly_for_people_and_plain_for_programs(
    client: AsyncTestClient,
) -> None:
    person = await client.get("/no/such/page", headers=HTML)
    assert person.status_code == 404
    assert "Page not found" in person.text and 'href="/"' in person.text
    program = await client.get("/no/such/page", headers={"accept": "application/json"})
    assert program.status_code == 404 and program.json()["status_code"] == 404


def test_a_bad_setting_stops_start_up_with_one_clear_line(env: dict[str, str]) -> None:
    cases = {
        "DATABASE_URL": (
            "mysql://db/relay",
            "DATABASE_URL must start with sqlite:/// or postgresql://",
        ),
        "PUBLIC_URL": ("ftp://example.com", "PUBLIC_URL must be an http(s) address"),
        "PORT": ("eighty", "PORT must be a number"),
        "REDIS_URL": ("memcached://x", "REDIS_URL must start with redis://"),
        "SECRET_KEY": ("short", "SECRET_KEY must be at least 32 characters long."),
    }
    for name, (value, message) in cases.items():
        result = run_relay("migrate", env={**env, name: value})
        assert result.returncode == 2, name
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], result.stderr
        assert "Traceback" not in result.stderr


def test_the_secret_key_is_generated_once_and_readable_by_its_owner_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"RELAY_DATA_DIR": str(tmp_path / "data")}
    first = Settings.from_env(env)
    again = Settings.from_env(env)
    key_file = tmp_path / "data" / "secret_key"
    assert first.secret_key == again.secret_key and len(first.secret_key) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.database_url == f"sqlite:///{tmp_path / 'data' / 'relay.sqlite3'}"
    assert first.public_url == "http://localhost:8000"
    # `PORT=8080 make run`: passkeys need the address the browser really uses.
    assert Settings.from_env({**env, "PORT": "8080"}).public_url == "http://localhost:8080"


def test_demo_data_loads_once(env: dict[str, str]) -> None:
    first = run_relay("demo", env=env)
    assert first.returncode == 0, first.stderr
    assert "Demo data loaded." in first.stdout
    second = run_relay("demo", env=env)
    assert "already present" in second.stdout


def test_the_french_catalogue_translates_every_string() -> None:
    assert missing("fr") == []


def test_french_punctuation_keeps_its_non_breaking_space() -> None:
    assert french_typography("Niveau : Ambassadeur") == "Niveau\u00a0: Ambassadeur"
    assert french_typography("« Bonjour » ? à 14:30, https://relay.example") == (
        "«\u00a0Bonjour\u00a0»\u00a0? à 14:30, https://relay.example"
    )
    assert badly_spaced("fr") == []


async def test_a_postgresql_app_opens_its_connection_pool_and_closes_it(
    env: dict[str, str],
) -> None:
    from app.core import db
    from app.main import create_app

    settings = Settings.from_env({**env, "DATABASE_POOL_SIZE": "2"})
    async with AsyncTestClient(create_app(settings), base_url="http://localhost:8000") as client:
        assert (await client.get("/healthz")).status_code == 200
        engine = db.current_engine()
        if settings.is_sqlite:
            assert not db.is_postgres(engine)
        else:
            assert engine.pool is not None  # type: ignore[attr-defined]
            assert engine.pool.get_max_size() == 2  # type: ignore[attr-defined]
    if not settings.is_sqlite:
        assert engine.pool is None  # type: ignore[attr-defined]
