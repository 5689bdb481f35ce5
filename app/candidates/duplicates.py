"""The same person referred twice: who keeps the credit (plain functions, no HTTP).

A person is known across offers by the mailbox their address reaches (case, spaces and a
``+tag`` aside, :func:`app.candidates.applications.mailbox`) and by their phone number in
E.164 (``06 12 34 56 78``, ``+33 6 12 34 56 78`` and ``0033612345678`` are one number; the
library ``phonenumbers`` reads them, numbers without a country prefix in the
:data:`HOME_REGION`). When a candidate's details become known (an application, a friend
accepting a recommendation), :func:`mark` looks for an earlier candidate with the same
mailbox or number, for any offer, who holds the credit and came less than the policy's
exclusivity window before (90 days by default): the new one is then a *duplicate* of it.
A duplicate earns its referrer nothing: :mod:`app.points.awards` asks :func:`uncredited`
before crediting any activity about a candidate, and a hire's bonus goes to the first
referral's referrer (:mod:`app.candidates.bonuses`). After the window, a new referral holds
the credit again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import phonenumbers

from app.candidates import applications  # a module: applications calls mark()
from app.candidates.tables import Candidate
from app.core.clock import now
from app.core.i18n import _

# Numbers typed without a country prefix ("06 12 34 56 78") are read as French ones.
HOME_REGION = "FR"


def email_key(email: str) -> str:
    return applications.mailbox(email)[:254] if email.strip() else ""


def phone_key(phone: str, region: str = HOME_REGION) -> str:
    """The number in E.164 (``+33612345678``), or "" when it is no possible number."""
    text = phone.strip()
    if not text or len(text) > 40:
        return ""
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[:20]


async def mark(candidate_id: int) -> int | None:
    """Write the candidate's keys and, when an earlier candidate with the same mailbox or
    number holds the credit within the window, mark this one its duplicate. Runs in the
    transaction that makes the candidate's details known, before its activity is recorded
    (so that :func:`uncredited` already answers for it). The earlier candidate's id, or None."""
    row = (
        await Candidate.select(Candidate.email, Candidate.phone, Candidate.created_at)
        .where(Candidate.id == candidate_id)
        .first()
    )
    if row is None:
        return None
    emails, phones = email_key(str(row["email"])), phone_key(str(row["phone"]))
    # Now, when HR learns who they are: a recommendation made earlier but accepted after
    # someone else brought the same person is the later referral.
    first = await credit_holder(emails, phones, max(now(), row["created_at"]), candidate_id)
    await Candidate.update(
        {Candidate.email_key: emails, Candidate.phone_key: phones, Candidate.duplicate_of: first}
    ).where(Candidate.id == candidate_id)
    return first


async def credit_holder(
    emails: str, phones: str, at: datetime, candidate_id: int | None = None
) -> int | None:
    """The earliest candidate (accepted, not itself a duplicate) with this mailbox or number
    who came within the exclusivity window before ``at``."""
    same = []
    if emails:
        same.append(Candidate.email_key == emails)
    if phones:
        same.append(Candidate.phone_key == phones)
    if not same:
        return None
    person = same[0] if len(same) == 1 else same[0] | same[1]
    days = int((await applications.policy())["exclusivity_days"])
    query = Candidate.select(Candidate.id).where(
        person,
        Candidate.consent_at.is_not_null(),
        Candidate.duplicate_of.is_null(),
        Candidate.created_at > at - timedelta(days=days),
        Candidate.created_at <= at,
    )
    if candidate_id is not None:
        query = query.where(Candidate.id != candidate_id)
    row = await query.order_by(Candidate.created_at).order_by(Candidate.id).first()
    return int(row["id"]) if row else None


async def uncredited(candidate_id: int) -> bool:
    """Whether activity about this candidate earns nothing: a duplicate's referrer is not
    credited (the first referral keeps the credit)."""
    return await Candidate.exists().where(
        Candidate.id == candidate_id, Candidate.duplicate_of.is_not_null()
    )


async def credited_referrer_of(candidate_id: int) -> int | None:
    """Who holds the credit for this candidate: its referrer, or for a duplicate the first
    referral's referrer."""
    row = (
        await Candidate.select(Candidate.referrer, Candidate.duplicate_of)
        .where(Candidate.id == candidate_id)
        .first()
    )
    if row is None:
        return None
    if row["duplicate_of"] is None:
        return row["referrer"]
    first = (
        await Candidate.select(Candidate.referrer)
        .where(Candidate.id == row["duplicate_of"])
        .first()
    )
    return first["referrer"] if first else None


def why(row: dict[str, Any], first: dict[str, Any] | None, days: int) -> str:
    """The sentence the editor reads beside a duplicate: who keeps the credit, and why."""
    if first is None:
        return _(
            "Already referred less than %(days)s days before (that referral has since been "
            "deleted): this one earns its referrer nothing."
        ) % {"days": days}
    holder = first.get("referrer_name") or _("nobody (they applied on their own)")
    return _(
        "The same person (same email address or phone number) was referred on %(date)s for "
        "%(offer)s, less than %(days)s days before: that first referral keeps the credit "
        "(%(holder)s), and this one earns %(referrer)s no points and no bonus."
    ) % {
        "date": first["created_at"].strftime("%Y-%m-%d"),
        "offer": first.get("offer_title") or "",
        "days": days,
        "holder": holder,
        "referrer": row.get("referrer_name") or _("nobody"),
    }
