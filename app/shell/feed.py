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
from app.content.cards import cards_html, member_bits
from app.content.markdown import render_markdown
from app.content.media import image_url
from app.content.video import video_urls
from app.core.i18n import current_language
from app.events.service import events_by_item, my_signups
from app.points.challenges import card_challenge, challenge_columns
from app.points.rules import shown_rules
from app.points.tables import Action
from app.sharing.service import (
    card_link_codes,
    clicks_column,
    default_caption,
    link_code_column,
    share_url,
    shares_column,
)
from app.voice.feed import feed_panel
from app.web.pages import environment, render, see_other, wants_fragment
from app.web.requests import AnyRequest, settings_of


def card_view(row: dict[str, Any]) -> dict[str, Any]:
    """What a card shows of its item, the same for every reader in a language."""
    return {**content_feed.card_view(row), "caption": default_caption(row)}


@get("/", name="feed", guards=[signed_in], opt={"tab": "feed"})
async def feed(
    request: AnyRequest,
    kind: FromQuery[str | None] = None,
    tag: FromQuery[str | None] = None,
    q: FromQuery[str | None] = None,
    after: FromQuery[str | None] = None,
    welcome: FromQuery[str | None] = None,
) -> Response[str]:
    member = request.user
    kind = kind if kind in {"story", "offer"} else None
    # What sharing and points say of each card comes in the cards' own query.
    columns = [
        clicks_column(member.id),
        link_code_column(member.id),
        *challenge_columns(editing.now()),
    ]
    page = await content_feed.feed_page(
        member, kind=kind, tag=tag, search=q, after=after, columns=columns
    )
    next_page = after is not None and wants_fragment(request)
    first_run = None
    if welcome == "1" and after is None:
        # Enrolment lands here; the welcome shows on the member's first visit to the feed
        # only (a recovery link lands here too, and a reload must not bring it back).
        state = await content_feed.feed_state(member.id)
        if state is None or state["seen_at"] is None:
            first_run = await welcome_context(request)
    if after is None:
        since = await content_feed.mark_feed_visit(member.id)
    else:
        state = await content_feed.feed_state(member.id)
        since = state["previous_seen_at"] if state else None
    codes = await card_link_codes(member.id, page.cards)
    events = await events_by_item([c["id"] for c in page.cards if c["kind"] == "event"])
    signed_up = await my_signups(member.id) if events else {}
    public_url = settings_of(request).public_url
    bits = [
        member_bits(
            is_new=since is not None and row["publish_at"] > since,
            challenge=card_challenge(row),
            shared=row["shared"],
            clicks=row["clicks"],
            share_url=share_url(public_url, codes[row["id"]]),
        )
        for row in page.cards
    ]
    # An event's card shows its time, place and the reader's sign-up: rendered whole.
    whole = {
        item_id: event | {"signed_up": event["id"] in signed_up}
        for item_id, event in events.items()
    }
    cards = cards_html(environment(request), page.cards, bits, card_view, whole=whole)
    filters = {"kind": kind or "", "tag": tag or "", "q": q or ""}
    voice = None
    if not next_page:
        # The employees' voice above the cards: news of the member's own stories and
        # questions (the in-app side of their notifications) and the review sites' card.
        voice = await feed_panel(member.id)
    return await render(
        request,
        "content/feed.html",
        block="cards" if next_page else "app",
        cards=cards,
        next_cursor=page.next_cursor,
        filters=filters,
        tags=await content_feed.feed_tags() if not next_page else [],
        filtered=bool(kind or tag or q),
        voice=voice,
        contracts=editing.CONTRACTS,
        remote=editing.REMOTE,
        welcome=first_run,
    )


# What the welcome says earns points, in this order, when the admin left the rule on.
WELCOME_ACTIONS = (Action.share, Action.click, Action.application, Action.hired)


async def welcome_context(request: AnyRequest) -> dict[str, object]:
    """The first-run welcome: the points the rules give now, and whether the phone is an
    iPhone or iPad (the install guide is then open, since iOS has no install prompt and
    allows push only from the installed app)."""
    current = await shown_rules()
    points = {
        action.value: current[action.value].points
        for action in WELCOME_ACTIONS
        if action.value in current
        and current[action.value].enabled
        and current[action.value].points > 0
    }
    agent = request.headers.get("user-agent", "")
    return {"points": points, "on_ios": any(d in agent for d in ("iPhone", "iPad", "iPod"))}


@get("/items/{item_id:int}", name="item", guards=[signed_in], opt={"tab": "feed"})
async def item_page(request: AnyRequest, item_id: FromPath[int]) -> Response[Any]:
    member = request.user
    item = await content_feed.visible_item(
        member,
        item_id,
        columns=[
            clicks_column(member.id),
            link_code_column(member.id),
            shares_column(member.id),
        ],
    )
    if item is None:
        raise NotFoundException()
    if item["kind"] == "event":  # an event's page is its own, with its sign-ups
        event = (await events_by_item([item_id])).get(item_id)
        if event is not None:
            return see_other(request, f"/events/{event['id']}")
    codes = await card_link_codes(member.id, [item])
    return await render(
        request,
        "content/item.html",
        item=item,
        share_url=share_url(settings_of(request).public_url, codes[item_id]),
        caption=default_caption(item),
        body_html=render_markdown(item["body"]),
        image=image_url(item["image"], 1200),
        gallery=[image_url(key, 1200) for key in (item.get("gallery") or "").split()],
        video=video_urls(item["video"]),
        tag_list=editing.tags_of(item["tags"]),
        networks_shared=item["networks_shared"],
        clicks=item["clicks"],
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
