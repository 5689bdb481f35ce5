"""The application factory: every plugin, route and middleware is wired here."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, suppress
from typing import Any, cast
from urllib.parse import quote

from litestar import Litestar, Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.exceptions import (
    HTTPException,
    MissingDependencyException,
    NotAuthorizedException,
    PermissionDeniedException,
)
from litestar.middleware import DefineMiddleware
from litestar.plugins import PluginProtocol
from litestar.plugins.htmx import HTMXPlugin, HTMXRequest
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from app.accounts.guards import anyone
from app.accounts.routes_people import ROUTES as PEOPLE_ROUTES
from app.accounts.routes_security import ROUTES as SECURITY_ROUTES
from app.accounts.routes_signin import ROUTES as SIGNIN_ROUTES
from app.accounts.sessions import SessionBus, keep_sessions, session_middleware
from app.boards.routes import ROUTES as BOARD_ROUTES
from app.boards.service import MostShared, TeamRankings
from app.candidates.pipeline import PurgeSchedule
from app.candidates.routes import ROUTES as CANDIDATE_ROUTES
from app.candidates.routes_overview import ROUTES as CANDIDATE_OVERVIEW_ROUTES
from app.candidates.visits import VisitRecorder
from app.content.routes import ROUTES as CONTENT_ROUTES
from app.content.studio import ROUTES as STUDIO_ROUTES
from app.core import db, i18n
from app.core.i18n import _
from app.core.memory import MemoryTrim
from app.core.settings import Settings
from app.core.tasks import BackgroundTask
from app.events.routes import ROUTES as EVENT_ROUTES
from app.events.service import event_of_item
from app.insights.routes import ROUTES as INSIGHT_ROUTES
from app.integrations import oidc
from app.integrations.api import BASE_PATH as API_BASE_PATH
from app.integrations.routes_admin import ROUTES as INTEGRATION_ADMIN_ROUTES
from app.integrations.routes_api import ROUTER as API_ROUTER
from app.integrations.routes_api import api_error
from app.integrations.routes_api import openapi_config as api_openapi_config
from app.integrations.routes_ats import ROUTES as ATS_ROUTES
from app.integrations.routes_oidc import ROUTES as SSO_ROUTES
from app.integrations.routes_scim import ROUTER as SCIM_ROUTER
from app.integrations.webhooks import EmbeddedWebhookSender
from app.mail.service import EmbeddedMailSender
from app.notifications.campaigns import KeptReach
from app.notifications.jobs import NotificationJobs
from app.notifications.routes import ROUTES as NOTIFICATION_ROUTES
from app.points.routes import ROUTES as POINTS_ROUTES
from app.rewards.routes import ROUTES as REWARD_ROUTES
from app.sharing import images as share_images
from app.sharing.routes import ROUTES as SHARING_ROUTES
from app.shell.compose import member_time_zone, person_points
from app.shell.context import page_context
from app.shell.feed import ROUTES as FEED_ROUTES
from app.shell.routes import ROUTES as SHELL_ROUTES
from app.voice.routes import ROUTES as VOICE_ROUTES
from app.web.assets import Assets
from app.web.compression import GzipMiddleware
from app.web.guarding import run_guards_in_place
from app.web.pages import GZIP_LEVEL, SKIP_COMPRESSION, page, see_other, wants_fragment
from app.web.ratelimit import RateLimiter, TooManyAttempts
from app.web.security import security_headers_hook
from app.web.templating import template_config
from app.web.unavailable import asks_for_html, unavailable_page
from app.web.validation import UNREADABLE_INPUT, refusal, screen_request
from app.wiring import JOBS, wire
from push.worker import PushWorker

log = logging.getLogger("relay")


class Relay(Litestar):
    """Litestar without the pydantic plugins it adds whenever pydantic is installed: no
    handler, DTO or schema of Relay's uses pydantic (SCIM's models are dumped to JSON by
    app.integrations.scim_http itself), and importing them loads pydantic, about 8 MB, into
    every web process (issue 15). The other default plugins are Litestar's own list."""

    @staticmethod
    def _get_default_plugins(plugins: list[PluginProtocol]) -> list[PluginProtocol]:
        from litestar.plugins.core import MsgspecDIPlugin

        plugins.append(MsgspecDIPlugin())
        with suppress(MissingDependencyException):
            from litestar.plugins.attrs import AttrsSchemaPlugin

            if not any(isinstance(plugin, AttrsSchemaPlugin) for plugin in plugins):
                plugins.append(AttrsSchemaPlugin())
        return plugins


def error_page(connection: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Errors as pages people can read, in their language; JSON for API callers."""
    # Built from the app's request class, as every request is (HTMXPlugin).
    request = cast(HTMXRequest, connection)
    if request.url.path.startswith(API_BASE_PATH + "/"):
        # Refused before the API's router (an unknown path or method): its problem documents.
        return api_error(request, exc)
    # Errors raised before routing (an unknown URL) never went through the locale middleware.
    i18n.current_language.set(i18n.language_for_scope(dict(request.scope)))
    if db.is_unavailable(exc):
        return unavailable_page(request, exc)
    status = exc.status_code if isinstance(exc, HTTPException) else HTTP_500_INTERNAL_SERVER_ERROR
    wants_html = asks_for_html(request)
    if isinstance(exc, NotAuthorizedException) and wants_html:
        # Not signed in (or signed out meanwhile): to the sign-in page, then back here.
        target = "/signin"
        if request.method == "GET" and request.url.path != "/":
            target = f"/signin?next={quote(request.url.path)}"
        return see_other(request, target)
    if status >= 500:
        log.exception("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    headers = exc.headers if isinstance(exc, TooManyAttempts) else None
    if not wants_html:
        detail = exc.detail if isinstance(exc, HTTPException) and status < 500 else "error"
        return Response(
            {"status_code": status, "detail": detail, "error": detail},
            status_code=status,
            headers=headers,
        )
    messages = {
        400: (_("That request could not be understood"), _("Please go back and try again.")),
        403: (
            _("You can't do that here"),
            _("Your session may have expired. Reload the page and try again."),
        ),
        404: (
            _("Page not found"),
            _("The link may be old or mistyped. Let's get you back to the feed."),
        ),
        405: (_("That request could not be understood"), _("Please go back and try again.")),
        429: (
            _("Too many attempts"),
            _("Please wait a minute before you try again."),
        ),
    }
    title, message = messages.get(
        status,
        (_("Something went wrong on our side"), _("We've been told. Please try again shortly.")),
    )
    if isinstance(exc, PermissionDeniedException) and "CSRF" not in str(exc.detail):
        title, message = (
            _("This page is not for you"),
            _("Your role in Relay does not give access to it. Ask an admin if you need it."),
        )
    if isinstance(exc, TooManyAttempts) and wants_fragment(request):
        return Response(
            f'<p class="field-error" role="alert">{exc.detail}</p>',
            status_code=status,
            media_type="text/html",
            headers=headers,
        )
    return page(
        request,
        "shell/error.html",
        status_code=status,
        tab=None,
        org_name="Relay",
        title=title,
        message=message,
        status=status,
        headers=headers,
    )


# What Litestar's ``lifespan`` takes: an async context manager, or a function of the app giving one.
Lifespan = Callable[[Litestar], AbstractAsyncContextManager[Any]] | AbstractAsyncContextManager[Any]


def embedded_workers(settings: Settings) -> list[BackgroundTask]:
    """The embedded default (RELAY_EMBEDDED_WORKER): this process also sends the push outbox,
    runs the periodic jobs, sends mail as soon as it is queued here (the jobs retry what
    failed) and purges candidates past the admin's limits (at scale: `relay worker`
    processes, and `relay purge` from cron)."""
    return [
        PushWorker(settings),
        NotificationJobs(settings, jobs=JOBS),
        EmbeddedMailSender(settings),
        EmbeddedWebhookSender(settings),
        PurgeSchedule(settings.data_dir),
    ]


def serve_app() -> Litestar:
    """The app as `relay serve` runs it in each web process: :func:`create_app`, and a
    thread that loads meanwhile what first requests would otherwise wait for (the share
    images' fonts and encoder). Tests build apps with :func:`create_app` and skip it.

    The objects made so far (the modules, the app: 180,000 of the 190,000 a process has
    once its pages were drawn) are frozen out of the garbage collector's full collections:
    one walked them all, 200 to 700 ms at a load of 12 (under 16 ms once frozen), holding up
    every request in flight, which showed as a p99 several times the p50. They live as long
    as the process anyway."""
    app = create_app()
    gc.collect()
    gc.freeze()
    threading.Thread(target=share_images.warm_up, name="warm-up", daemon=True).start()
    return app


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    wire()
    db.use_engine(db.engine_from_url(settings.database_url, settings.sqlite_busy_timeout_s))
    assets = Assets(settings.root / "static")
    limiter = RateLimiter(settings.redis_url)
    # Clicks are counted once per address and hour in the same shared store as rate limits.
    visits = VisitRecorder(limiter.counter)
    # Litestar enters these in order and leaves them in reverse: the pool opens first and
    # closes last, so the visits still buffered and the last rounds of the embedded workers
    # are written before it closes.
    lifespan: list[Lifespan] = [
        lambda _app: db.connection_pool(settings.database_pool_size),
        visits,
        MemoryTrim(),
    ]
    if settings.redis_url:
        # Every process hears of session changes from the others (app.accounts.sessions).
        lifespan.append(SessionBus(settings.redis_url))
    # Without Redis a process keeps sessions only when it is the only web process.
    keep_sessions(bool(settings.redis_url) or settings.web_concurrency == 1)
    if settings.embedded_worker:
        lifespan += embedded_workers(settings)

    app = Relay(
        route_handlers=[
            *SHELL_ROUTES,
            *SIGNIN_ROUTES,
            *SECURITY_ROUTES,
            *PEOPLE_ROUTES,
            *FEED_ROUTES,
            *CONTENT_ROUTES,
            *SHARING_ROUTES,
            *STUDIO_ROUTES,
            *NOTIFICATION_ROUTES,
            *VOICE_ROUTES,
            *INSIGHT_ROUTES,
            *CANDIDATE_ROUTES,
            *CANDIDATE_OVERVIEW_ROUTES,
            *POINTS_ROUTES,
            *REWARD_ROUTES,
            *BOARD_ROUTES,
            *EVENT_ROUTES,
            *INTEGRATION_ADMIN_ROUTES,
            *ATS_ROUTES,
            *SSO_ROUTES,
            SCIM_ROUTER,
            API_ROUTER,
        ],
        lifespan=lifespan,
        template_config=template_config(settings.root / "templates", assets),
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="__Host-csrf" if settings.https else "relay_csrf",
            cookie_secure=settings.https,
            cookie_httponly=True,
            cookie_samesite="lax",
            header_name="x-csrftoken",
        ),
        # Outermost first; Litestar's CSRF middleware runs inside these, next to the handler.
        middleware=[
            session_middleware(settings.https, settings.session_idle_lifetime),
            i18n.locale_middleware,
            DefineMiddleware(
                GzipMiddleware,
                level=GZIP_LEVEL,
                minimum_size=512,
                exclude_prefixes=["/static/"],  # served gzipped already when it helps
                skip_opt_key=SKIP_COMPRESSION,
            ),
        ],
        before_send=[security_headers_hook(settings.https)],
        before_request=screen_request,
        exception_handlers={
            Exception: error_page,
            **dict.fromkeys(UNREADABLE_INPUT, lambda r, e: error_page(r, refusal(e))),
        },
        plugins=[HTMXPlugin()],
        state=State(
            {
                "settings": settings,
                "assets": assets,
                "limiter": limiter,
                "visits": visits,
                "team_rankings": TeamRankings(),
                "most_shared": MostShared(),
                "campaign_reach": KeptReach(),
                "page_context": page_context,
                "time_zone_of": member_time_zone,
                "person_points": person_points,
                "event_of_item": event_of_item,
                "sso_choices": oidc.sign_in_choices,
                "sso_required": oidc.sso_required,
            }
        ),
        # The OpenAPI schema describes the ATS's API only (its router opts in), at /api/v1/schema.
        openapi_config=api_openapi_config(settings),
        include_in_schema=False,
        debug=False,
    )
    run_guards_in_place(app, no_ops=[anyone])
    return app
