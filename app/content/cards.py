"""A feed card's HTML: rendered once per item and language, then filled per member.

Most of a card (title, image, facts, excerpt, caption, buttons) is the same for every
member who reads it in the same language; only four bits are the reader's: the "New" badge,
the running challenge, "You shared it" with the clicks on their link, and their tracked
link. ``templates/content/_card.html`` prints those four from ``card.new_badge``,
``card.challenge_line``, ``card.stats`` and ``card.share_url``, which :func:`member_bits`
makes (the studio's preview passes them as they are).

The feed renders the template once with a marker in each of the four places, splits the
result on the markers and keeps the pieces; a page then joins each card's pieces with that
reader's bits, without Jinja. The pieces are kept per process under a key made of every
column the card shows (and the language): an item edited, a site renamed, a caption changed
gives a new key, so no copy is ever stale and there is nothing to invalidate in any process.
At most ``max_size`` cards are kept (the oldest put goes first).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jinja2 import Environment
from markupsafe import Markup, escape

from app.content.editing import CONTRACTS, REMOTE
from app.core.i18n import _, current_language, ngettext

TEMPLATE = "content/_card.html"
SLOTS = ("new_badge", "challenge_line", "stats", "share_url")
# The columns a card shows: any change to one of them is a new card.
SHOWN = (
    "id", "kind", "title", "excerpt", "language", "image", "image_alt", "pinned",
    "contract", "remote", "bonus_text", "site_name", "captions", "byline",
    "byline_member", "byline_photo",
)  # fmt: skip

# A marker no text of an item can hold: its bytes are drawn once per process.
_TOKEN = secrets.token_hex(8)
_MARKERS = {slot: f"\x00{_TOKEN}:{slot}\x00" for slot in SLOTS}


def member_bits(
    *,
    is_new: bool,
    challenge: dict[str, Any] | None,
    shared: bool,
    clicks: int,
    share_url: str,
) -> dict[str, Markup]:
    """The reader's four bits of a card, as the card template prints them."""
    new_badge = (
        Markup('<span class="badge badge--new">%s</span>') % _("New") if is_new else Markup()
    )
    challenge_line = (
        Markup('<p class="feed-card__challenge">%s</p>')
        % (
            _("%(multiplier)s points until %(date)s")
            % {"multiplier": challenge["multiplier"], "date": challenge["until"]}
        )
        if challenge
        else Markup()
    )
    stats = escape(
        ngettext("%(num)d click on your link", "%(num)d clicks on your link", clicks)
        % {"num": clicks}
    )
    if shared:
        stats = Markup('<span class="good">%s</span> · ') % _("You shared it") + stats
    return {
        "new_badge": new_badge,
        "challenge_line": challenge_line,
        "stats": stats,
        "share_url": escape(share_url),
    }


class CardPieces:
    """Rendered cards split around their member bits, per process (see the module)."""

    def __init__(self, max_size: int = 8_000) -> None:
        self.max_size = max_size
        self._pieces: dict[tuple[Any, ...], list[str]] = {}

    def pieces(
        self, env: Environment, row: dict[str, Any], view: Callable[[dict[str, Any]], Any]
    ) -> list[str]:
        language = current_language.get()
        key = (language, *(row.get(column) for column in SHOWN))
        found = self._pieces.get(key)
        if found is not None:
            return found
        card = {**view(row), **{slot: Markup(marker) for slot, marker in _MARKERS.items()}}  # noqa: S704 - our own markers
        html = env.get_template(TEMPLATE).render(card=card, contracts=CONTRACTS, remote=REMOTE)
        pieces = [html]
        for slot in SLOTS:
            last = pieces.pop()
            before, _marker, after = last.partition(_MARKERS[slot])
            if not _marker:
                raise ValueError(f"{TEMPLATE} prints card.{slot} not once, in SLOTS' order")
            pieces += [before, after]
        if len(self._pieces) >= self.max_size:
            del self._pieces[next(iter(self._pieces))]
        self._pieces[key] = pieces
        return pieces

    def clear(self) -> None:
        self._pieces.clear()


_kept = CardPieces()


def cards_html(
    env: Environment,
    rows: Sequence[dict[str, Any]],
    bits: Sequence[dict[str, Markup]],
    view: Callable[[dict[str, Any]], Any],
    whole: Mapping[int, dict[str, Any]] | None = None,
) -> list[Markup]:
    """Each row's card, its pieces from the cache joined with that row's member bits; the
    rows in ``whole`` (an event's, by item id) are rendered entire with what it maps them to,
    since they show more of the reader's own than the four bits."""
    cards = []
    for row, own in zip(rows, bits, strict=True):
        if whole and row["id"] in whole:
            card = {**view(row), **own, "event": whole[row["id"]]}
            html = env.get_template(TEMPLATE).render(card=card, contracts=CONTRACTS, remote=REMOTE)
            cards.append(Markup(html))  # noqa: S704 - the template escapes
            continue
        pieces = _kept.pieces(env, row, view)
        parts = [pieces[0]]
        for n, slot in enumerate(SLOTS, start=1):
            parts.append(own[slot])
            parts.append(pieces[n])
        cards.append(Markup("".join(parts)))  # noqa: S704 - escaped pieces and bits
    return cards
