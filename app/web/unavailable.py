"""What people see while the database cannot be reached: 503, a sentence, when to retry.

:func:`app.core.db.is_unavailable` decides which errors these are; the app's error handler
(``app.main.error_page``) hands them here. Nothing of the error reaches the response (no
exception name, message or address): the operator reads it in the log, once per request.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from litestar import Response
from litestar.plugins.htmx import HTMXRequest

from app.core.i18n import _
from app.web.pages import page

log = logging.getLogger("relay")

RETRY_AFTER_S = 30
# app.js shows this event's value in the page's live region: htmx swaps no error response.
NOTICE_EVENT = "relay:notice"


def asks_for_html(request: HTMXRequest) -> bool:
    """A browser page or htmx, as opposed to a script asking for JSON."""
    return "text/html" in request.headers.get("accept", "") or bool(request.htmx)


def unavailable_page(request: HTMXRequest, exc: BaseException) -> Response[Any]:
    log.warning(
        "Database unavailable on %s %s: %s: %s",
        request.method,
        request.url.path,
        type(exc).__name__,
        exc,
    )
    title = _("Relay is temporarily unavailable")
    message = _("This is on our side, not yours. Please try again in a minute.")
    headers = {"Retry-After": str(RETRY_AFTER_S), "Cache-Control": "no-store"}
    if not asks_for_html(request):
        return Response(
            {"status_code": 503, "detail": message, "error": message},
            status_code=503,
            headers=headers,
        )
    if request.htmx:
        # ASCII JSON (non-ASCII as \u escapes): header values are Latin-1.
        headers["HX-Trigger"] = json.dumps({NOTICE_EVENT: f"{title}. {message}"})
    return page(
        request,
        "shell/error.html",
        status_code=503,
        tab=None,
        org_name="Relay",
        title=title,
        message=message,
        status=503,
        # Trying the same address again is what helps; a form's POST is not repeated.
        retry_url=_same_address(request) if request.method == "GET" else None,
        headers=headers,
    )


def _same_address(request: HTMXRequest) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")
