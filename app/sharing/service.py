"""Tracked links and shares: the one place that builds ``{PUBLIC_URL}/r/{code}``.

A member gets one short, unguessable code per item, created the first time they open the
share sheet for it and stable afterwards. A completed share is recorded once per member,
item and network; a cancelled one is never sent here.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from app.activity import service as activity
from app.activity.tables import ActivityKind
from app.content.editing import NETWORKS, load_captions
from app.content.feed import CardColumn
from app.content.tables import ContentItem
from app.core import db
from app.core.i18n import _
from app.sharing.tables import Share, ShareLink

# What the share button may report: the phone's share sheet, with or without the image or
# the video, or one of the fallback sheet's links.
SHARE_NETWORKS = (
    "native",
    "native_image",
    "native_video",
    "linkedin",
    "x",
    "facebook",
    "whatsapp",
    "email",
    "copy",
)
CODE_BYTES = 9  # 72 random bits, 12 characters


def share_url(public_url: str, code: str) -> str:
    """The tracked link for a share code."""
    return f"{public_url.rstrip('/')}/r/{code}"


async def link_codes(member_id: int, item_ids: list[int]) -> dict[int, str]:
    """The member's codes for these items (a feed page's), the missing ones created at once:
    the one-tap Share button needs the link before the tap."""
    if not item_ids:
        return {}
    pairs = {f"{member_id}:{item_id}": item_id for item_id in item_ids}
    # Written out: it runs on every feed page and item page (Piccolo's builder cost more).
    marks = ", ".join(["{}"] * len(pairs))
    sql = f"SELECT pair, code FROM share_link WHERE pair IN ({marks})"  # noqa: S608 (placeholders)
    query = ShareLink.raw(sql, *pairs)
    codes = {pairs[r["pair"]]: str(r["code"]) for r in await query}
    missing = [item_id for item_id in item_ids if item_id not in codes]
    if missing:
        await ShareLink.insert(
            *(
                ShareLink(
                    code=secrets.token_urlsafe(CODE_BYTES),
                    pair=f"{member_id}:{item_id}",
                    member=member_id,
                    item=item_id,
                )
                for item_id in missing
            )
        ).on_conflict(target=ShareLink.pair, action="DO NOTHING")
        codes = {pairs[r["pair"]]: str(r["code"]) for r in await query}
    return codes


def link_code_column(member_id: int) -> CardColumn:
    """The member's code for each card, in the cards' own query (NULL where the member has
    none yet: :func:`card_link_codes` creates those)."""
    return CardColumn(
        "link_code",
        "(SELECT sl.code FROM share_link sl WHERE sl.pair = {} || CAST(p.id AS TEXT))",
        (f"{member_id}:",),
    )


async def card_link_codes(member_id: int, cards: list[dict[str, Any]]) -> dict[int, str]:
    """Each card's code, read by :func:`link_code_column`; the missing ones created."""
    codes = {card["id"]: card["link_code"] for card in cards if card["link_code"]}
    missing = [card["id"] for card in cards if not card["link_code"]]
    if missing:
        codes |= await link_codes(member_id, missing)
    return codes


def default_caption(item: dict[str, Any]) -> str:
    """The words a one-tap share hands over: the item's first suggested caption, else a
    sentence in the member's language around its title."""
    captions = load_captions(item.get("captions") or "")
    for network in NETWORKS:
        for caption in captions.get(network, []):
            if isinstance(caption, str) and caption.strip():
                return caption.strip()
    if item.get("kind") == "offer":
        return _("We are hiring: %(title)s") % {"title": item["title"]}
    return _("Have a look: %(title)s") % {"title": item["title"]}


def suggested_captions(item: dict[str, Any]) -> list[tuple[str, str]]:
    """(network, caption) for each caption the editors suggested, in the networks' order."""
    captions = load_captions(item.get("captions") or "")
    return [
        (network, caption)
        for network in NETWORKS
        for caption in captions.get(network, [])
        if isinstance(caption, str) and caption.strip()
    ]


async def link_code(member_id: int, item_id: int) -> str:
    """The member's code for this item, created on first use (safe under concurrency)."""
    pair = f"{member_id}:{item_id}"
    row = await ShareLink.select(ShareLink.code).where(ShareLink.pair == pair).first()
    if row:
        return str(row["code"])
    await ShareLink.insert(
        ShareLink(code=secrets.token_urlsafe(CODE_BYTES), pair=pair, member=member_id, item=item_id)
    ).on_conflict(target=ShareLink.pair, action="DO NOTHING")
    row = await ShareLink.select(ShareLink.code).where(ShareLink.pair == pair).first()
    assert row is not None
    return str(row["code"])


@dataclass(frozen=True)
class Shared:
    recorded: bool  # False when this member already shared the item on that network
    points: int  # credited for it (the week's first-share bonus included)


async def share(member_id: int, item_id: int, network: str) -> Shared:
    """Record a completed share once per member, item and network, with what it earned.

    Its points are what the points handlers credited for its activity (the week's first-share
    bonus included), told back on the activity's event in the same transaction.
    """
    if network not in SHARE_NETWORKS:
        raise ValueError(f"Unknown network {network!r}")
    await link_code(member_id, item_id)
    key = f"{member_id}:{item_id}:{network}"
    async with db.write_transaction():
        # Copying the link, then opening a network's page to paste it is one share: the copy
        # is recorded only while nothing else is, and a later share on a network takes the
        # copy's place (keeping the points it earned) instead of earning a second time.
        done = await shares_of(member_id, item_id)
        if network == "copy" and done:
            return Shared(recorded=False, points=0)
        if "copy" in done and network not in done:
            await Share.update({Share.key: key, Share.network: network}).where(
                Share.key == f"{member_id}:{item_id}:copy"
            )
            return Shared(recorded=True, points=0)
        rows = (
            await Share.insert(Share(key=key, member=member_id, item=item_id, network=network))
            .on_conflict(target=Share.key, action="DO NOTHING")
            .returning(Share.id)
        )
        if not rows:
            return Shared(recorded=False, points=0)
        recorded = await activity.activity_recorded(
            ActivityKind.share, key, member=member_id, item=item_id, network=network
        )
        return Shared(recorded=True, points=sum(recorded.earned) if recorded else 0)


async def record_share(member_id: int, item_id: int, network: str) -> bool:
    """Record a completed share; False when this member already shared it on that network."""
    return (await share(member_id, item_id, network)).recorded


async def shares_of(member_id: int, item_id: int) -> list[str]:
    # Written out: every item page reads it (share (member, item) is indexed).
    rows = await Share.raw(
        "SELECT network FROM share WHERE member = {} AND item = {}", member_id, item_id
    )
    return [r["network"] for r in rows]


def shares_column(member_id: int) -> CardColumn:
    """On how many networks the member shared each card, in the cards' own query."""
    return CardColumn(
        "networks_shared",
        "(SELECT COUNT(s.id) FROM share s WHERE s.member = {} AND s.item = p.id)",
        (member_id,),
    )


clicks_column = activity.clicks_column


async def genuine_clicks_by_item(member_id: int, item_ids: list[int]) -> dict[int, int]:
    """Genuine (not bot, not repeated, not the sharer's own) clicks on the member's links.

    Counted by the candidates package (app.candidates.visits says how); every page that shows
    clicks goes through here.
    """
    return await activity.genuine_clicks_by_item(member_id, item_ids)


def network_links(url: str, title: str, caption: str) -> dict[str, str]:
    """The official share URLs of each network for the fallback sheet, with the tracked link."""
    text = f"{caption}\n\n{url}" if caption else url
    return {
        "linkedin": "https://www.linkedin.com/sharing/share-offsite/?url=" + quote(url, safe=""),
        "x": "https://twitter.com/intent/tweet?url="
        + quote(url, safe="")
        + "&text="
        + quote(caption or title, safe=""),
        "facebook": "https://www.facebook.com/sharer/sharer.php?u=" + quote(url, safe=""),
        "whatsapp": "https://wa.me/?text=" + quote(text, safe=""),
        "email": "mailto:?subject=" + quote(title, safe="") + "&body=" + quote(text, safe=""),
    }


def message_links(url: str, subject: str, text: str) -> dict[str, str]:
    """Links that open a private message to one person (a link meant for them alone, such
    as a recommended friend's consent link), never a public post: WhatsApp, a text
    message, an email, a LinkedIn message (LinkedIn takes no text: the page copies it)."""
    body = quote(f"{text}\n\n{url}", safe="")
    return {
        "whatsapp": "https://wa.me/?text=" + body,
        "sms": "sms:?&body=" + body,
        "email": "mailto:?subject=" + quote(subject, safe="") + "&body=" + body,
        "linkedin": "https://www.linkedin.com/messaging/compose/",
    }


# The public page's one query: the link, its item, the sharer's name and whether they
# are credited, the offer's site.
LANDING_SQL = """
SELECT l.code AS code, l.member AS sharer_id, m.name AS sharer_name, f.credit_by_name AS credit_by_name,
       i.id AS id, i.kind AS kind, i.title AS title, i.body AS body, i.language AS language,
       i.image AS image, i.image_alt AS image_alt, i.video_url AS video_url, i.video AS video,
       i.publish_at AS publish_at, i.expires_at AS expires_at, i.archived_at AS archived_at,
       i.contract AS contract, i.remote AS remote, i.salary_min AS salary_min,
       i.salary_max AS salary_max, i.offer_status AS offer_status, i.apply_url AS apply_url,
       i.gallery AS gallery, i.byline AS byline, i.byline_public AS byline_public,
       s.name AS site_name
FROM share_link l
JOIN content_item i ON i.id = l.item
JOIN member m ON m.id = l.member
LEFT JOIN feed_state f ON f.member = l.member
LEFT JOIN site s ON s.id = i.site
WHERE l.code = {}
"""


async def landing(code: str) -> dict[str, Any] | None:
    """What the public page behind a code shows, in one query; None for unknown codes."""
    if not code or len(code) > 16:
        return None
    rows = await ContentItem.raw(LANDING_SQL, code)
    if not rows:
        return None
    row = dict(rows[0])
    credit = row.pop("credit_by_name")
    first_name = (row.pop("sharer_name") or "").split(" ")[0]
    row["sharer_first_name"] = first_name if credit in (None, True, 1, "1") else None
    # An employee's story names its author only if they agreed to it (app.voice).
    if row.pop("byline_public") not in (True, 1, "1"):
        row["byline"] = ""
    return row
