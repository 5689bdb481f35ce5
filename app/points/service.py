"""Points as people meet them: the admin's rules, levels and challenges, corrections, and a
member's points page (plain functions, no HTTP).

Every change an admin makes is checked field by field first (errors keyed by field, in the
request's language), then written in one transaction with its audit event, so nothing is
half-saved and nothing changes unaudited. Points themselves are only ever written through
:func:`app.points.ledger.credit`.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from babel.dates import format_date
from babel.numbers import format_decimal
from piccolo.query.functions.aggregate import Sum

from app.accounts import audit
from app.accounts.tables import Member
from app.candidates.pipeline import referrals_of, stage_names
from app.content.service import published_where
from app.content.tables import ContentItem
from app.core.clock import now
from app.core.db import write_transaction
from app.core.i18n import _, current_language, ngettext
from app.points import ledger
from app.points.rules import (
    ACTION_NAMES,
    Rule,
    badges_shown,
    level_of,
    levels,
    reason_name,
    rules,
)
from app.points.tables import (
    Action,
    Challenge,
    ChallengeItem,
    Level,
    MemberBadge,
    PointsLine,
    PointsRule,
    Reason,
)
from app.web.validation import parse_ids, parse_time

POINTS_MAX = 10_000
CAP_MAX = 1_000
LEVEL_MAX = 10_000_000
CORRECTION_MAX = 100_000
REASON_MAX = 300
NAME_MAX = 60
CHALLENGE_NAME_MAX = 120
MULTIPLIERS = [110, 125, 150, 200, 250, 300, 400, 500]
HISTORY_PAGE = 20
CHOOSABLE_ITEMS = 200
INTEGER = re.compile(r"[+-]?\d{1,9}")

UniqueViolation = (sqlite3.IntegrityError, asyncpg.UniqueViolationError)


def multiplier_text(percent: int) -> str:
    """A challenge's multiplier as people say it: 150 → "×1.5" (in French "×1,5")."""
    return "×" + format_decimal(percent / 100, locale=current_language.get())


def short_date(at: datetime) -> str:
    return format_date(at.date(), "d MMM", locale=current_language.get())


def _int(text: str) -> int | None:
    text = text.strip().replace(" ", "").replace(",", "")
    return int(text) if INTEGER.fullmatch(text) else None


# --- Rules -------------------------------------------------------------------------------


@dataclass
class RulesForm:
    """The rules form as typed (per action: points, caps, switch) and its errors by field."""

    values: dict[str, dict[str, Any]]
    errors: dict[str, str] = field(default_factory=dict)

    def rules(self) -> dict[str, Rule]:
        assert not self.errors
        return {
            action: Rule(
                action,
                int(v["points"]),
                bool(v["enabled"]),
                int(v["daily_cap"]) if v["daily_cap"] != "" else None,
                int(v["weekly_cap"]) if v["weekly_cap"] != "" else None,
            )
            for action, v in self.values.items()
        }


def rules_form(current: dict[str, Rule]) -> RulesForm:
    """The form filled with the rules in force."""
    return RulesForm(
        {
            a.value: {
                "points": current[a.value].points,
                "enabled": current[a.value].enabled,
                "daily_cap": ""
                if current[a.value].daily_cap is None
                else current[a.value].daily_cap,
                "weekly_cap": ""
                if current[a.value].weekly_cap is None
                else current[a.value].weekly_cap,
            }
            for a in Action
        }
    )


def check_rules(data: Mapping[str, Any]) -> RulesForm:
    """Check every action's fields: ``{action}_points``, ``_daily_cap``, ``_weekly_cap``,
    ``_enabled`` (a checkbox)."""
    form = RulesForm({})
    for action in Action:
        a = action.value
        raw = {
            name: str(data.get(f"{a}_{name}") or "").strip()
            for name in ("points", "daily_cap", "weekly_cap")
        }
        values: dict[str, Any] = {**raw, "enabled": str(data.get(f"{a}_enabled") or "") == "on"}
        points = _int(raw["points"])
        if points is None or not 0 <= points <= POINTS_MAX:
            form.errors[f"{a}_points"] = _("Enter a whole number of points from 0 to 10,000.")
        else:
            values["points"] = points
        caps: dict[str, int] = {}
        for name in ("daily_cap", "weekly_cap"):
            if raw[name] == "":
                continue
            cap = _int(raw[name])
            if cap is None or not 1 <= cap <= CAP_MAX:
                form.errors[f"{a}_{name}"] = _(
                    "Leave it empty for no cap, or enter a number from 1 to 1,000."
                )
            else:
                values[name] = caps[name] = cap
        if len(caps) == 2 and caps["weekly_cap"] < caps["daily_cap"]:
            form.errors[f"{a}_weekly_cap"] = _("The weekly cap can't be lower than the daily cap.")
        form.values[a] = values
    return form


def _rule_text(rule: Rule) -> str:
    caps = f"{rule.daily_cap or '-'}/{rule.weekly_cap or '-'}"
    return f"{rule.points}{'' if rule.enabled else ' off'} caps {caps}"


async def save_rules(new: dict[str, Rule], *, by: int, client: str = "") -> list[str]:
    """Write the rules in one transaction with their audit event; what changed, as text."""
    async with write_transaction():
        current = await rules()
        changes = []
        for action, rule in new.items():
            if current.get(action) == rule:
                continue
            changes.append(f"{action}: {_rule_text(current[action])} → {_rule_text(rule)}")
            await PointsRule.update(
                {
                    PointsRule.points: rule.points,
                    PointsRule.enabled: rule.enabled,
                    PointsRule.daily_cap: rule.daily_cap,
                    PointsRule.weekly_cap: rule.weekly_cap,
                    PointsRule.updated_at: now(),
                }
            ).where(PointsRule.action == action)
        if changes:
            await audit.record(
                "points_rules_changed", actor=by, client=client, summary="; ".join(changes)
            )
    return changes


async def earning_rules() -> list[dict[str, Any]]:
    """The rules in force, as the member's "How to earn points" lists them."""
    all_rules = await rules()
    out = []
    for action in Action:
        rule = all_rules[action.value]
        if not rule.enabled or rule.points == 0:
            continue
        caps = []
        if rule.daily_cap is not None:
            n = rule.daily_cap
            caps.append(ngettext("up to %(num)d a day", "up to %(num)d a day", n) % {"num": n})
        if rule.weekly_cap is not None:
            n = rule.weekly_cap
            caps.append(ngettext("up to %(num)d a week", "up to %(num)d a week", n) % {"num": n})
        out.append(
            {
                "action": action.value,
                "name": _(ACTION_NAMES[action.value]),
                "points": rule.points,
                "caps": caps,
            }
        )
    return out


# --- Levels ------------------------------------------------------------------------------


def check_level(
    name: str, threshold_text: str, *, first: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """A level's name and threshold as typed; the first level's threshold stays 0."""
    values: dict[str, Any] = {"name": name.strip(), "threshold": threshold_text.strip()}
    errors: dict[str, str] = {}
    if not values["name"] or len(values["name"]) > NAME_MAX:
        errors["name"] = _("Give the level a name of 1 to 60 characters.")
    if first:
        values["threshold"] = 0
    else:
        threshold = _int(values["threshold"])
        if threshold is None or not 1 <= threshold <= LEVEL_MAX:
            errors["threshold"] = _("Enter a number of lifetime points from 1 to 10,000,000.")
        else:
            values["threshold"] = threshold
    return values, errors


class _ThresholdTaken(Exception):
    pass


def _threshold_taken() -> str:
    return _("Another level starts at this number of points: choose a different one.")


async def save_level(
    level_id: int | None, name: str, threshold_text: str, *, by: int, client: str = ""
) -> tuple[dict[str, Any], dict[str, str]]:
    """Add a level (``level_id`` None) or change one; the values and errors by field."""
    try:
        async with write_transaction():
            all_levels = await levels()
            current = next((lv for lv in all_levels if lv["id"] == level_id), None)
            if level_id is not None and current is None:
                raise LookupError(level_id)
            first = current is not None and current["threshold"] == 0
            values, errors = check_level(name, threshold_text, first=first)
            if errors:
                return values, errors
            if any(
                lv["threshold"] == values["threshold"] and lv["id"] != level_id for lv in all_levels
            ):
                raise _ThresholdTaken
            if current is None:
                await Level.insert(Level(name=values["name"], threshold=values["threshold"]))
                summary = f"+ {values['name']} ({values['threshold']})"
            else:
                await Level.update(
                    {Level.name: values["name"], Level.threshold: values["threshold"]}
                ).where(Level.id == level_id)
                summary = (
                    f"{current['name']} ({current['threshold']}) → "
                    f"{values['name']} ({values['threshold']})"
                )
            await audit.record("points_levels_changed", actor=by, client=client, summary=summary)
    except (_ThresholdTaken, *UniqueViolation):
        # Checked above; the constraint also catches two admins saving at the same moment.
        return values, {"threshold": _threshold_taken()}
    return values, {}


async def remove_level(level_id: int, *, by: int, client: str = "") -> str | None:
    """Remove a level; the reason it can't be, or None."""
    async with write_transaction():
        row = await Level.select().where(Level.id == level_id).first()
        if row is None:
            raise LookupError(level_id)
        if row["threshold"] == 0:
            return _("The first level, at 0 points, always stays: rename it instead.")
        await Level.delete().where(Level.id == level_id)
        await audit.record(
            "points_levels_changed",
            actor=by,
            client=client,
            summary=f"- {row['name']} ({row['threshold']})",
        )
    return None


# --- Challenges --------------------------------------------------------------------------


@dataclass
class ChallengeForm:
    """A challenge as typed: times in the admin's time zone, items by id."""

    values: dict[str, Any]
    items: list[int]
    errors: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None


def local_input(at: datetime | None, zone: str) -> str:
    """A UTC instant as a datetime-local field shows it in ``zone``."""
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M") if at else ""


def local_text(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def challenge_form(row: dict[str, Any] | None, zone: str) -> ChallengeForm:
    if row is None:
        return ChallengeForm({"name": "", "multiplier": 200, "starts_at": "", "ends_at": ""}, [])
    return ChallengeForm(
        {
            "name": row["name"],
            "multiplier": row["multiplier"],
            "starts_at": local_input(row["starts_at"], zone),
            "ends_at": local_input(row["ends_at"], zone),
        },
        list(row["items"]),
    )


def _local_time(text: str, zone: str) -> datetime | None:
    try:
        value = parse_time(text, ZoneInfo(zone))
    except ValueError:
        return None
    return value.replace(second=0) if value else None


def check_challenge(
    data: Mapping[str, Any], items: list[str], choices: set[int], zone: str, at: datetime
) -> ChallengeForm:
    """Check the challenge form: name, multiplier (110 to 500 %), start and end (in
    ``zone``), and at least one of the published items in ``choices``."""
    get = lambda name: str(data.get(name) or "").strip()  # noqa: E731
    chosen = parse_ids(items)
    form = ChallengeForm(
        {
            "name": get("name"),
            "multiplier": get("multiplier"),
            "starts_at": get("starts_at"),
            "ends_at": get("ends_at"),
        },
        chosen,
    )
    errors = form.errors
    if not form.values["name"] or len(form.values["name"]) > CHALLENGE_NAME_MAX:
        errors["name"] = _("Give the challenge a name of 1 to 120 characters.")
    multiplier = _int(form.values["multiplier"])
    if multiplier is None or not MULTIPLIERS[0] <= multiplier <= MULTIPLIERS[-1]:
        errors["multiplier"] = _("Choose a multiplier from ×1.1 to ×5.")
    else:
        form.values["multiplier"] = multiplier
    for name in ("starts_at", "ends_at"):
        text = form.values[name]
        moment = _local_time(text, zone) if text else None
        if moment is None:
            errors[name] = _("Enter a date and time.")
        setattr(form, name, moment)
    if form.starts_at and form.ends_at:
        if form.ends_at <= form.starts_at:
            errors["ends_at"] = _("The end must come after the start.")
        elif form.ends_at <= at:
            errors["ends_at"] = _("The end must be in the future.")
    if not chosen:
        errors["items"] = _("Choose at least one story or offer.")
    elif not set(chosen) <= choices:
        errors["items"] = _("Choose among the published stories and offers.")
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
    challenge_id: int | None, form: ChallengeForm, *, by: int, client: str = ""
) -> int:
    """Create or change a challenge and its items in one transaction, audited."""
    assert not form.errors and form.starts_at and form.ends_at
    name, multiplier = form.values["name"], form.values["multiplier"]
    async with write_transaction():
        if challenge_id is None:
            rows = await Challenge.insert(
                Challenge(
                    name=name,
                    multiplier=multiplier,
                    starts_at=form.starts_at,
                    ends_at=form.ends_at,
                )
            ).returning(Challenge.id)
            challenge_id = int(rows[0]["id"])
        else:
            await Challenge.update(
                {
                    Challenge.name: name,
                    Challenge.multiplier: multiplier,
                    Challenge.starts_at: form.starts_at,
                    Challenge.ends_at: form.ends_at,
                }
            ).where(Challenge.id == challenge_id)
            await ChallengeItem.delete().where(ChallengeItem.challenge == challenge_id)
        await ChallengeItem.insert(
            *(ChallengeItem(challenge=challenge_id, item=item) for item in form.items)
        )
        await audit.record(
            "challenge_saved",
            actor=by,
            client=client,
            summary=(
                f"{form.values['name']} ×{form.values['multiplier'] / 100:g} "
                f"{form.starts_at:%Y-%m-%d %H:%M} → {form.ends_at:%Y-%m-%d %H:%M} UTC, "
                f"{len(form.items)} items"
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


async def challenges_on(item_ids: list[int], at: datetime) -> dict[int, dict[str, Any]]:
    """For a page of items, in one query: the best running challenge on each (its
    multiplier as text and until when), as the feed's cards show it."""
    if not item_ids:
        return {}
    rows = await ChallengeItem.select(
        ChallengeItem.item,
        ChallengeItem.challenge.multiplier.as_alias("multiplier"),
        ChallengeItem.challenge.ends_at.as_alias("ends_at"),
    ).where(
        ChallengeItem.item.is_in(item_ids),
        ChallengeItem.challenge.starts_at <= at,
        ChallengeItem.challenge.ends_at > at,
    )
    best: dict[int, dict[str, Any]] = {}
    for row in rows:
        held = best.get(row["item"])
        if held is None or (row["multiplier"], row["ends_at"]) > (held["percent"], held["ends_at"]):
            best[row["item"]] = {"percent": row["multiplier"], "ends_at": row["ends_at"]}
    for held in best.values():
        held["multiplier"] = multiplier_text(held["percent"])
        held["until"] = short_date(held["ends_at"])
    return best


# --- Corrections -------------------------------------------------------------------------


def correction_key() -> str:
    """A fresh key for the correction form: the same form sent twice corrects once."""
    return str(uuid.uuid4())


def own_points_text() -> str:
    return _("Your own points: another admin corrects them.")


def check_correction(points_text: str, reason_text: str) -> dict[str, str]:
    """The correction form's errors by field (``points``, ``reason``)."""
    errors: dict[str, str] = {}
    points = _int(points_text or "")
    if points is None or points == 0 or abs(points) > CORRECTION_MAX:
        errors["points"] = _(
            "Enter the points to give, such as 50, or to take back, such as -20 (at most 100,000)."
        )
    reason = (reason_text or "").strip()
    if not reason or len(reason) > REASON_MAX:
        errors["reason"] = _("Say why in 1 to 300 characters: the member will read it.")
    return errors


async def correct(
    member_id: int,
    points_text: str,
    reason_text: str,
    key_text: str,
    *,
    by: int,
    client: str = "",
) -> dict[str, str]:
    """Give (positive) or take (negative) points with a reason the member sees, audited;
    errors by field (``points``, ``reason``), empty when done. The form's key makes the
    same form sent twice correct once. An admin's own points are another admin's to correct."""
    errors = check_correction(points_text, reason_text)
    points = _int(points_text or "")
    reason = (reason_text or "").strip()
    try:
        key = str(uuid.UUID(key_text or ""))
    except ValueError:
        key = correction_key()
    if errors or points is None:
        return errors
    if member_id == by:
        # Nobody decides on their own points, as on their own referral or reward.
        await audit.record(
            "own_decision_refused", actor=by, subject=by, client=client, points=points
        )
        return {"points": own_points_text()}
    async with write_transaction():
        await ledger.lock_member(member_id)
        if points < 0:
            balance = await ledger.balance(member_id)
            if balance + points < 0:
                return {
                    "points": ngettext(
                        "They have %(num)d point: you can take back at most that.",
                        "They have %(num)d points: you can take back at most that.",
                        balance,
                    )
                    % {"num": balance}
                }
        line = await ledger.credit(
            member_id,
            points,
            Reason.correction.value,
            f"correction:{key}",
            by=by,
            note=reason,
        )
        if line is not None:
            await audit.record(
                "points_corrected",
                actor=by,
                subject=member_id,
                client=client,
                points=points,
                reason=reason,
            )
    return {}


async def member_by_email(email: str) -> int | None:
    row = (
        await Member.select(Member.id)
        .where(Member.email == (email or "").strip().lower()[:254])
        .first()
    )
    return int(row["id"]) if row else None


# --- A member's points -------------------------------------------------------------------


def points_tab(member: Member) -> str:
    """Employees have a Points tab; editors' and admins' tab bar is full, they come from Me."""
    return "me" if member.role in ("editor", "admin") else "points"


async def summary(member_id: int) -> dict[str, Any]:
    """Balance, lifetime points and the level they reach, with progress to the next."""
    lifetime = await ledger.earned(member_id, "all")
    return {
        "balance": await ledger.balance(member_id),
        "lifetime": lifetime,
        **level_of(lifetime, await levels()),
    }


async def badges(member_id: int) -> list[dict[str, Any]]:
    """Every badge, earned ones first (with when), then those still to earn."""
    earned = {
        r["badge"]: r["at"]
        for r in await MemberBadge.select(MemberBadge.badge, MemberBadge.at).where(
            MemberBadge.member == member_id
        )
    }
    out = [{**badge, "at": earned.get(badge["badge"])} for badge in badges_shown(set(earned))]
    return sorted(out, key=lambda b: b["at"] is None)


def describe(line: dict[str, Any], stages: dict[str, str]) -> dict[str, Any]:
    """What a ledger line was for, in words: its reason, item, challenge, stage, note."""
    details: list[str] = []
    subject = line.get("subject") or ""
    if line["reason"] == Reason.reversal.value and subject.startswith("candidate:"):
        stage = subject.rsplit(":", 1)[-1]
        details.append(_("%(stage)s taken back") % {"stage": stages.get(stage, stage)})
    if line.get("item_title"):
        details.append(str(line["item_title"]))
    if line["multiplier"] and line["multiplier"] != 100:
        details.append(
            _("%(multiplier)s challenge") % {"multiplier": multiplier_text(line["multiplier"])}
        )
    return {
        "id": line["id"],
        "points": line["points"],
        "what": _(reason_name(line["reason"])),
        "details": details,
        "note": line.get("note") or "",
        "at": line["at"],
    }


async def history_page(
    member_id: int, before: int | None = None, limit: int = HISTORY_PAGE
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of the member's lines, newest first, described; the next page's cursor."""
    rows = await ledger.history(member_id, before=before, limit=limit + 1)
    more = len(rows) > limit
    stages = stage_names()
    lines = [describe(r, stages) for r in rows[:limit]]
    return lines, (lines[-1]["id"] if more and lines else None)


async def points_by_candidate(member_id: int) -> dict[int, int]:
    """What each of the member's referrals earned them so far (reversals deducted), in one
    query over the lines whose subject is ``candidate:{id}:…``."""
    rows = (
        await PointsLine.select(PointsLine.subject, Sum(PointsLine.points, alias="points"))
        .where(PointsLine.member == member_id, PointsLine.subject.like("candidate:%"))
        .group_by(PointsLine.subject)
    )
    totals: dict[int, int] = {}
    for row in rows:
        candidate = str(row["subject"]).split(":")[1]
        if candidate.isdigit():
            totals[int(candidate)] = totals.get(int(candidate), 0) + int(row["points"] or 0)
    return totals


async def referrals_with_points(member_id: int) -> list[dict[str, Any]]:
    """The member's referrals (:func:`app.candidates.pipeline.referrals_of`), each with the
    points it earned them so far."""
    rows = await referrals_of(member_id)
    points = await points_by_candidate(member_id) if rows else {}
    for row in rows:
        row["points"] = points.get(row["id"], 0)
    return rows
