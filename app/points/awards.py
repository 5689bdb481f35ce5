"""What an event is worth: :func:`award` is the one function that gives points for activity.

It reads an :class:`~app.candidates.tables.Activity` row (written once per event by
``record_activity``) and credits the ledger under keys derived from the activity's own
unique key, so the same event processed twice, or by two processes at once, credits once.
Caps count the credits of an action in the event's UTC day and ISO week; a running challenge
multiplies the points of the items it names. A candidate's stages are credited once each
when reached (jumping ahead credits the stages passed) and taken back, as reversal lines,
when the candidate is moved back before them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.activity.service import ActivityRecorded
from app.activity.tables import Activity, ActivityKind
from app.candidates import duplicates
from app.candidates.tables import STAGE_ORDER
from app.core import db
from app.core.events import publish
from app.points import ledger
from app.points.rules import Rule, multiplier, rules
from app.points.tables import Action, Badge, MemberBadge, PointsLine, Reason

log = logging.getLogger("relay.points")

SIMPLE = {
    ActivityKind.share.value: Action.share,
    ActivityKind.click.value: Action.click,
    ActivityKind.application.value: Action.application,
    ActivityKind.recommendation.value: Action.recommendation,
    ActivityKind.event_attended.value: Action.event_attended,
    ActivityKind.story_proposed.value: Action.story_proposed,
    ActivityKind.story_published.value: Action.story_published,
}

FIRST_BADGES = {
    Action.share.value: Badge.first_share,
    Action.click.value: Badge.first_click,
    Action.application.value: Badge.first_application,
    Action.hired.value: Badge.first_hire,
}

STREAKS = [(12, Badge.streak_12), (4, Badge.streak_4)]


@dataclass(frozen=True)
class PointsGained:
    """A member's balance grew from ``before`` to ``after`` through activity, published in
    the transaction that credited it: what it sets off (a nudge) is written with the points
    or not at all."""

    member: int
    before: int
    after: int
    at: datetime


async def on_activity_recorded(event: ActivityRecorded) -> None:
    """An activity is credited in the transaction that recorded it, and what it earned is told
    back on the event (the share button says how many points a share made)."""
    lines = await award(event.activity)
    if lines:
        event.earned.append(await ledger.points_of(lines))


async def award(activity: dict[str, Any]) -> list[int]:
    """Credit what ``activity`` (an Activity row as a dict) is worth; the new lines' ids."""
    member = activity.get("member")
    if member is None:
        return []
    kind = str(activity["kind"])
    at: datetime = activity["at"]
    key = str(activity["key"])
    item = activity.get("item")
    detail = activity.get("detail") or {}
    if isinstance(detail, str):
        detail = json.loads(detail or "{}")
    candidate = detail.get("candidate")
    if candidate is not None and await duplicates.uncredited(int(candidate)):
        return []  # the same person's first referral keeps the credit (app.candidates.duplicates)
    lines: list[int] = []
    async with db.write_transaction():
        await ledger.lock_member(member)
        before = await ledger.balance(member)
        all_rules = await rules()
        credited: list[str] = []
        if kind in SIMPLE:
            action = SIMPLE[kind]
            subject = f"candidate:{candidate}:{action.value}" if candidate is not None else None
            line = await _earn(all_rules[action], member, key, at, item, subject)
            if line is not None:
                lines.append(line)
                credited.append(action.value)
            if action is Action.share:
                week = ledger.week_of(at)
                rule = all_rules[Action.weekly_bonus]
                line = await _earn(rule, member, f"weekly_bonus:{member}:{week}", at, None)
                if line is not None:
                    lines.append(line)
        elif kind == ActivityKind.stage.value:
            for reason, line in await _stages(all_rules, member, key, at, item, detail):
                lines.append(line)
                credited.append(reason)
        for reason in credited:
            if reason in FIRST_BADGES:
                await grant_badge(member, FIRST_BADGES[reason], at)
        if kind == ActivityKind.share.value:
            await _streak_badges(member, at)
        after = await ledger.balance(member) if lines else before
    if after > before:
        await publish(PointsGained(member, before, after, at))
    return lines


async def _earn(
    rule: Rule,
    member: int,
    key: str,
    at: datetime,
    item: int | None,
    subject: str | None = None,
) -> int | None:
    """One action's credit, unless its rule is off or a cap is reached."""
    if not rule.enabled or rule.points == 0:
        return None
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    week = day - timedelta(days=at.weekday())
    for cap, start, length in (
        (rule.daily_cap, day, timedelta(days=1)),
        (rule.weekly_cap, week, timedelta(days=7)),
    ):
        if cap is not None:
            done = await PointsLine.count().where(
                PointsLine.member == member,
                PointsLine.reason == rule.action,
                PointsLine.points > 0,
                PointsLine.at >= start,
                PointsLine.at < start + length,
            )
            if done >= cap:
                return None
    percent = await multiplier(item, at)
    return await ledger.credit(
        member,
        rule.points * percent // 100,
        rule.action,
        f"{rule.action}:{key}",
        at=at,
        subject=subject,
        item=item,
        multiplier=percent,
    )


async def _stages(
    all_rules: dict[str, Rule],
    member: int,
    key: str,
    at: datetime,
    item: int | None,
    detail: dict[str, Any],
) -> list[tuple[str, int]]:
    stage = str(detail.get("stage", ""))
    candidate = detail.get("candidate")
    if candidate is None or stage not in STAGE_ORDER:
        return []  # "not selected" keeps what was earned and earns nothing
    reached = STAGE_ORDER.index(stage)
    lines: list[tuple[str, int]] = []
    for position, name in enumerate(STAGE_ORDER[1:], start=1):
        subject = f"candidate:{candidate}:{name}"
        so_far = await ledger.net(subject)
        if position <= reached and so_far <= 0:
            line = await _earn(all_rules[name], member, key, at, item, subject)
            if line is not None:
                lines.append((name, line))
        elif position > reached and so_far > 0:
            line = await ledger.credit(
                member,
                -so_far,
                Reason.reversal.value,
                f"reversal:{name}:{key}",
                at=at,
                subject=subject,
                item=item,
            )
            if line is not None:
                lines.append((Reason.reversal.value, line))
    return lines


async def grant_badge(member: int, badge: Badge, at: datetime) -> bool:
    """Give a badge once; True when it is new."""
    rows = (
        await MemberBadge.insert(
            MemberBadge(key=f"{member}:{badge.value}", member=member, badge=badge.value, at=at)
        )
        .on_conflict(target=MemberBadge.key, action="DO NOTHING")
        .returning(MemberBadge.id)
    )
    return bool(rows)


async def _streak_badges(member: int, at: datetime) -> None:
    """Badges for sharing in consecutive ISO weeks, this one included."""
    longest = STREAKS[0][0]
    rows = await Activity.select(Activity.at).where(
        Activity.member == member,
        Activity.kind == ActivityKind.share.value,
        Activity.at >= at - timedelta(weeks=longest),
        Activity.at <= at,
    )
    weeks = {ledger.week_of(r["at"]) for r in rows}
    streak = 0
    while streak < longest and ledger.week_of(at - timedelta(weeks=streak)) in weeks:
        streak += 1
    for length, badge in STREAKS:
        if streak >= length:
            await grant_badge(member, badge, at)
