"""The share sheet and recording a completed share (the page behind a tracked link, /r/{code},
is app.candidates.routes's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
from litestar import Response, get, post
from litestar.exceptions import NotFoundException, ServiceUnavailableException
from litestar.params import FromPath, JSONBody

from app.accounts.guards import anyone, member_of, signed_in
from app.content import editing, feed
from app.content.media import image_url, media_path
from app.content.video import video_urls
from app.core.files import StorageUnavailable, storage_unavailable_sentence
from app.core.i18n import _, ngettext
from app.org.service import organisation_colour, organisation_name
from app.sharing import images, service
from app.web.pages import APP_BLOCK, NO_CSRF_COOKIE, render, wants_fragment
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
        posts=await image_urls(request, item, url),
        video=video_urls(item["video"]),
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


async def _poster(request: AnyRequest, item: dict[str, Any], url: str, fmt: str) -> images.Poster:
    """What the member's image of ``item`` in format ``fmt`` shows."""
    picture = None
    if item["image"]:
        path = media_path(settings_of(request).data_dir, f"{item['image']}-1200.jpg")
        picture = str(path) if path else None
    return images.Poster(
        format=fmt,
        title=item["title"],
        org_name=await organisation_name(),
        colour=await organisation_colour(),
        qr_url=images.qr_url(url),
        call_to_action=_("Scan to apply") if item["kind"] == "offer" else _("Scan to read"),
        image=picture,
    )


async def image_urls(request: AnyRequest, item: dict[str, Any], url: str) -> dict[str, str]:
    """The URLs of the member's story and post images of ``item`` (made when first asked)."""
    member_id = request.user.id
    return {
        fmt: f"/share-images/{item['id']}/"
        + images.file_name(member_id, await _poster(request, item, url, fmt))
        for fmt in images.FORMATS
    }


@get(
    "/share-images/{item_id:int}/{name:str}",
    name="share_image",
    guards=[anyone],
    opt={NO_CSRF_COOKIE: True},
)
async def share_image(
    request: AnyRequest, item_id: FromPath[int], name: FromPath[str]
) -> Response[bytes]:
    """A member's story or post image: served from disk when made (its name is unguessable
    and changes with what it shows), else made for the signed-in member it belongs to."""
    data_dir = settings_of(request).data_dir
    # The warm path: one read of a small file the page cache holds, no database, no thread.
    data = images.cached_bytes(data_dir, item_id, name)
    if data is None:
        path = await _make_image(request, item_id, name)
        try:
            data = await anyio.Path(path).read_bytes()
        except OSError:  # removed meanwhile (the item was withdrawn)
            raise NotFoundException() from None
    return Response(
        data,
        media_type="image/jpeg",
        headers={"Cache-Control": "private, max-age=31536000, immutable"},
    )


async def _make_image(request: AnyRequest, item_id: int, name: str) -> Path:
    match = images.FILE_NAME.match(name)
    member = member_of(request)
    if match is None or member is None or int(match.group(1)) != member.id:
        raise NotFoundException()
    data_dir = settings_of(request).data_dir
    item = await feed.visible_item(member, item_id)
    if item is None:
        if await feed.withdrawn(item_id):
            images.forget_item(data_dir, item_id)
        raise NotFoundException()
    url = service.share_url(
        settings_of(request).public_url, await service.link_code(member.id, item_id)
    )
    poster = await _poster(request, item, url, match.group(2))
    if images.file_name(member.id, poster) != name:
        raise NotFoundException()  # an older image: the sheet names the current one
    try:
        made = await anyio.to_thread.run_sync(images.make, data_dir, item_id, member.id, poster)
    except StorageUnavailable:
        raise ServiceUnavailableException(storage_unavailable_sentence()) from None
    return images.folder_of(data_dir, item_id) / made


ROUTES = [share_sheet, record_share, share_image]
