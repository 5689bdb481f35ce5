"""The employee's side of content: guides, media, my sharing setting (the feed and an item's
page, which show each card's clicks, shares and challenge, are app.shell.feed)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody

from app.accounts.guards import anyone, member_of, signed_in
from app.accounts.tables import ROLE_RANK, Role
from app.content import editing, guides
from app.content import feed as content_feed
from app.content.markdown import render_markdown
from app.content.media import media_path
from app.content.tables import ContentItem
from app.content.video import ranged_file, video_file
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
    return await ranged_file(request, path, media_type, "public, max-age=600")


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
