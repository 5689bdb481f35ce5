"""The employee's side of content: guides, media, my sharing setting (the feed and an item's
page, which show each card's clicks, shares and challenge, are app.shell.feed)."""

from __future__ import annotations

from litestar import Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody

from app.accounts.guards import anyone, signed_in
from app.content import editing, guides
from app.content import feed as content_feed
from app.content.markdown import render_markdown
from app.content.media import media_path
from app.core.i18n import current_language as language_var
from app.web.assets import IMMUTABLE
from app.web.pages import render
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


@get("/media/{name:str}", name="media", guards=[anyone])
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


@post("/me/sharing", status_code=200, name="set_credit", guards=[signed_in])
async def set_credit(request: AnyRequest, data: URLEncodedBody[dict[str, str]]) -> Response[str]:
    member = request.user
    credit = data.get("credit", "") == "on"
    await content_feed.set_credit_by_name(member.id, credit)
    return await render(
        request,
        "shell/me.html",
        block="credit_form",
        credit_by_name=credit,
        credit_saved=True,
    )


ROUTES = [guide, media, set_credit]
