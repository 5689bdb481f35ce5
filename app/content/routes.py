"""The employee's side of content: the feed, an item's page, guides, media, my sharing setting."""

from __future__ import annotations

from litestar import Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody

from app.accounts.guards import anyone, signed_in
from app.content import editing, guides
from app.content import feed as content_feed
from app.content.markdown import render_markdown
from app.content.media import image_url, media_path
from app.core.i18n import current_language as language_var
from app.points.challenges import challenges_on
from app.sharing.service import genuine_clicks_by_item, shares_of
from app.web.assets import IMMUTABLE
from app.web.pages import render, wants_fragment
from app.web.requests import AnyRequest, settings_of


@get("/", name="feed", guards=[signed_in], opt={"tab": "feed"})
async def feed(
    request: AnyRequest,
    kind: FromQuery[str | None] = None,
    tag: FromQuery[str | None] = None,
    q: FromQuery[str | None] = None,
    after: FromQuery[str | None] = None,
) -> Response[str]:
    member = request.user
    kind = kind if kind in {"story", "offer"} else None
    page = await content_feed.feed_page(member, kind=kind, tag=tag, search=q, after=after)
    next_page = after is not None and wants_fragment(request)
    if after is None:
        since = await content_feed.mark_feed_visit(member.id)
    else:
        state = await content_feed.feed_state(member.id)
        since = state["previous_seen_at"] if state else None
    ids = [c["id"] for c in page.cards]
    clicks = await genuine_clicks_by_item(member.id, ids)
    challenges = await challenges_on(ids, editing.now())
    cards = []
    for row in page.cards:
        card = content_feed.card_view(row)
        card["clicks"] = clicks.get(row["id"], 0)
        card["challenge"] = challenges.get(row["id"])
        card["is_new"] = since is not None and row["publish_at"] > since
        cards.append(card)
    filters = {"kind": kind or "", "tag": tag or "", "q": q or ""}
    return await render(
        request,
        "content/feed.html",
        block="cards" if next_page else "app",
        cards=cards,
        next_cursor=page.next_cursor,
        filters=filters,
        tags=await content_feed.feed_tags() if not next_page else [],
        filtered=bool(kind or tag or q),
        contracts=editing.CONTRACTS,
        remote=editing.REMOTE,
    )


@get("/items/{item_id:int}", name="item", guards=[signed_in], opt={"tab": "feed"})
async def item_page(request: AnyRequest, item_id: FromPath[int]) -> Response[str]:
    member = request.user
    item = await content_feed.visible_item(member, item_id)
    if item is None:
        raise NotFoundException()
    clicks = await genuine_clicks_by_item(member.id, [item_id])
    return await render(
        request,
        "content/item.html",
        item=item,
        body_html=render_markdown(item["body"]),
        image=image_url(item["image"], 1200),
        tag_list=editing.tags_of(item["tags"]),
        networks_shared=await shares_of(member.id, item_id),
        clicks=clicks.get(item_id, 0),
        contracts=editing.CONTRACTS,
        remote=editing.REMOTE,
    )


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


ROUTES = [feed, item_page, guide, media, set_credit]
