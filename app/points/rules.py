"""The rules admins set: points per action with caps and switches, levels and challenges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from piccolo.query.functions.aggregate import Max

from app.core.cache import TTLMap
from app.core.i18n import _, lazy
from app.points.tables import Action, Badge, ChallengeItem, Level, PointsRule, Reason

# Defaults from common practice in referral programmes: small for sharing, more for what
# shows real interest, most for interviews and hires. Caps keep what a member can repeat
# on their own (sharing, clicks, applications through their links) from being farmed;
# stages need an editor, who never decides on their own referral.
DEFAULT_RULES: dict[Action, tuple[int, int | None, int | None]] = {
    # action: (points, daily cap, weekly cap)
    Action.share: (2, 10, 40),
    Action.click: (10, 20, 100),
    Action.application: (50, 5, 20),
    Action.recommendation: (30, 5, 20),
    Action.contacted: (20, None, None),
    Action.interview: (100, None, None),
    Action.offer: (150, None, None),
    Action.hired: (500, None, None),
    Action.weekly_bonus: (5, None, None),
    # An editor ticks attendance, once per volunteer and event: no cap needed.
    Action.event_attended: (40, None, None),
    Action.story_published: (50, None, 2),
    Action.story_proposed: (5, 1, 2),
}
# Rules that start switched off: paying for a proposal nobody published pays for noise
# (issue 13); an admin may still switch it on.
OFF_BY_DEFAULT = {Action.story_proposed}

DEFAULT_LEVELS = [
    (0, lazy("Newcomer")),
    (100, lazy("Ambassador")),
    (500, lazy("Influencer")),
    (2000, lazy("Champion")),
    (5000, lazy("Legend")),
]

ACTION_NAMES = {
    Action.share.value: lazy("Share"),
    Action.click.value: lazy("Genuine click"),
    Action.application.value: lazy("Application"),
    Action.recommendation.value: lazy("Recommendation accepted"),
    Action.contacted.value: lazy("Candidate contacted"),
    Action.interview.value: lazy("Candidate interviewed"),
    Action.offer.value: lazy("Candidate offered the job"),
    Action.hired.value: lazy("Hire"),
    Action.weekly_bonus.value: lazy("First share of the week"),
    Action.event_attended.value: lazy("Volunteered at an event"),
    Action.story_published.value: lazy("Your story published"),
    Action.story_proposed.value: lazy("Story proposed"),
}

REASON_NAMES = {
    **ACTION_NAMES,
    Reason.reversal.value: lazy("Candidate moved back"),
    Reason.correction.value: lazy("Correction"),
    Reason.redemption.value: lazy("Reward"),
    Reason.refund.value: lazy("Reward refunded"),
}

# A badge's name and what earned it.
BADGE_NAMES = {
    Badge.first_share.value: (lazy("First share"), lazy("You shared for the first time.")),
    Badge.first_click.value: (lazy("First click"), lazy("Someone opened a link you shared.")),
    Badge.first_application.value: (
        lazy("First application"),
        lazy("Someone applied through your link."),
    ),
    Badge.first_hire.value: (lazy("First hire"), lazy("Someone you brought in was hired.")),
    Badge.streak_4.value: (lazy("Four-week streak"), lazy("You shared four weeks in a row.")),
    Badge.streak_12.value: (lazy("Twelve-week streak"), lazy("You shared twelve weeks in a row.")),
}


def badges_shown(earned: set[str] | list[str]) -> list[dict[str, Any]]:
    """Every badge in order, translated, each saying whether it is earned."""
    return [
        {"badge": badge, "name": _(name), "description": _(description), "earned": badge in earned}
        for badge, (name, description) in BADGE_NAMES.items()
    ]


def reason_name(reason: str) -> str:
    name = REASON_NAMES.get(reason)
    return str(name) if name is not None else reason


@dataclass(frozen=True)
class Rule:
    action: str
    points: int
    enabled: bool
    daily_cap: int | None
    weekly_cap: int | None


# What pages show of the rules and levels, kept a few seconds per process (the points page,
# Me, the leaderboard and the wall of fame each read them): a change shows at once in the
# process that made it, within this many seconds in the others. Points are always awarded
# by the rules read fresh, in the awarding transaction.
SHOWN_FOR_S = 5.0
_kept: TTLMap[str, Any] = TTLMap(ttl_s=SHOWN_FOR_S, max_size=2)


def rules_changed() -> None:
    """Forget this process's kept rules and levels (an admin just changed them)."""
    _kept.clear()


async def shown_rules() -> dict[str, Rule]:
    """The rules as pages show them: :func:`rules`, kept ``SHOWN_FOR_S`` seconds."""
    kept = _kept.get("rules")
    return kept if kept is not None else _kept.put("rules", await rules())


async def rules() -> dict[str, Rule]:
    """Every action's rule, created with the defaults on first read. Read fresh each time:
    an admin's change holds at once in every process."""
    # Written out (a page of points reads them): the builder cost more than the query.
    sql = "SELECT action, points, enabled, daily_cap, weekly_cap FROM points_rule"
    rows = await PointsRule.raw(sql)
    if len(rows) < len(Action):
        have = {r["action"] for r in rows}
        missing = [
            PointsRule(
                action=a.value,
                points=p,
                daily_cap=d,
                weekly_cap=w,
                enabled=a not in OFF_BY_DEFAULT,
            )
            for a, (p, d, w) in DEFAULT_RULES.items()
            if a.value not in have
        ]
        await PointsRule.insert(*missing).on_conflict(target=PointsRule.action, action="DO NOTHING")
        rows = await PointsRule.raw(sql)
    return {
        r["action"]: Rule(
            r["action"], r["points"], bool(r["enabled"]), r["daily_cap"], r["weekly_cap"]
        )
        for r in rows
    }


async def levels(*, fresh: bool = False) -> list[dict[str, Any]]:
    """Levels by threshold, lowest first, created with the defaults on first read. Pages
    read a copy kept ``SHOWN_FOR_S`` seconds; ``fresh`` reads the table (to change it)."""
    stored: list[dict[str, Any]] | None = None if fresh else _kept.get("levels")
    if stored is None:
        sql = "SELECT id, name, threshold FROM level ORDER BY threshold"
        stored = [dict(r) for r in await Level.raw(sql)]
        if not stored:
            await Level.insert(
                *[Level(threshold=t, name=str(name)) for t, name in DEFAULT_LEVELS]
            ).on_conflict(target=Level.threshold, action="DO NOTHING")
            stored = [dict(r) for r in await Level.raw(sql)]
        if not fresh:
            _kept.put("levels", stored)
    # The default names are stored in English and shown in the reader's language; a name
    # an admin typed is theirs and shown as typed.
    defaults = {str(name) for _threshold, name in DEFAULT_LEVELS}
    return [
        {**row, "name": _(row["name"]) if row["name"] in defaults else row["name"]}
        for row in stored
    ]


def level_of(lifetime: int, all_levels: list[dict[str, Any]]) -> dict[str, Any]:
    """The level ``lifetime`` points reach, with the next one (or None) and progress to it."""
    current = all_levels[0]
    following = None
    for level in all_levels:
        if lifetime >= level["threshold"]:
            current = level
        elif following is None:
            following = level
    progress = 100
    if following is not None:
        span = following["threshold"] - current["threshold"]
        progress = max(0, min(100, (lifetime - current["threshold"]) * 100 // max(span, 1)))
    return {"level": current, "next": following, "progress": progress}


async def multiplier(item_id: int | None, at: datetime) -> int:
    """The highest multiplier (percent) of the challenges running at ``at`` on the item."""
    if item_id is None:
        return 100
    row = (
        await ChallengeItem.select(Max(ChallengeItem.challenge.multiplier, alias="best"))
        .where(
            ChallengeItem.item == item_id,
            ChallengeItem.challenge.starts_at <= at,
            ChallengeItem.challenge.ends_at > at,
        )
        .first()
    )
    best = row["best"] if row else None
    return max(100, int(best)) if best else 100
