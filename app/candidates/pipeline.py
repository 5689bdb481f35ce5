"""The editors' pipeline, each employee's referrals, and the purge (plain functions, no HTTP)."""

from __future__ import annotations

import csv
import io
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from app.accounts import audit
from app.activity.service import record_activity
from app.activity.tables import ActivityKind
from app.candidates import cvs
from app.candidates.applications import policy
from app.candidates.tables import Candidate, CandidateKind, Stage
from app.content.tables import ContentItem, Kind
from app.core import db
from app.core.clock import now
from app.core.i18n import _
from app.core.tasks import BackgroundTask
from app.mail import service as mail

log = logging.getLogger("relay.candidates")

STAGES = [s.value for s in Stage]


def stage_names() -> dict[str, str]:
    return {
        "new": _("New"),
        "contacted": _("Contacted"),
        "interview": _("Interview"),
        "offer": _("Offer"),
        "hired": _("Hired"),
        "not_selected": _("Not selected"),
    }


OFFERS_PAGE = 50


async def offers_with_candidates(
    before: int | None = None, limit: int = OFFERS_PAGE
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of the offers older than ``before`` (ids are never reused: newest first), each
    with how many candidates it has (pending ones included); the next page's ``before``."""
    older = "AND id < {} " if before is not None else ""
    offers = [
        dict(r)
        for r in await ContentItem.raw(
            f"SELECT id, title, offer_status FROM content_item WHERE kind = {{}} {older}"  # noqa: S608 (placeholders only)
            "ORDER BY id DESC LIMIT {}",
            *[Kind.offer.value, *([before] if before is not None else []), limit + 1],
        )
    ]
    more = len(offers) > limit
    offers = offers[:limit]
    if not offers:
        return [], None
    # Counted by the database, for this page's offers only (candidate.item is indexed).
    marks = ", ".join(["{}"] * len(offers))
    counts = {
        int(row["item"]): int(row["n"])
        for row in await Candidate.raw(
            f"SELECT item, COUNT(*) AS n FROM candidate WHERE item IN ({marks}) GROUP BY item",  # noqa: S608 (placeholders only)
            *[o["id"] for o in offers],
        )
    }
    page = [{**o, "candidates": counts.get(int(o["id"]), 0)} for o in offers]
    return page, (page[-1]["id"] if more else None)


async def offer_title(item_id: int) -> str | None:
    row = (
        await ContentItem.select(ContentItem.title)
        .where(ContentItem.id == item_id, ContentItem.kind == Kind.offer.value)
        .first()
    )
    return str(row["title"]) if row else None


async def pipeline(item_id: int) -> list[dict[str, Any]]:
    """The offer's candidates, newest first, each with its referrer's name. A recommendation
    the friend has not accepted yet shows nothing but that it is pending."""
    rows = (
        await Candidate.select(
            *Candidate.all_columns(exclude=[Candidate.token_hash, Candidate.dedupe]),
            Candidate.referrer.name.as_alias("referrer_name"),
        )
        .where(Candidate.item == item_id)
        .order_by(Candidate.created_at, ascending=False)
    )
    for row in rows:
        row["pending"] = row["consent_at"] is None
    return rows


async def candidate(candidate_id: int) -> dict[str, Any] | None:
    row = (
        await Candidate.select(
            *Candidate.all_columns(exclude=[Candidate.token_hash, Candidate.dedupe]),
            Candidate.referrer.name.as_alias("referrer_name"),
        )
        .where(Candidate.id == candidate_id)
        .first()
    )
    if row is not None:
        row["pending"] = row["consent_at"] is None
    return row


class OwnReferral(Exception):
    """An editor or admin deciding on a candidate they referred themselves: nobody decides on
    their own referral (it is worth up to 770 points to them); another editor or an admin
    does."""

    def __init__(self) -> None:
        super().__init__("own referral")
        self.message = own_referral_text()


def own_referral_text() -> str:
    return _("Your own referral: another editor or an admin decides.")


async def refuse_own_referral(
    candidate_id: int, by: int | None, client: str = "", **detail: Any
) -> None:
    """Raise :class:`OwnReferral` (and audit the attempt) when ``by`` referred the candidate.

    Checked before the decision's transaction, so the audit event stays when the decision
    is refused: a candidate's referrer is set once, when they apply or are recommended, and
    only ever changes to nobody."""
    row = await Candidate.select(Candidate.referrer).where(Candidate.id == candidate_id).first()
    if row is not None and row["referrer"] is not None and row["referrer"] == by:
        await audit.record(
            "own_decision_refused",
            actor=by,
            subject=by,
            client=client,
            candidate=candidate_id,
            **detail,
        )
        raise OwnReferral()


async def move(
    candidate_id: int, stage: str, by: int | None, client: str = ""
) -> dict[str, Any] | None:
    """Move an accepted candidate to ``stage`` and record it; None when there is no such
    candidate (or it is still a pending recommendation); :class:`OwnReferral` when ``by``
    referred them. ``by`` is None when the ATS moves them (app.integrations.api)."""
    if stage not in STAGES:
        raise ValueError(stage)
    await refuse_own_referral(candidate_id, by, client, stage=stage)
    async with db.write_transaction():
        row = await candidate(candidate_id)
        if row is None or row["pending"]:
            return None
        if row["stage"] != stage:
            at = now()
            changes: dict[Any, Any] = {Candidate.stage: stage, Candidate.updated_at: at}
            if stage == Stage.hired.value:
                changes[Candidate.hired_at] = at
            await Candidate.update(changes).where(Candidate.id == candidate_id)
            await record_activity(
                ActivityKind.stage,
                f"{candidate_id}:{stage}:{at.isoformat()}",
                member=row["referrer"],
                item=row["item"],
                at=at,
                candidate=candidate_id,
                stage=stage,
                before=row["stage"],
                by=by,
            )
    return await candidate(candidate_id)


async def set_wall_of_fame(
    candidate_id: int, agreed: bool, by: int, client: str = ""
) -> dict[str, Any] | None:
    """Record whether a hired candidate agreed to appear on the wall of fame. None when
    there is no such hired candidate: consent is only asked of people who were hired.
    :class:`OwnReferral` when ``by`` referred them: their referral's fame is not theirs to
    record either."""
    await refuse_own_referral(candidate_id, by, client, wall_of_fame=agreed)
    rows = (
        await Candidate.update({Candidate.wall_of_fame: agreed, Candidate.updated_at: now()})
        .where(Candidate.id == candidate_id, Candidate.stage == Stage.hired.value)
        .returning(Candidate.id)
    )
    return await candidate(candidate_id) if rows else None


async def save_notes(candidate_id: int, notes: str) -> dict[str, Any] | None:
    await Candidate.update({Candidate.notes: notes, Candidate.updated_at: now()}).where(
        Candidate.id == candidate_id, Candidate.consent_at.is_not_null()
    )
    return await candidate(candidate_id)


async def delete_candidate(data_dir: Path, candidate_id: int, by: int, client: str = "") -> bool:
    """Delete a candidate's data on request: the row, the mail about them and the CV file.
    The audit log says which editor did it, naming the candidate by id only."""
    async with db.write_transaction():
        rows = await Candidate.delete().where(Candidate.id == candidate_id).returning(Candidate.cv)
        if rows:
            await mail.forget([f"candidate:{candidate_id}"])
            await audit.record("candidate_deleted", actor=by, client=client, candidate=candidate_id)
    for row in rows:
        cvs.delete_cv(data_dir, row["cv"])
    return bool(rows)


def pipeline_csv(title: str, rows: list[dict[str, Any]]) -> str:
    names = stage_names()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["offer", "kind", "name", "email", "phone", "linkedin", "referrer", "stage", "applied_at",
         "notes"]
    )  # fmt: skip
    for row in rows:
        if row["pending"]:
            continue  # no consent yet: nothing of theirs leaves Relay
        writer.writerow(
            [
                safe_cell(title),
                row["kind"],
                safe_cell(row["name"]),
                safe_cell(row["email"]),
                safe_cell(row["phone"]),
                safe_cell(row["linkedin"]),
                safe_cell(row["referrer_name"] or ""),
                names[row["stage"]],
                row["created_at"].strftime("%Y-%m-%d %H:%M"),
                safe_cell(row["notes"]),
            ]
        )
    return out.getvalue()


def safe_cell(value: str) -> str:
    """No spreadsheet formulas from what people typed (CSV injection): candidates' fields and
    the offer's title, which an editor wrote but a spreadsheet would run all the same."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


async def referrals_of(member_id: int) -> list[dict[str, Any]]:
    """Everyone the member brought (through their links) or recommended, newest first (the
    points each earned them: :func:`app.points.history.referrals_with_points`)."""
    # Written out: the builder's join cost more than the query (the member's page).
    rows = [
        dict(r)
        for r in await Candidate.raw(
            "SELECT c.id, c.kind, c.name, c.stage, c.consent_at, c.created_at, "
            "i.title AS offer_title FROM candidate c LEFT JOIN content_item i ON i.id = c.item "
            "WHERE c.referrer = {} ORDER BY c.created_at DESC",
            member_id,
        )
    ]
    for row in rows:
        row["pending"] = row["consent_at"] is None
        if row["kind"] == CandidateKind.application.value:
            # Someone who applied through the member's link: a first name and an initial.
            first, _space, rest = str(row["name"]).partition(" ")
            row["name"] = f"{first} {rest[:1]}." if rest else first
    return rows


async def purge(data_dir: Path, at: datetime | None = None) -> tuple[int, int]:
    """Delete recommendations not accepted in time and candidates not hired after the
    retention period, CVs included: (recommendations, candidates) deleted."""
    at = at or now()
    rules = await policy(fresh=True)
    expired = (
        await Candidate.delete()
        .where(Candidate.consent_at.is_null(), Candidate.expires_at < at)
        .returning(Candidate.id, Candidate.cv)
    )
    old = (
        await Candidate.delete()
        .where(
            Candidate.stage != Stage.hired.value,
            Candidate.created_at < at - timedelta(days=int(rules["retention_days"])),
        )
        .returning(Candidate.id, Candidate.cv)
    )
    await mail.forget([f"candidate:{row['id']}" for row in [*expired, *old]])
    for row in [*expired, *old]:
        cvs.delete_cv(data_dir, row["cv"])
    return len(expired), len(old)


class PurgeSchedule(BackgroundTask):
    """The embedded default's periodic step: :func:`purge` once an hour in the app process
    (at scale, run ``relay purge`` from cron instead)."""

    description = "candidate purge"
    log = log
    wait_first = True  # start-up stays quick, and a restart loop does not purge in a loop

    def __init__(self, data_dir: Path, every_s: float = 3600.0) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.interval_s = every_s

    async def round(self) -> None:
        await purge(self.data_dir)
