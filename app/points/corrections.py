"""Corrections: an admin adds or removes points by hand, with a reason, once per form."""

from __future__ import annotations

import uuid

from app.accounts import audit
from app.accounts.tables import Member
from app.core.db import write_transaction
from app.core.i18n import _, ngettext
from app.points import ledger
from app.points.rules_admin import CORRECTION_MAX, REASON_MAX, _int
from app.points.tables import (
    Reason,
)

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
