"""The ATS's API, without HTTP: offers kept in sync by the ATS's own id, referred candidates
read (with consent only), a candidate's stage set, CVs by short-lived signed links.

Offers go through the studio's own validation and saving (:func:`app.content.editing.check_item`
and :func:`~app.content.editing.save_item`), so an offer from the ATS is held to the same
rules as an editor's (apply hosts, salary range, privacy notice before publishing). A stage
goes through :func:`app.candidates.pipeline.move`, the function an editor's move calls, so the
referrer's points and push follow exactly as then.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from app.accounts import audit
from app.candidates import pipeline
from app.candidates.tables import Candidate
from app.content import editing
from app.content.tables import Kind, OfferStatus
from app.core.clock import now
from app.core.db import write_transaction
from app.core.forms import FormResult
from app.core.i18n import _
from app.integrations import tokens
from app.integrations.tables import ExternalOffer
from app.org.tables import Site

BASE_PATH = "/api/v1"
CV_LINK_LIFETIME = timedelta(minutes=10)
PAGE = 50
MAX_PAGE = 200


class ApiProblem(Exception):
    """A refusal with its HTTP status and sentence (and, for 422, the fields at fault)."""

    def __init__(
        self,
        status: int,
        detail: str,
        errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail
        self.errors, self.headers = errors or {}, headers or {}


# --- Tokens -----------------------------------------------------------------------------------


def check_token(values: dict[str, Any], chosen: list[str]) -> FormResult:
    form = FormResult.of(values)
    form.text(
        "name",
        max_length=80,
        required=_("Name the system that will use the token, like your ATS."),
        too_long=_("Keep the name under 80 characters."),
    )
    scopes = [scope for scope in tokens.API_SCOPES if scope in chosen]
    if not scopes:
        form.fail("scopes", _("Choose at least one thing the token may do."))
    form.values["scopes"] = tuple(scopes)
    return form


# --- Offers -----------------------------------------------------------------------------------


async def offer_of(external_id: str) -> dict[str, Any] | None:
    row = (
        await ExternalOffer.select(ExternalOffer.item, ExternalOffer.external_id)
        .where(ExternalOffer.external_id == external_id)
        .first()
    )
    if row is None:
        return None
    item = await editing.item_by_id(int(row["item"]))
    if item is None:
        return None
    return offer_document(item, external_id)


def offer_document(item: dict[str, Any], external_id: str) -> dict[str, Any]:
    published = item["publish_at"] is not None and item["archived_at"] is None
    return {
        "external_id": external_id,
        "id": item["id"],
        "title": item["title"],
        "description": item["body"],
        "location": item.get("site_name"),
        "contract": item["contract"] or None,
        "remote": item["remote"] or None,
        "salary_min": item["salary_min"],
        "salary_max": item["salary_max"],
        "apply_url": item["apply_url"],
        "language": item["language"],
        "status": item["offer_status"],
        "published": published,
        "updated_at": _iso(item["updated_at"]),
    }


async def _site_id(location: str | None) -> int | None:
    if not location:
        return None
    wanted = location.strip().casefold()
    for site in await Site.select(Site.id, Site.name):
        if str(site["name"]).casefold() == wanted:
            return int(site["id"])
    names = ", ".join(sorted(str(s["name"]) for s in await Site.select(Site.name)))
    raise ApiProblem(
        422,
        _("The location must be one of Relay's sites."),
        {"location": _("Unknown site. Relay's sites: %(names)s.") % {"names": names or "-"}},
    )


# The studio's fields the API sets; an update leaves every other field as the editor left it.
OFFER_FIELDS = (
    "title",
    "body",
    "language",
    "site",
    "contract",
    "remote",
    "salary_min",
    "salary_max",
    "offer_status",
    "apply_url",
)
API_FIELDS = {
    "title": "title",
    "body": "description",
    "site": "location",
    "salary": "salary_min",
    "offer_status": "status",
}


async def upsert_offer(
    external_id: str, offer: dict[str, Any], caller: tokens.Caller, client: str = ""
) -> tuple[dict[str, Any], bool]:
    """Create or update the offer the ATS knows as ``external_id``; (document, created)."""
    site = await _site_id(offer.get("location"))
    form_data = {
        "title": offer["title"],
        "body": offer.get("description") or "",
        "language": offer.get("language") or "en",
        "site": str(site) if site is not None else "",
        "contract": offer.get("contract") or "",
        "remote": offer.get("remote") or "",
        "salary_min": "" if offer.get("salary_min") is None else str(offer["salary_min"]),
        "salary_max": "" if offer.get("salary_max") is None else str(offer["salary_max"]),
        "offer_status": offer.get("status") or OfferStatus.open.value,
        "apply_url": offer.get("apply_url") or "",
        "audience": "all",
    }
    checked = await editing.check_item(Kind.offer.value, form_data)
    if not checked.ok:
        errors = {API_FIELDS.get(k, k): str(v) for k, v in checked.errors.items()}
        raise ApiProblem(422, _("Some fields of the offer are not valid."), errors)
    existing = (
        await ExternalOffer.select(ExternalOffer.item)
        .where(ExternalOffer.external_id == external_id)
        .first()
    )
    item_id = int(existing["item"]) if existing else None
    item = await editing.item_by_id(item_id) if item_id is not None else None
    wants_open = checked.values["offer_status"] == OfferStatus.open.value
    if wants_open and (item is None or item["publish_at"] is None):
        refusals = await editing.publish_refusals({"kind": Kind.offer.value, "id": item_id or 0})
        if refusals:
            raise ApiProblem(409, " ".join(refusals))
    if item is not None:
        # Only the API's fields; the audience, captions, image… stay as the editor left them.
        teams, sites = await editing.targets_of(int(item["id"]))
        checked.values = {
            **{key: checked.values[key] for key in OFFER_FIELDS},
            "teams": teams,
            "sites": sites,
        }
    async with write_transaction():
        saved = await editing.save_item(item_id, checked, by=None)
        if item_id is None:
            await ExternalOffer.insert(
                ExternalOffer(item=saved, external_id=external_id, token=caller.token_id)
            )
        else:
            await ExternalOffer.update({ExternalOffer.updated_at: now()}).where(
                ExternalOffer.item == saved
            )
        await audit.record(
            "api_offer_saved",
            client=client,
            via=caller.via,
            offer=saved,
            external_id=external_id,
            created=item_id is None,
        )
    if wants_open and (item is None or item["publish_at"] is None):
        await editing.publish(saved)
    elif item is not None and item["offer_status"] != checked.values["offer_status"]:
        await editing.set_offer_status(saved, OfferStatus(checked.values["offer_status"]))
    document = await offer_of(external_id)
    assert document is not None
    return document, item_id is None


# --- Candidates -------------------------------------------------------------------------------


def _iso(value: datetime | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def cv_signature(secret_key: str, candidate_id: int, expires: int) -> str:
    message = f"cv:{candidate_id}:{expires}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def cv_link(public_url: str, secret_key: str, candidate_id: int) -> tuple[str, int]:
    expires = int(time.time() + CV_LINK_LIFETIME.total_seconds())
    query = urlencode(
        {"expires": expires, "signature": cv_signature(secret_key, candidate_id, expires)}
    )
    return f"{public_url}{BASE_PATH}/cvs/{candidate_id}?{query}", expires


def cv_link_valid(secret_key: str, candidate_id: int, expires: int, signature: str) -> bool:
    if expires < time.time():
        return False
    return hmac.compare_digest(cv_signature(secret_key, candidate_id, expires), signature)


CANDIDATE_COLUMNS = (
    "c.id, c.kind, c.item, c.name, c.email, c.phone, c.linkedin, c.message, c.stage, c.cv, "
    "c.cv_name, c.cv_type, c.created_at, c.updated_at, c.hired_at, c.consent_at, "
    "i.title AS offer_title, x.external_id AS offer_external_id, "
    "m.name AS referrer_name, m.email AS referrer_email"
)
CANDIDATE_FROM = (
    "FROM candidate c JOIN content_item i ON i.id = c.item "
    "LEFT JOIN external_offer x ON x.item = c.item LEFT JOIN member m ON m.id = c.referrer "
    "WHERE c.consent_at IS NOT NULL AND i.kind = {}"
)


def candidate_document(row: dict[str, Any], public_url: str, secret_key: str) -> dict[str, Any]:
    cv = None
    if row["cv"]:
        url, expires = cv_link(public_url, secret_key, int(row["id"]))
        cv = {
            "name": row["cv_name"],
            "type": row["cv_type"],
            "url": url,
            "expires_at": datetime.fromtimestamp(expires, UTC).isoformat(),
        }
    referrer = None
    if row["referrer_name"] is not None:
        referrer = {"name": row["referrer_name"], "email": row["referrer_email"]}
    return {
        "id": row["id"],
        "source": row["kind"],
        "offer": {
            "id": row["item"],
            "external_id": row["offer_external_id"],
            "title": row["offer_title"],
        },
        "name": row["name"],
        "email": row["email"],
        "phone": row["phone"],
        "linkedin": row["linkedin"],
        "message": row["message"],
        "stage": row["stage"],
        "referrer": referrer,
        "cv": cv,
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        "hired_at": _iso(row["hired_at"]),
    }


async def candidates(
    after: int | None, limit: int, offer_external_id: str | None
) -> tuple[list[dict[str, Any]], int | None]:
    """Candidates with consent, oldest first from ``after``; the next page's ``after``."""
    where = ""
    args: list[Any] = [Kind.offer.value]
    if after is not None:
        where += " AND c.id > {}"
        args.append(after)
    if offer_external_id is not None:
        where += " AND x.external_id = {}"
        args.append(offer_external_id)
    rows = [
        dict(r)
        for r in await Candidate.raw(
            f"SELECT {CANDIDATE_COLUMNS} {CANDIDATE_FROM}{where} ORDER BY c.id LIMIT {{}}",
            *args,
            limit + 1,
        )
    ]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (int(rows[-1]["id"]) if more and rows else None)


async def candidate(candidate_id: int) -> dict[str, Any] | None:
    rows = await Candidate.raw(
        f"SELECT {CANDIDATE_COLUMNS} {CANDIDATE_FROM} AND c.id = {{}}",
        Kind.offer.value,
        candidate_id,
    )
    return dict(rows[0]) if rows else None


async def set_stage(
    candidate_id: int, stage: str, caller: tokens.Caller, client: str = ""
) -> dict[str, Any] | None:
    """The editor's move, made by the ATS; None when there is no such candidate (or no
    consent yet)."""
    if await candidate(candidate_id) is None:
        return None
    moved = await pipeline.move(candidate_id, stage, None, client)
    if moved is None:
        return None
    await audit.record(
        "api_stage_set", client=client, via=caller.via, candidate=candidate_id, stage=stage
    )
    return await candidate(candidate_id)


async def cv_file(candidate_id: int) -> dict[str, Any] | None:
    return (
        await Candidate.select(Candidate.cv, Candidate.cv_name, Candidate.cv_type)
        .where(
            (Candidate.id == candidate_id)
            & Candidate.consent_at.is_not_null()
            & Candidate.cv.is_not_null()
        )
        .first()
    )
