"""The landing page's visit recording and beacon, and the admin page on how clicks count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from litestar import Response, get, head, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath

from app.accounts.guards import admin, anyone
from app.candidates import service
from app.candidates.visits import (
    VisitRecorder,
    beacon_is_valid,
    beacon_issued,
    beacon_token,
    is_preview,
)
from app.clock import now
from app.org.service import organisation_name
from app.sharing.tables import ShareLink
from app.web.pages import render
from app.web.requests import AnyRequest, client_of, settings_of


def recorder_of(request: AnyRequest) -> VisitRecorder:
    return request.app.state.visits


def _viewer(request: AnyRequest) -> int | None:
    member = request.scope.get("state", {}).get("member")
    return member.id if member is not None else None


async def note_landing(request: AnyRequest, code: str) -> str | None:
    """Buffer this request to ``/r/{code}`` (no write here); the beacon token for a view,
    None for a preview."""
    recorder = recorder_of(request)
    user_agent = request.headers.get("user-agent", "")
    visitor = await recorder.visitor(client_of(request), user_agent)
    if is_preview(request.method, user_agent):
        recorder.note("preview", code, visitor)
        return None
    recorder.note("view", code, visitor, _viewer(request))
    return beacon_token(settings_of(request).secret_key, code, visitor)


@head("/r/{code:str}", name="landing_head", guards=[anyone])
async def landing_head(request: AnyRequest, code: FromPath[str]) -> Response[None]:
    """A HEAD on a tracked link (link checkers, some previewers): a preview, never a click."""
    if not code or len(code) > 16 or not await ShareLink.exists().where(ShareLink.code == code):
        return Response(None, status_code=404)
    await note_landing(request, code)
    return Response(None, media_type="text/html", headers={"Cache-Control": "no-cache"})


@post(
    "/r/{code:str}/seen",
    status_code=204,
    name="landing_beacon",
    guards=[anyone],
    # Safe without the CSRF cookie: the body must carry the page's signed, short-lived token,
    # bound to this link and to the visitor that loaded the page. It can only add a click.
    exclude_from_csrf=True,
)
async def landing_beacon(
    request: AnyRequest,
    code: FromPath[str],
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[None]:
    """``static/beacon.js`` reports that a real browser showed the page: a genuine click."""
    user_agent = request.headers.get("user-agent", "")
    token = data.get("token", "") if isinstance(data, dict) else ""
    fetch_site = request.headers.get("sec-fetch-site")
    if is_preview(request.method, user_agent) or fetch_site not in (None, "same-origin"):
        return Response(None, status_code=400)
    issued = beacon_issued(token)
    if issued is None:
        return Response(None, status_code=400)
    recorder = recorder_of(request)
    # The visitor as hashed when the page was served: with that day's key.
    issued_day = datetime.fromtimestamp(issued, UTC).date()
    visitor = await recorder.visitor(client_of(request), user_agent, issued_day)
    if not beacon_is_valid(settings_of(request).secret_key, code, visitor, token):
        return Response(None, status_code=400)
    recorder.note("beacon", code, visitor, _viewer(request))
    return Response(None, status_code=204)


@get("/admin/clicks", name="click_figures", guards=[admin])
async def click_figures(request: AnyRequest) -> Response[str]:
    """What Relay counts as a click, and the figures."""
    return render(
        request,
        "candidates/clicks.html",
        tab="admin",
        org_name=await organisation_name(),
        week=await service.click_figures(now() - timedelta(days=7)),
        total=await service.click_figures(),
    )


ROUTES = [landing_head, landing_beacon, click_figures]
