"""The share sheet and recording a completed share (the page behind a tracked link, /r/{code},
is app.candidates.routes's)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody

from app.accounts.guards import signed_in
from app.content import editing, feed
from app.content.media import image_url
from app.core.i18n import ngettext
from app.sharing import service
from app.web.pages import APP_BLOCK, render, wants_fragment
from app.web.requests import AnyRequest, settings_of

# The element of the feed's and item page's bottom sheet (content/_share_dialog.html) that
# htmx fills with the share page's sheet.
SHEET_TARGET = "share-dialog-body"


@get("/items/{item_id:int}/share", name="share_sheet", guards=[signed_in], opt={"tab": "feed"})
async def share_sheet(request: AnyRequest, item_id: FromPath[int]) -> Response[str]:
    member = request.user
    item = await feed.visible_item(member, item_id)
    if item is None:
        raise NotFoundException()
    code = await service.link_code(member.id, item_id)
    url = service.share_url(settings_of(request).public_url, code)
    suggestions = service.suggested_captions(item)
    caption = service.default_caption(item)
    image = image_url(item["image"], 1200)
    in_sheet = wants_fragment(request) and request.headers.get("hx-target") == SHEET_TARGET
    return await render(
        request,
        "content/share.html",
        block="sheet" if in_sheet else APP_BLOCK,
        headers={"Vary": "HX-Request, HX-Target"},
        item=item,
        url=url,
        caption=caption,
        suggestions=suggestions,
        network_names=editing.NETWORK_NAMES,
        links=service.network_links(url, item["title"], caption),
        image=image,
        # The link card LinkedIn builds from the landing page's Open Graph tags.
        preview={"title": item["title"], "image": image, "host": urlsplit(url).hostname or ""},
        already=await service.shares_of(member.id, item_id),
        guides=editing.NETWORKS,
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
    if await feed.visible_item(member, item_id) is None:
        raise NotFoundException()
    shared = await service.share(member.id, item_id, str(network))
    answer: dict[str, Any] = {"recorded": shared.recorded, "points": shared.points}
    if shared.points:
        answer["message"] = ngettext("+%(num)d point", "+%(num)d points", shared.points) % {
            "num": shared.points
        }
    return Response(answer)


ROUTES = [share_sheet, record_share]
