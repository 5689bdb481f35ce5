"""The share sheet, recording a completed share, and the public page behind a tracked link."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.enums import MediaType
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody
from litestar.utils.scope.state import ScopeState

from app.accounts.guards import anyone, signed_in
from app.candidates.routes import landing_context, note_landing
from app.candidates.visits import is_preview
from app.content import service as content
from app.content.markdown import plain_excerpt, render_markdown
from app.content.media import image_url
from app.core.i18n import current_language as language_var
from app.core.i18n import ngettext
from app.sharing import service
from app.web.pagecache import RenderedPages, accepts_gzip, slot
from app.web.pages import (
    APP_BLOCK,
    SKIP_COMPRESSION,
    base_context,
    render,
    render_html,
    wants_fragment,
)
from app.web.requests import AnyRequest, settings_of


@get("/items/{item_id:int}/share", name="share_sheet", guards=[signed_in], opt={"tab": "feed"})
async def share_sheet(request: AnyRequest, item_id: FromPath[int]) -> Response[str]:
    member = request.user
    item = await content.visible_item(member, item_id)
    if item is None:
        raise NotFoundException()
    code = await service.link_code(member.id, item_id)
    url = service.share_url(settings_of(request).public_url, code)
    captions = content.load_captions(item["captions"])
    suggestions = [
        (network, caption) for network in content.NETWORKS for caption in captions.get(network, [])
    ]
    caption = suggestions[0][1] if suggestions else item["title"]
    return await render(
        request,
        "content/share.html",
        item=item,
        url=url,
        caption=caption,
        suggestions=suggestions,
        network_names=content.NETWORK_NAMES,
        links=service.network_links(url, item["title"], caption),
        image=image_url(item["image"], 1200),
        already=await service.shares_of(member.id, item_id),
        guides=content.GUIDE_NETWORKS,
    )


@post("/items/{item_id:int}/shares", status_code=200, name="record_share", guards=[signed_in])
async def record_share(
    request: AnyRequest, item_id: FromPath[int], data: JSONBody[dict[str, Any]]
) -> Response[dict[str, Any]]:
    """Called by share.js once a share completed (never for a cancelled one)."""
    member = request.user
    network = data.get("network") if isinstance(data, dict) else None
    if network not in service.SHARE_NETWORKS:
        return Response({"error": "unknown network"}, status_code=422)
    if await content.visible_item(member, item_id) is None:
        raise NotFoundException()
    shared = await service.share(member.id, item_id, str(network))
    answer: dict[str, Any] = {"recorded": shared.recorded, "points": shared.points}
    if shared.points:
        answer["message"] = ngettext("+%(num)d point", "+%(num)d points", shared.points) % {
            "num": shared.points
        }
    return Response(answer)


# The public page, rendered once per link, language and kind of visitor, then kept a few
# seconds: a request only fills in its CSRF token and its beacon token.
LANDING_PAGES = RenderedPages()


# Compressed here, from the cached page's compressed pieces (app.web.pagecache).
@get("/r/{code:str}", name="landing", guards=[anyone], opt={SKIP_COMPRESSION: True})
async def landing(request: AnyRequest, code: FromPath[str]) -> Response[Any]:
    """The public page behind a tracked link: no sign-in, rich previews, never a redirect."""
    view = not is_preview(request.method, request.headers.get("user-agent", ""))
    fragment = wants_fragment(request)
    key = (code, language_var.get(), fragment, view)
    page = LANDING_PAGES.get(key)
    if page is None:
        item = await service.landing(code)
        if item is None:
            return await render(
                request,
                "content/landing_missing.html",
                status_code=404,
                offers=await content.open_offers(),
                contracts=content.CONTRACTS,
            )
        page = LANDING_PAGES.put(key, await _landing_page(request, item, view, fragment))
    # The visit, buffered (no write on this path), and this visitor's tokens.
    beacon = await note_landing(request, code, view)
    csrf = ScopeState.from_scope(request.scope).csrf_token
    gzip = accepts_gzip(request.headers.get("accept-encoding", ""))
    return Response(
        page.body({"beacon": beacon or "", "csrf": csrf if isinstance(csrf, str) else ""}, gzip),
        media_type=MediaType.HTML,
        headers={
            "Vary": "HX-Request, Accept-Encoding",
            "Cache-Control": "no-cache",
            **({"Content-Encoding": "gzip"} if gzip else {}),
        },
    )


async def _landing_page(
    request: AnyRequest, item: dict[str, Any], view: bool, fragment: bool
) -> str:
    """The page as every such visitor gets it, with slots for the per-request tokens."""
    settings = settings_of(request)
    status = content.status_of(item)
    closed = item["kind"] == "offer" and item["offer_status"] != "open"
    gone = status != "published"
    image = image_url(item["image"], 1200)
    return render_html(
        request,
        "content/landing.html",
        APP_BLOCK if fragment else None,
        fragment=fragment,
        **await base_context(request),
        # The same page for everyone: nothing of whoever happened to ask first.
        member=None,
        csrf_token=lambda: slot("csrf"),
        item=item,
        gone=gone,
        closed=closed,
        body_html=render_markdown(item["body"]),
        description=plain_excerpt(item["body"], 200) or item["title"],
        canonical=service.share_url(settings.public_url, item["code"]),
        image_absolute=f"{settings.public_url}{image}" if image else None,
        image=image,
        offers=await content.open_offers() if (closed or gone) else [],
        contracts=content.CONTRACTS,
        remote=content.REMOTE,
        page_language=item["language"] or language_var.get(),
        **await landing_context(view),
    )


ROUTES = [share_sheet, record_share, landing]
