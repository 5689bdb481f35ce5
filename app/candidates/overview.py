"""HR's view of every candidate across offers: filters, sort, pages, duplicates and the CSV
export (plain functions, no HTTP).

Only candidates who consented are listed (a recommendation awaiting the friend's answer
shows nothing of them, as in the pipeline).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from piccolo.columns.combination import WhereRaw

from app.accounts.tables import Member
from app.candidates import duplicates
from app.candidates.applications import policy
from app.candidates.pipeline import STAGES, safe_cell, stage_names
from app.candidates.tables import Candidate, CandidateKind
from app.core.forms import FormResult
from app.core.i18n import _
from app.core.validation import MAX_ID, parse_id

PAGE = 50
MAX_EXPORT = 100_000


def source_names() -> dict[str, str]:
    return {
        CandidateKind.application.value: _("Applied through a link"),
        CandidateKind.recommendation.value: _("Recommended"),
        CandidateKind.event_interest.value: _("Interest at an event"),
    }


def sort_names() -> dict[str, str]:
    return {
        "newest": _("Newest first"),
        "oldest": _("Oldest first"),
        "name": _("Name"),
        "offer": _("Offer"),
        "referrer": _("Referrer"),
        "stage": _("Stage"),
    }


@dataclass(frozen=True)
class Filters:
    stage: str | None = None
    offer: int | None = None
    referrer: int | None = None
    source: str | None = None
    since: date | None = None
    until: date | None = None
    duplicates: bool = False
    person: int | None = None  # one candidate and their duplicates (the "see both" link)
    sort: str = "newest"
    page: int = 1

    def query(self, **changes: Any) -> str:
        """The query string of these filters (with ``changes``), for links and pages."""
        values = {
            "stage": self.stage or "",
            "offer": self.offer or "",
            "referrer": self.referrer or "",
            "source": self.source or "",
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "duplicates": "on" if self.duplicates else "",
            "person": self.person or "",
            "sort": self.sort if self.sort != "newest" else "",
            "page": self.page if self.page != 1 else "",
            **changes,
        }
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})


def choice_id(text: str) -> int:
    """An id as typed in ASCII digits (``int`` would read "٣" as 3)."""
    value = parse_id(text)
    if value is None:
        raise ValueError(text)
    return value


def check_filters(
    data: Mapping[str, Any] | None, offers: Mapping[int, str], referrers: Mapping[int, str]
) -> tuple[FormResult, Filters]:
    """The list's filters from the query; a refused one is left out (and said so)."""
    form = FormResult.of(data)
    choose = _("Choose from the list.")
    stage = form.choice("stage", ["", *STAGES], message=choose, default="")
    offer = (
        form.choice("offer", offers, parse=choice_id, message=choose) if form.raw("offer") else None
    )
    referrer = (
        form.choice("referrer", referrers, parse=choice_id, message=choose)
        if form.raw("referrer")
        else None
    )
    source = form.choice("source", ["", *source_names()], message=choose, default="")
    since = form.date("since", message=_("Enter a date such as 2026-12-01."))
    until = form.date("until", message=_("Enter a date such as 2026-12-01."))
    if since and until and until < since:
        form.fail("until", _("The end date comes before the start date."))
        until = None
    dupes = form.checkbox("duplicates")
    person = form.integer("person", low=1, high=MAX_ID, optional=True, max_digits=10)
    sort = form.choice("sort", list(sort_names()), message=choose, default="newest")
    page = form.integer("page", low=1, high=100_000, optional=True, max_digits=6)
    filters = Filters(
        stage=stage or None,
        offer=offer,
        referrer=referrer,
        source=source or None,
        since=since,
        until=until,
        duplicates=dupes,
        person=person if "person" not in form.errors else None,
        sort=sort or "newest",
        page=(page or 1) if "page" not in form.errors else 1,
    )
    return form, filters


def _where(filters: Filters, zone: ZoneInfo) -> list[Any]:
    where: list[Any] = [Candidate.consent_at.is_not_null()]
    if filters.stage:
        where.append(Candidate.stage == filters.stage)
    if filters.offer is not None:
        where.append(Candidate.item == filters.offer)
    if filters.referrer is not None:
        where.append(Candidate.referrer == filters.referrer)
    if filters.source:
        where.append(Candidate.kind == filters.source)
    if filters.since:
        where.append(Candidate.created_at >= datetime.combine(filters.since, time(), zone))
    if filters.until:
        end = datetime.combine(filters.until + timedelta(days=1), time(), zone)
        where.append(Candidate.created_at < end)
    if filters.duplicates:
        where.append(
            Candidate.duplicate_of.is_not_null()
            | WhereRaw(
                "candidate.id IN (SELECT duplicate_of FROM candidate WHERE duplicate_of IS NOT NULL)"
            )
        )
    if filters.person is not None:
        where.append((Candidate.id == filters.person) | (Candidate.duplicate_of == filters.person))
    return where


SORTS: dict[str, list[tuple[Any, bool]]] = {
    "newest": [(Candidate.created_at, False)],
    "oldest": [(Candidate.created_at, True)],
    "name": [(Candidate.name, True)],
    "offer": [(Candidate.item.title, True), (Candidate.created_at, False)],
    "referrer": [(Candidate.referrer.name, True), (Candidate.created_at, False)],
    "stage": [(Candidate.stage, True), (Candidate.created_at, False)],
}

COLUMNS = (
    Candidate.id,
    Candidate.kind,
    Candidate.name,
    Candidate.email,
    Candidate.phone,
    Candidate.stage,
    Candidate.item,
    Candidate.referrer,
    Candidate.created_at,
    Candidate.duplicate_of,
    Candidate.item.title.as_alias("offer_title"),
    Candidate.referrer.name.as_alias("referrer_name"),
)


def _select(filters: Filters, zone: ZoneInfo) -> Any:
    query = Candidate.select(*COLUMNS).where(*_where(filters, zone))
    for column, ascending in SORTS[filters.sort]:
        query = query.order_by(column, ascending=ascending)
    return query.order_by(Candidate.id, ascending=filters.sort == "oldest")


async def candidates(filters: Filters, zone: ZoneInfo) -> tuple[list[dict[str, Any]], int]:
    """A page of candidates with their duplicates explained, and how many match."""
    total = await Candidate.count().where(*_where(filters, zone))
    rows = await _select(filters, zone).offset((filters.page - 1) * PAGE).limit(PAGE)
    await explain(rows)
    return rows, total


async def explain(rows: list[dict[str, Any]]) -> None:
    """Each duplicate gets ``why`` (the sentence) and ``first`` (the referral that keeps the
    credit); each first referral gets ``later`` (how many duplicates it has)."""
    firsts = {int(r["duplicate_of"]) for r in rows if r["duplicate_of"] is not None}
    ids = [int(r["id"]) for r in rows]
    known: dict[int, dict[str, Any]] = {}
    if firsts:
        for row in await Candidate.select(*COLUMNS).where(Candidate.id.is_in(list(firsts))):
            known[int(row["id"])] = row
    later: dict[int, int] = {}
    if ids:
        for row in await Candidate.select(Candidate.duplicate_of, Candidate.id).where(
            Candidate.duplicate_of.is_in(ids)
        ):
            later[int(row["duplicate_of"])] = later.get(int(row["duplicate_of"]), 0) + 1
    days = int((await policy())["exclusivity_days"])
    for row in rows:
        row["later"] = later.get(int(row["id"]), 0)
        if row["duplicate_of"] is not None:
            first = known.get(int(row["duplicate_of"]))
            row["first"] = first
            row["why"] = duplicates.why(row, first, days)


async def referrers() -> dict[int, str]:
    """The members who referred someone (the referrer filter's choices), by name."""
    rows = await Member.raw(
        "SELECT id, name FROM member WHERE id IN "
        "(SELECT DISTINCT referrer FROM candidate WHERE referrer IS NOT NULL) ORDER BY name"
    )
    return {int(row["id"]): str(row["name"]) for row in rows}


async def export_rows(filters: Filters, zone: ZoneInfo) -> list[dict[str, Any]]:
    return await _select(filters, zone).limit(MAX_EXPORT)


def candidates_csv(rows: list[dict[str, Any]]) -> str:
    """Every listed candidate, formulas neutralised (:func:`safe_cell`)."""
    stages, sources = stage_names(), source_names()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["candidate", "offer", "source", "name", "email", "phone", "referrer", "stage",
         "referred_at", "duplicate_of"]
    )  # fmt: skip
    for row in rows:
        writer.writerow(
            [
                row["id"],
                safe_cell(row["offer_title"] or ""),
                sources.get(row["kind"], row["kind"]),
                safe_cell(row["name"]),
                safe_cell(row["email"]),
                safe_cell(row["phone"]),
                safe_cell(row["referrer_name"] or ""),
                stages.get(row["stage"], row["stage"]),
                row["created_at"].strftime("%Y-%m-%d %H:%M"),
                row["duplicate_of"] or "",
            ]
        )
    return out.getvalue()
