"""The employee's side of content: guides, media, my sharing setting (the feed and an item's
page, which show each card's clicks, shares and challenge, are app.shell.feed)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import anyio
from litestar import Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Stream

from app.accounts.guards import anyone, member_of, signed_in
from app.accounts.tables import ROLE_RANK, Role
from app.content import editing, guides
from app.content import feed as content_feed
from app.content.markdown import render_markdown
from app.content.media import media_path
from app.content.tables import ContentItem
from app.content.video import video_file
from app.core.i18n import current_language as language_var
from app.web.assets import IMMUTABLE
from app.web.pages import NO_CSRF_COOKIE, SKIP_COMPRESSION, render, see_other
from app.web.requests import AnyRequest, settings_of


@get("/guides/{network:str}", name="guide", guards=[signed_in], opt={"tab": "feed"})
async def guide(request: AnyRequest, network: FromPath[str]) -> Response[str]:
    if network not in editing.NETWORKS:
        raise NotFoundException()
    text = await guides.guide_text(network, language_var.get())
    return await render(
        request,
        "content/guide.html",
        network=network,
        network_name=editing.NETWORK_NAMES[network],
        networks=editing.NETWORK_NAMES,
        guide_html=render_markdown(text),
        back=request.query_params.get("item", ""),
    )


@get("/media/{name:str}", name="media", guards=[anyone], opt={NO_CSRF_COOKIE: True})
async def media(request: AnyRequest, name: FromPath[str]) -> Response[bytes]:
    """Uploaded images: public (shared pages show them), named by key, cached for a year."""
    path = media_path(settings_of(request).data_dir, name)
    if path is None:
        raise NotFoundException()
    return Response(
        path.read_bytes(),
        media_type="image/jpeg",
        headers={"Cache-Control": IMMUTABLE},
    )


RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 256 * 1024


def byte_range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """The (first, last) bytes a single-range ``Range`` header asks for; None to send the
    whole file (no header, or several ranges); False when it cannot be satisfied."""
    match = RANGE.match((header or "").replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return False
    if not first:  # the last N bytes
        count = int(last[:12])
        return (max(0, size - count), size - 1) if count else False
    start = int(first[:12])
    end = min(int(last[:12]), size - 1) if last else size - 1
    return (start, end) if start <= end and start < size else False


async def _chunks(path: Any, start: int, length: int) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as file:
        await file.seek(start)
        while length > 0:
            chunk = await file.read(min(CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


@get(
    "/videos/{name:str}",
    name="video",
    guards=[anyone],
    opt={SKIP_COMPRESSION: True, NO_CSRF_COOKIE: True},
)
async def video(request: AnyRequest, name: FromPath[str]) -> Response[Any]:
    """An uploaded video or its poster, in byte ranges as players ask (iPhones play nothing
    otherwise): public while its item is published, for editors always (the studio)."""
    found = video_file(settings_of(request).data_dir, name)
    if found is None:
        raise NotFoundException()
    path, media_type, videos = found
    query = ContentItem.exists().where(ContentItem.video.is_in(videos))
    member = member_of(request)
    if member is None or ROLE_RANK[Role(member.role)] < ROLE_RANK[Role.editor]:
        query = query.where(
            ContentItem.publish_at.is_not_null() & ContentItem.archived_at.is_null()
        )
    if not await query:
        raise NotFoundException()
    try:
        size = (await anyio.Path(path).stat()).st_size
    except OSError:
        raise NotFoundException() from None
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "public, max-age=600"}
    wanted = byte_range(request.headers.get("range"), size)
    if wanted is False:
        return Response(
            b"", status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"}
        )
    start, end = wanted if isinstance(wanted, tuple) else (0, size - 1)
    if isinstance(wanted, tuple):
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    return Stream(
        _chunks(path, start, end - start + 1),
        media_type=media_type,
        status_code=206 if isinstance(wanted, tuple) else 200,
        headers=headers,
    )


@post("/me/sharing", status_code=200, name="set_credit", guards=[signed_in])
async def set_credit(request: AnyRequest, data: URLEncodedBody[dict[str, str]]) -> Response[str]:
    member = request.user
    credit = data.get("credit", "") == "on"
    await content_feed.set_credit_by_name(member.id, credit)
    if not request.htmx:  # the Save button, without JavaScript: the Me page again
        return see_other(request, "/me")
    return await render(
        request,
        "shell/me.html",
        block="credit_form",
        credit_by_name=credit,
        credit_saved=True,
    )


ROUTES = [guide, media, video, set_credit]
