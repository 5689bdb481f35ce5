"""Challenges: the admin's form (in their time zone), the items to choose from, and the
challenges running on the feed's items.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.accounts import audit
from app.content.feed import CardColumn, published_where
from app.content.tables import ContentItem
from app.core.clock import now
from app.core.db import write_transaction
from app.core.forms import FormResult
from app.core.i18n import _
from app.core.validation import parse_ids
from app.points.rules_admin import (
    CHALLENGE_NAME_MAX,
    CHOOSABLE_ITEMS,
    GROUPING,
    MULTIPLIERS,
    multiplier_text,
    short_date,
)
from app.points.tables import (
    Challenge,
    ChallengeItem,
)

# --- Challenges --------------------------------------------------------------------------


def local_input(at: datetime | None, zone: str) -> str:
    """A UTC instant as a datetime-local field shows it in ``zone``."""
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M") if at else ""


def local_text(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def challenge_form(row: dict[str, Any] | None, zone: str) -> FormResult:
    """The form as an admin first sees it: times as datetime-local fields show them in
    ``zone``, items by id."""
    if row is None:
        return FormResult(
            {"name": "", "multiplier": 200, "starts_at": "", "ends_at": "", "items": []}
        )
    return FormResult(
        {
            "name": row["name"],
            "multiplier": row["multiplier"],
            "starts_at": local_input(row["starts_at"], zone),
            "ends_at": local_input(row["ends_at"], zone),
            "items": list(row["items"]),
        }
    )


def check_challenge(
    data: Mapping[str, Any], items: list[str], choices: set[int], zone: str, at: datetime
) -> FormResult:
    """Check the challenge form: name, multiplier (110 to 500 %), start and end (in
    ``zone``), and at least one of the published items in ``choices``. The times stay as
    typed in ``values`` (the form shows them again); ``starts``/``ends`` are the instants."""
    form = FormResult.of(data)
    name_refused = _("Give the challenge a name of 1 to 120 characters.")
    form.text("name", max_length=CHALLENGE_NAME_MAX, required=name_refused, too_long=name_refused)
    form.integer(
        "multiplier",
        low=MULTIPLIERS[0],
        high=MULTIPLIERS[-1],
        max_digits=9,
        grouping=GROUPING,
        message=_("Choose a multiplier from ×1.1 to ×5."),
    )
    moments = []
    for name in ("starts_at", "ends_at"):
        moment = form.datetime(
            name, zone=ZoneInfo(zone), required=True, message=_("Enter a date and time.")
        )
        moments.append(moment.replace(second=0) if moment else None)
        form.values[name] = form.raw(name)
    starts, ends = form.values["starts"], form.values["ends"] = moments
    if starts and ends:
        if ends <= starts:
            form.fail("ends_at", _("The end must come after the start."))
        elif ends <= at:
            form.fail("ends_at", _("The end must be in the future."))
    chosen = form.values["items"] = parse_ids(items)
    if not chosen:
        form.fail("items", _("Choose at least one story or offer."))
    elif not set(chosen) <= choices:
        form.fail("items", _("Choose among the published stories and offers."))
    return form


async def item_choices(at: datetime, keep: list[int] | None = None) -> list[dict[str, Any]]:
    """The stories and offers a challenge can be on: the published ones, newest first (and
    those it already has, published or not)."""
    where = published_where(at)
    if keep:
        where = where | ContentItem.id.is_in(keep)
    return (
        await ContentItem.select(ContentItem.id, ContentItem.kind, ContentItem.title)
        .where(where)
        .order_by(ContentItem.publish_at, ascending=False)
        .limit(CHOOSABLE_ITEMS)
    )


async def challenge(challenge_id: int) -> dict[str, Any] | None:
    row = await Challenge.select().where(Challenge.id == challenge_id).first()
    if row is not None:
        rows = await ChallengeItem.select(ChallengeItem.item).where(
            ChallengeItem.challenge == challenge_id
        )
        row["items"] = [r["item"] for r in rows]
    return row


async def save_challenge(
    challenge_id: int | None, form: FormResult, *, by: int, client: str = ""
) -> int:
    """Create or change a challenge and its items in one transaction, audited."""
    assert form.ok
    name, multiplier = form.values["name"], form.values["multiplier"]
    starts, ends, items = form.values["starts"], form.values["ends"], form.values["items"]
    async with write_transaction():
        if challenge_id is None:
            rows = await Challenge.insert(
                Challenge(
                    name=name,
                    multiplier=multiplier,
                    starts_at=starts,
                    ends_at=ends,
                )
            ).returning(Challenge.id)
            challenge_id = int(rows[0]["id"])
        else:
            await Challenge.update(
                {
                    Challenge.name: name,
                    Challenge.multiplier: multiplier,
                    Challenge.starts_at: starts,
                    Challenge.ends_at: ends,
                }
            ).where(Challenge.id == challenge_id)
            await ChallengeItem.delete().where(ChallengeItem.challenge == challenge_id)
        await ChallengeItem.insert(
            *(ChallengeItem(challenge=challenge_id, item=item) for item in items)
        )
        await audit.record(
            "challenge_saved",
            actor=by,
            client=client,
            summary=(
                f"{form.values['name']} ×{form.values['multiplier'] / 100:g} "
                f"{starts:%Y-%m-%d %H:%M} → {ends:%Y-%m-%d %H:%M} UTC, "
                f"{len(items)} items"
            ),
        )
    return challenge_id


async def end_challenge(challenge_id: int, *, by: int, client: str = "") -> bool:
    """End a running challenge now (an upcoming one never starts); False if already over."""
    at = now()
    async with write_transaction():
        row = await Challenge.select().where(Challenge.id == challenge_id).first()
        if row is None:
            raise LookupError(challenge_id)
        if row["ends_at"] <= at:
            return False
        await Challenge.update(
            {Challenge.starts_at: min(row["starts_at"], at), Challenge.ends_at: at}
        ).where(Challenge.id == challenge_id)
        await audit.record("challenge_ended", actor=by, client=client, summary=row["name"])
    return True


async def challenges(at: datetime) -> dict[str, list[dict[str, Any]]]:
    """Every challenge, running, upcoming and past, with how many items each has."""
    from piccolo.query.functions.aggregate import Count

    rows = await Challenge.select().order_by(Challenge.starts_at, ascending=False)
    counts = {
        r["challenge"]: r["items"]
        for r in await ChallengeItem.select(
            ChallengeItem.challenge, Count(ChallengeItem.id, alias="items")
        ).group_by(ChallengeItem.challenge)
    }
    out: dict[str, list[dict[str, Any]]] = {"running": [], "upcoming": [], "past": []}
    for row in rows:
        row["item_count"] = counts.get(row["id"], 0)
        row["multiplier_text"] = multiplier_text(row["multiplier"])
        state = (
            "past" if row["ends_at"] <= at else "upcoming" if row["starts_at"] > at else "running"
        )
        out[state].append(row)
    return out


# The best challenge running on a card: the highest multiplier, then the latest end.
_BEST_ON_CARD = (
    "(SELECT c.{} FROM challenge_item ci JOIN challenge c ON c.id = ci.challenge "
    "WHERE ci.item = p.id AND c.starts_at <= {{}} AND c.ends_at > {{}} "
    "ORDER BY c.multiplier DESC, c.ends_at DESC LIMIT 1)"
)


def challenge_columns(at: datetime) -> list[CardColumn]:
    """The best challenge running at ``at`` on each card, in the cards' own query; read
    back by :func:`card_challenge`."""
    return [
        CardColumn("challenge_percent", _BEST_ON_CARD.format("multiplier"), (at, at)),
        CardColumn("challenge_ends", _BEST_ON_CARD.format("ends_at"), (at, at)),
    ]


def card_challenge(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """A card's challenge as the feed shows it (its multiplier as text and until when), or
    None: from :func:`challenge_columns`."""
    percent, ends_at = row["challenge_percent"], row["challenge_ends"]
    if percent is None or ends_at is None:
        return None
    return {
        "percent": percent,
        "ends_at": ends_at,
        "multiplier": multiplier_text(percent),
        "until": short_date(ends_at),
    }
