"""The feed and an item's page: content with what later domains say of each card (its clicks
and shares, from sharing; its challenge, from points). Composed here, in the shell, which may
import any domain; content comes before them."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery

from app.accounts.guards import signed_in
from app.candidates import applications
from app.content import editing
from app.content import feed as content_feed
from app.content.markdown import render_markdown
from app.content.media import image_url
from app.content.video import video_urls
from app.core.i18n import current_language
from app.points.challenges import challenges_on
from app.sharing.service import (
    default_caption,
    genuine_clicks_by_item,
    link_codes,
    share_url,
    shares_of,
)
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
    codes = await link_codes(member.id, ids)
    public_url = settings_of(request).public_url
    cards = []
    for row in page.cards:
        card = content_feed.card_view(row)
        card["share_url"] = share_url(public_url, codes[row["id"]])
        card["caption"] = default_caption(row)
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
    codes = await link_codes(member.id, [item_id])
    return await render(
        request,
        "content/item.html",
        item=item,
        share_url=share_url(settings_of(request).public_url, codes[item_id]),
        caption=default_caption(item),
        body_html=render_markdown(item["body"]),
        image=image_url(item["image"], 1200),
        video=video_urls(item["video"]),
        tag_list=editing.tags_of(item["tags"]),
        networks_shared=await shares_of(member.id, item_id),
        clicks=clicks.get(item_id, 0),
        contracts=editing.CONTRACTS,
        remote=editing.REMOTE,
        **(await _story_aside(item)),
    )


async def _story_aside(item: dict[str, Any]) -> dict[str, Any]:
    """Under a story: the open offers (their pages, which the member can share in turn) and
    the careers site an admin set."""
    if item["kind"] != "story":
        return {"offers": [], "careers_url": ""}
    offers = await content_feed.open_offers()
    for offer in offers:
        offer["url"] = f"/items/{offer['id']}"
    rules = await applications.policy()
    return {
        "offers": offers,
        "careers_url": applications.careers_url(rules, current_language.get()),
    }


ROUTES = [feed, item_page]
