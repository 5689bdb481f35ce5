"""A member's points: their total and level, badges, history, and points per referral."""

from __future__ import annotations

from typing import Any

from app.accounts.tables import Member
from app.candidates.pipeline import referrals_of, stage_names
from app.core.i18n import _
from app.points import ledger
from app.points.rules import (
    badges_shown,
    level_of,
    levels,
    reason_name,
)
from app.points.rules_admin import HISTORY_PAGE, multiplier_text
from app.points.tables import (
    MemberBadge,
    PointsLine,
    Reason,
)

# --- A member's points -------------------------------------------------------------------


def points_tab(member: Member) -> str:
    """Employees have a Points tab; editors' and admins' tab bar is full, they come from Me."""
    return "me" if member.role in ("editor", "admin") else "points"


async def summary(member_id: int) -> dict[str, Any]:
    """Balance, lifetime points and the level they reach, with progress to the next."""
    return await _summary(*await ledger.standing(member_id))


async def _summary(balance: int, lifetime: int) -> dict[str, Any]:
    return {"balance": balance, "lifetime": lifetime, **level_of(lifetime, await levels())}


# The points page's top in one statement: balance and lifetime points on every row, and a
# row per badge earned (one row with no badge when none).
STANDING_AND_BADGES_SQL = f"""
SELECT ({ledger.BALANCE_SQL}) AS balance, ({ledger.EARNED_SQL}) AS lifetime,
       b.badge AS badge, b.at AS at
FROM (SELECT 1 AS one) o LEFT JOIN member_badge b ON b.member = {{}}
"""  # noqa: S608 (placeholders only)


async def summary_and_badges(member_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """:func:`summary`, and every badge, earned ones first (with when) then those still to
    earn: one query (the points page reads them on every view)."""
    rows = await MemberBadge.raw(STANDING_AND_BADGES_SQL, member_id, f"{member_id}:all", member_id)
    first = rows[0] if rows else {}
    balance, lifetime = int(first.get("balance") or 0), int(first.get("lifetime") or 0)
    earned = {r["badge"]: r["at"] for r in rows if r["badge"]}
    badges = [{**badge, "at": earned.get(badge["badge"])} for badge in badges_shown(set(earned))]
    return await _summary(balance, lifetime), sorted(badges, key=lambda b: b["at"] is None)


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
    rows = await PointsLine.raw(
        "SELECT subject, SUM(points) AS points FROM points_line "
        "WHERE member = {} AND subject LIKE {} GROUP BY subject",
        member_id,
        "candidate:%",
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
