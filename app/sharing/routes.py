"""The share sheet and recording a completed share (the page behind a tracked link, /r/{code},
is app.candidates.routes's)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody

from app.accounts.guards import signed_in
from app.content import editing, feed
from app.content.media import image_url
from app.core.i18n import ngettext
from app.sharing import service
from app.web.pages import (
    render,
)
from app.web.requests import AnyRequest, settings_of


@get("/items/{item_id:int}/share", name="share_sheet", guards=[signed_in], opt={"tab": "feed"})
async def share_sheet(request: AnyRequest, item_id: FromPath[int]) -> Response[str]:
    member = request.user
    item = await feed.visible_item(member, item_id)
    if item is None:
        raise NotFoundException()
    code = await service.link_code(member.id, item_id)
    url = service.share_url(settings_of(request).public_url, code)
    captions = editing.load_captions(item["captions"])
    suggestions = [
        (network, caption) for network in editing.NETWORKS for caption in captions.get(network, [])
    ]
    caption = suggestions[0][1] if suggestions else item["title"]
    return await render(
        request,
        "content/share.html",
        item=item,
        url=url,
        caption=caption,
        suggestions=suggestions,
        network_names=editing.NETWORK_NAMES,
        links=service.network_links(url, item["title"], caption),
        image=image_url(item["image"], 1200),
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
