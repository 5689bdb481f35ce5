"""The app shell: Me, offline page, PWA manifest and service worker, health."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import anyio.to_thread
from litestar import Response, get, post
from litestar.datastructures import Cookie, UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, MultipartBody, URLEncodedBody

from app.accounts.guards import anyone, signed_in
from app.accounts.sessions import sessions_changed
from app.accounts.tables import Member
from app.boards.service import standing
from app.content.feed import credits_by_name
from app.content.media import MAX_BYTES, ImageRefused, image_url, media_dir, save_photo
from app.core import db, files, i18n
from app.core.files import StorageUnavailable, staged, storage_unavailable_sentence
from app.core.forms import FormResult
from app.core.i18n import _
from app.org.service import organisation_name
from app.web.assets import HTMX_JS, IMMUTABLE, Assets
from app.web.pages import NO_CSRF_COOKIE, render, see_other
from app.web.requests import AnyRequest, settings_of

log = logging.getLogger("relay")

# What the service worker stores at install time: enough to show the shell offline.
PRECACHED_ASSETS = [
    "app.css",
    "app.js",
    HTMX_JS,
    "icons/icon-64.png",
    "icons/icon-192.png",
]


def assets_of(request: AnyRequest) -> Assets:
    return request.app.state.assets


@get("/me", name="me", guards=[signed_in])
async def me(request: AnyRequest) -> Any:
    member: Member = request.user
    return await render(
        request,
        "shell/me.html",
        credit_by_name=await credits_by_name(member.id),
        standing=(mine := await standing(member.id)),
        leaderboard_anonymous=mine["anonymous"],
        photo=image_url(member.photo, 192),
        max_mb=MAX_BYTES // (1024 * 1024),
    )


async def _photo_refused(request: AnyRequest, message: str) -> Any:
    member: Member = request.user
    return await render(
        request,
        "shell/me.html",
        block="photo_form",
        status_code=422,
        photo=image_url(member.photo, 192),
        photo_error=message,
        max_mb=MAX_BYTES // (1024 * 1024),
        credit_by_name=await credits_by_name(member.id),
        standing=(mine := await standing(member.id)),
        leaderboard_anonymous=mine["anonymous"],
    )


@post("/me/photo", status_code=200, name="set_photo", guards=[signed_in])
async def set_photo(request: AnyRequest, data: MultipartBody[dict[str, Any]]) -> Any:
    """The member's profile photo, checked and stored like every image (app.content.media):
    square variants under a new key; the old key's files are left to the sweep of files
    no row names (app.notifications.jobs), as the studio's replaced images are."""
    upload = (data or {}).get("photo")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _photo_refused(request, _("Choose a photo: a JPEG, PNG or WebP image."))
    content = await upload.read(MAX_BYTES + 1)
    member: Member = request.user
    try:
        async with staged(media_dir(settings_of(request).data_dir)) as stored:
            key = (await save_photo(content, upload.filename, stored)).key
            await Member.update({Member.photo: key}).where(Member.id == member.id)
    except ImageRefused as refused:
        return await _photo_refused(request, str(refused))
    except StorageUnavailable:
        return await _photo_refused(request, storage_unavailable_sentence())
    await sessions_changed()  # the member every process keeps with the session
    return see_other(request, "/me")


@post("/me/photo/remove", status_code=200, name="remove_photo", guards=[signed_in])
async def remove_photo(request: AnyRequest) -> Any:
    member: Member = request.user
    await Member.update({Member.photo: None}).where(Member.id == member.id)
    await sessions_changed()
    return see_other(request, "/me")


@post("/me/language", status_code=200, name="set_language", guards=[signed_in])
async def set_language(
    request: AnyRequest,
    data: URLEncodedBody[dict[str, str]],
) -> Any:
    form = FormResult.of(data)
    language = form.choice(
        "language", i18n.LANGUAGES, message=_("Choose one of the languages in the list.")
    )
    if language is None:
        return await render(
            request,
            "shell/me.html",
            block="language_form",
            status_code=422,
            language_error=form.errors["language"],
        )
    member: Member = request.user
    await Member.update({Member.language: language}).where(Member.id == member.id)
    await sessions_changed()  # the member every process keeps with the session
    # The whole page again (with htmx too), now in the new language.
    response = see_other(request, "/me")
    response.cookies.append(
        Cookie(
            key=i18n.LANG_COOKIE,
            value=language,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="lax",
            secure=request.app.state.settings.https,
        )
    )
    return response


@get("/offline", name="offline", guards=[anyone])
async def offline(request: AnyRequest) -> Any:
    return await render(request, "shell/offline.html")


@get("/manifest.webmanifest", name="manifest", guards=[anyone])
async def manifest(request: AnyRequest) -> Response[bytes]:
    assets = assets_of(request)
    name = await organisation_name()
    body = {
        "id": "/",
        "name": f"Relay · {name}" if name != "Relay" else "Relay",
        "short_name": "Relay",
        "description": _("Share your company's stories and jobs, and follow your referrals."),
        "lang": i18n.current_language.get(),
        "start_url": "/?source=pwa",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f6f5fb",
        "theme_color": "#4338ca",
        "categories": ["business", "productivity", "social"],
        "icons": [
            {
                "src": assets.url("icons/icon-192.png"),
                "sizes": "192x192",
                "type": "image/png",
                "purpose": "any",
            },
            {
                "src": assets.url("icons/icon-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "any",
            },
            {
                "src": assets.url("icons/maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    return Response(
        json.dumps(body, ensure_ascii=False).encode(),
        media_type="application/manifest+json",
        headers={"Cache-Control": "no-cache", "Vary": "Accept-Language, Cookie"},
    )


@get("/sw.js", name="service_worker", guards=[anyone])
async def service_worker(request: AnyRequest) -> Response[bytes]:
    assets = assets_of(request)
    source = assets.by_name["sw.js"].body.decode()
    precache = ["/offline", *(assets.url(n) for n in PRECACHED_ASSETS)]
    version = assets.fingerprint([*PRECACHED_ASSETS, "sw.js"])
    # A test push service is allowed: also the hook tests use to tap a notification.
    test_hooks = bool(request.app.state.settings.push_allowed_test_hosts)
    header = (
        f"const VERSION = {json.dumps(version)};\nconst PRECACHE = {json.dumps(precache)};\n"
        f"const TEST_HOOKS = {json.dumps(test_hooks)};\n"
    )
    return Response(
        (header + source).encode(),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


@get("/static/{path:path}", name="static", guards=[anyone], include_in_schema=False)
async def static(request: AnyRequest, path: FromPath[str]) -> Response[bytes]:
    found = assets_of(request).find(path)
    if found is None or found[0].name == "sw.js":
        raise NotFoundException()
    asset, current = found
    headers = {"Cache-Control": IMMUTABLE if current else "no-cache", "Vary": "Accept-Encoding"}
    body = asset.body
    if asset.gzipped and "gzip" in request.headers.get("accept-encoding", ""):
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=asset.media_type, headers=headers)


# A load balancer waits a few seconds for /healthz: it answers within this even when the
# database hangs (a SQLite query blocked by another writer waits up to its busy timeout).
HEALTH_DATABASE_TIMEOUT_S = 1.5


async def database_health() -> str | None:
    """The database's kind after a round trip, or None when it does not answer in time.

    The reason goes to the log, never into the answer: /healthz is public."""
    check = asyncio.ensure_future(db.ping())
    done, _pending = await asyncio.wait({check}, timeout=HEALTH_DATABASE_TIMEOUT_S)
    if not done:
        # Not awaited: a cancelled SQLite query ends only when its thread does.
        check.cancel()
        check.add_done_callback(lambda task: task.cancelled() or task.exception())
        log.warning("Health check: the database did not answer in %s s", HEALTH_DATABASE_TIMEOUT_S)
        return None
    if (error := check.exception()) is not None:
        log.warning("Health check: the database failed: %s: %s", type(error).__name__, error)
        return None
    return "postgresql" if db.is_postgres() else "sqlite"


@get("/healthz", name="health", guards=[anyone], cache=False)
async def health(request: AnyRequest) -> Response[dict[str, str]]:
    database = await database_health()
    if database is None:
        return Response({"status": "unavailable", "database": "unreachable"}, status_code=503)
    if not await data_dir_accepts_writes(request):
        body = {"status": "degraded", "database": database, "data_dir": "not writable"}
        return Response(body, status_code=503)
    return Response({"status": "ok", "database": database})


async def data_dir_accepts_writes(request: AnyRequest) -> bool:
    """Uploads need the data directory: a full or read-only one fails them all (a real
    write, in a thread: see app.core.files)."""
    return await anyio.to_thread.run_sync(files.data_dir_writable, settings_of(request).data_dir)


@get("/ping", name="ping", guards=[anyone], media_type="text/plain", opt={NO_CSRF_COOKIE: True})
async def ping() -> str:
    """No database, no template: the server's ceiling, for benchmarks and load balancers."""
    return "pong"


ROUTES = [
    me,
    set_photo,
    remove_photo,
    set_language,
    offline,
    manifest,
    service_worker,
    static,
    health,
    ping,
]
