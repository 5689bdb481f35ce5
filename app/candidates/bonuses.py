"""Referral bonuses: what a hire is worth to its referrer, when it is due, and payroll's list
(plain functions, no HTTP).

An admin sets a default bonus (an amount, its currency and the probation period after which
it is paid) in the candidate policy, and may set an offer's own. A candidate reaching
"hired" creates a bonus to pay to the referrer who holds the credit
(:func:`app.candidates.duplicates.credited_referrer_of`), due on the hire date plus the
probation period; moved out of "hired" before it is paid, the candidate's bonus is
cancelled. Both follow the stage's activity (:func:`on_activity_recorded`, subscribed in
:mod:`app.wiring`), in its transaction, so an editor's move and any other path that moves a
candidate through :func:`app.candidates.pipeline.move` do it alike. An admin marks a bonus
paid (audited), never one of their own.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.accounts import audit
from app.accounts.tables import Member
from app.activity.service import ActivityRecorded
from app.activity.tables import ActivityKind
from app.candidates import duplicates
from app.candidates.applications import policy, save_policy
from app.candidates.overview import choice_id
from app.candidates.pipeline import safe_cell
from app.candidates.tables import (
    BonusStatus,
    Candidate,
    CandidatePolicy,
    OfferBonus,
    ReferralBonus,
    Stage,
)
from app.content.tables import ContentItem, Kind
from app.core import db
from app.core.clock import now
from app.core.forms import FormResult
from app.core.i18n import _

PAGE = 50
MAX_AMOUNT = 1_000_000
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


def status_names() -> dict[str, str]:
    return {
        BonusStatus.due.value: _("To pay"),
        BonusStatus.paid.value: _("Paid"),
        BonusStatus.cancelled.value: _("Cancelled"),
    }


@dataclass(frozen=True)
class BonusRule:
    amount: int
    currency: str
    probation_days: int


async def rule_for(item_id: int) -> BonusRule:
    """The offer's own bonus, else the policy's default (an amount of 0: no bonus)."""
    own = await OfferBonus.select().where(OfferBonus.item == item_id).first()
    source: Mapping[str, Any] = own or await policy(fresh=True)
    if own is None:
        return BonusRule(
            int(source["bonus_amount"]),
            str(source["bonus_currency"]),
            int(source["probation_days"]),
        )
    return BonusRule(int(source["amount"]), str(source["currency"]), int(source["probation_days"]))


# --- A hire creates a bonus; leaving "hired" before payment cancels it -------------------


async def on_activity_recorded(event: ActivityRecorded) -> None:
    activity = event.activity
    if activity.get("kind") != ActivityKind.stage.value:
        return
    detail = activity.get("detail") or {}
    if isinstance(detail, str):
        detail = json.loads(detail or "{}")
    candidate = detail.get("candidate")
    if candidate is None:
        return
    stage, before = detail.get("stage"), detail.get("before")
    if stage == Stage.hired.value:
        await create(int(candidate), activity["at"])
    elif before == Stage.hired.value:
        await cancel(int(candidate), activity["at"])


async def create(candidate_id: int, at: datetime) -> int | None:
    """The bonus of this hire (once per hire), or None when nobody holds the credit or the
    offer's bonus is nothing."""
    row = (
        await Candidate.select(
            Candidate.name, Candidate.item, Candidate.item.title.as_alias("offer_title")
        )
        .where(Candidate.id == candidate_id)
        .first()
    )
    referrer = await duplicates.credited_referrer_of(candidate_id)
    if row is None or referrer is None:
        return None
    rule = await rule_for(int(row["item"]))
    if rule.amount <= 0:
        return None
    member = await Member.select(Member.name).where(Member.id == referrer).first()
    hired_on = at.date()
    async with db.write_transaction():
        rows = (
            await ReferralBonus.insert(
                ReferralBonus(
                    key=f"{candidate_id}:{at.isoformat()}"[:80],
                    candidate=candidate_id,
                    referrer=referrer,
                    item=row["item"],
                    referrer_name=str(member["name"]) if member else "",
                    candidate_name=str(row["name"])[:120],
                    offer_title=str(row["offer_title"] or "")[:300],
                    amount=rule.amount,
                    currency=rule.currency,
                    hired_on=hired_on,
                    due_on=hired_on + timedelta(days=rule.probation_days),
                    created_at=at,
                )
            )
            .on_conflict(target=ReferralBonus.key, action="DO NOTHING")
            .returning(ReferralBonus.id)
        )
    return int(rows[0]["id"]) if rows else None


async def cancel(candidate_id: int, at: datetime) -> int:
    """Cancel the candidate's bonuses not paid yet; how many."""
    rows = (
        await ReferralBonus.update(
            {ReferralBonus.status: BonusStatus.cancelled.value, ReferralBonus.cancelled_at: at}
        )
        .where(
            ReferralBonus.candidate == candidate_id,
            ReferralBonus.status == BonusStatus.due.value,
        )
        .returning(ReferralBonus.id)
    )
    return len(rows)


# --- Paying ---------------------------------------------------------------------------


class OwnBonus(Exception):
    """An admin marking their own bonus paid: another admin does."""


async def mark_paid(bonus_id: int, by: int, client: str = "") -> dict[str, Any] | None:
    """Mark a bonus to pay as paid (audited); None when there is no such bonus to pay;
    :class:`OwnBonus` (audited too) when ``by`` is its referrer."""
    row = await bonus(bonus_id)
    if row is None or row["status"] != BonusStatus.due.value:
        return None
    if row["referrer"] is not None and row["referrer"] == by:
        await audit.record(
            "own_decision_refused", actor=by, subject=by, client=client, bonus=bonus_id
        )
        raise OwnBonus()
    async with db.write_transaction():
        rows = (
            await ReferralBonus.update(
                {
                    ReferralBonus.status: BonusStatus.paid.value,
                    ReferralBonus.paid_at: now(),
                    ReferralBonus.paid_by: by,
                }
            )
            .where(ReferralBonus.id == bonus_id, ReferralBonus.status == BonusStatus.due.value)
            .returning(ReferralBonus.id)
        )
        if not rows:
            return None
        await audit.record(
            "bonus_paid",
            actor=by,
            subject=row["referrer"],
            client=client,
            bonus=bonus_id,
            amount=row["amount"],
            currency=row["currency"],
        )
    return await bonus(bonus_id)


async def bonus(bonus_id: int) -> dict[str, Any] | None:
    return await ReferralBonus.select().where(ReferralBonus.id == bonus_id).first()


async def bonuses(status: str | None, page: int = 1) -> tuple[list[dict[str, Any]], int]:
    """A page of bonuses by due date, and how many there are."""
    query = ReferralBonus.select(
        *ReferralBonus.all_columns(), ReferralBonus.paid_by.name.as_alias("paid_by_name")
    )
    count = ReferralBonus.count()
    if status:
        query = query.where(ReferralBonus.status == status)
        count = count.where(ReferralBonus.status == status)
    rows = (
        await query.order_by(ReferralBonus.due_on)
        .order_by(ReferralBonus.id, ascending=False)
        .offset((page - 1) * PAGE)
        .limit(PAGE)
    )
    return rows, await count


async def all_bonuses(status: str | None) -> list[dict[str, Any]]:
    query = ReferralBonus.select(
        *ReferralBonus.all_columns(), ReferralBonus.paid_by.name.as_alias("paid_by_name")
    )
    if status:
        query = query.where(ReferralBonus.status == status)
    return await query.order_by(ReferralBonus.due_on).order_by(ReferralBonus.id)


def bonuses_csv(rows: list[dict[str, Any]]) -> str:
    """Payroll's file: one line per bonus, formulas neutralised like the candidates' export."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["bonus", "referrer", "referrer_id", "candidate", "offer", "amount", "currency",
         "hired_on", "due_on", "status", "paid_at", "paid_by"]
    )  # fmt: skip
    for row in rows:
        writer.writerow(
            [
                row["id"],
                safe_cell(row["referrer_name"]),
                row["referrer"] or "",
                safe_cell(row["candidate_name"]),
                safe_cell(row["offer_title"]),
                row["amount"],
                row["currency"],
                row["hired_on"].isoformat(),
                row["due_on"].isoformat(),
                row["status"],
                row["paid_at"].strftime("%Y-%m-%d %H:%M") if row["paid_at"] else "",
                safe_cell(row.get("paid_by_name") or ""),
            ]
        )
    return out.getvalue()


# --- The admin's settings ---------------------------------------------------------------


def _amount_fields(form: FormResult, amount: str, currency: str, probation: str) -> None:
    form.integer(
        amount,
        low=0,
        high=MAX_AMOUNT,
        max_digits=8,
        grouping=" ,",
        message=_("Enter a whole amount from 0 to 1,000,000."),
    )
    code = form.raw(currency).strip().upper() or "EUR"
    if CURRENCY_RE.match(code):
        form.values[currency] = code
    else:
        form.fail(currency, _("Enter a currency code of three letters, such as EUR."))
        form.values[currency] = form.raw(currency)[:3]
    form.integer(
        probation,
        low=0,
        high=730,
        max_digits=4,
        message=_("Enter a number of days from 0 to 730."),
    )


def check_settings(data: Mapping[str, Any] | None) -> FormResult:
    """The exclusivity window and the default bonus."""
    form = FormResult.of(data)
    form.integer(
        "exclusivity_days",
        low=1,
        high=730,
        max_digits=4,
        message=_("Enter a number of days from 1 to 730."),
    )
    _amount_fields(form, "bonus_amount", "bonus_currency", "probation_days")
    return form


async def save_settings(values: Mapping[str, Any], by: int, client: str = "") -> None:
    await save_policy(
        {
            CandidatePolicy.exclusivity_days: values["exclusivity_days"],
            CandidatePolicy.bonus_amount: values["bonus_amount"],
            CandidatePolicy.bonus_currency: values["bonus_currency"],
            CandidatePolicy.probation_days: values["probation_days"],
        }
    )
    await audit.record("bonus_settings_changed", actor=by, client=client, **dict(values))


def check_offer_bonus(data: Mapping[str, Any] | None, offers: Mapping[int, str]) -> FormResult:
    """An offer's own bonus; an empty amount goes back to the default."""
    form = FormResult.of(data)
    form.choice(
        "item",
        offers,
        parse=choice_id,
        message=_("Choose an offer from the list."),
    )
    if form.raw("amount") == "":
        form.values["amount"] = None
        form.values["currency"] = "EUR"
        form.values["probation_days"] = 0
        return form
    _amount_fields(form, "amount", "currency", "probation_days")
    return form


async def save_offer_bonus(values: Mapping[str, Any], by: int, client: str = "") -> None:
    item = int(values["item"])
    async with db.write_transaction():
        await OfferBonus.delete().where(OfferBonus.item == item)
        if values["amount"] is not None:
            await OfferBonus.insert(
                OfferBonus(
                    item=item,
                    amount=values["amount"],
                    currency=values["currency"],
                    probation_days=values["probation_days"],
                )
            )
        await audit.record("bonus_settings_changed", actor=by, client=client, **dict(values))


async def offer_bonuses() -> list[dict[str, Any]]:
    return await OfferBonus.select(
        *OfferBonus.all_columns(), OfferBonus.item.title.as_alias("offer_title")
    ).order_by(OfferBonus.item.title)


async def offers() -> dict[int, str]:
    """Every offer, by id: its title (the per-offer bonus' and the list's choices)."""
    rows = (
        await ContentItem.select(ContentItem.id, ContentItem.title)
        .where(ContentItem.kind == Kind.offer.value)
        .order_by(ContentItem.title)
    )
    return {int(row["id"]): str(row["title"]) for row in rows}
