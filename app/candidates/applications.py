"""Applying to an offer, and the admin's candidate policy (plain functions, no HTTP)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from app.accounts.invitations import EMAIL_RE
from app.accounts.tables import Member
from app.activity.service import record_activity
from app.activity.tables import ActivityKind
from app.candidates import cvs
from app.candidates.tables import Candidate, CandidateKind, CandidatePolicy
from app.core import db
from app.core.cache import TTLMap
from app.core.clock import now
from app.core.i18n import _
from app.core.validation import https_url, name_problem
from app.sharing.tables import ShareLink
from app.web.pagecache import public_pages_changed

REFERRAL_COOKIE = "relay_ref"
_kept_policy: TTLMap[str, dict[str, Any]] = TTLMap(ttl_s=5.0, max_size=1)


async def policy(fresh: bool = False) -> dict[str, Any]:
    """The admin's candidate policy (created with defaults), kept 5 seconds per process."""
    kept = None if fresh else _kept_policy.get("policy")
    if kept is not None:
        return kept
    row = await CandidatePolicy.select().first()
    if row is None:
        await CandidatePolicy.insert(CandidatePolicy())
        row = await CandidatePolicy.select().first()
    assert row is not None
    return _kept_policy.put("policy", row)


async def save_policy(values: dict[Any, Any]) -> None:
    current = await policy(fresh=True)
    await CandidatePolicy.update({**values, CandidatePolicy.updated_at: now()}).where(
        CandidatePolicy.id == current["id"]
    )
    _kept_policy.clear()
    public_pages_changed()  # the apply form shows the privacy notice


@dataclass
class CandidateForm:
    """A candidate's details as typed, and what is wrong with them (field → message)."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    cv: bytes | None = None
    cv_name: str = ""
    cv_type: str = ""


def check_candidate(
    data: dict[str, Any], cv: tuple[str, bytes] | None, *, consent_needed: bool
) -> CandidateForm:
    """Validate the fields shared by applications and recommendations."""
    values = {
        name: str(data.get(name) or "").strip()
        for name in ("name", "email", "phone", "linkedin", "message")
    }
    values["consent"] = "yes" if str(data.get("consent") or "") == "yes" else ""
    form = CandidateForm(values)
    errors = form.errors
    if not values["name"]:
        errors["name"] = _("Enter a name.")
    elif len(values["name"]) > 120:
        errors["name"] = _("Keep the name under 120 characters.")
    elif problem := name_problem(values["name"]):
        errors["name"] = problem
    email = values["email"]
    if not email:
        errors["email"] = _("Enter an email address.")
    elif len(email) > 254 or not EMAIL_RE.match(email):
        errors["email"] = _("Enter an email address such as name@example.com.")
    phone = values["phone"]
    if phone and (len(phone) > 40 or not all(c.isdigit() or c in " +-.()" for c in phone)):
        errors["phone"] = _("Enter a phone number with digits, spaces and + only.")
    linkedin = values["linkedin"]
    if linkedin:
        parts = https_url(linkedin)
        host = (parts.hostname or "").lower() if parts else ""
        if not (host == "linkedin.com" or host.endswith(".linkedin.com")):
            errors["linkedin"] = _(
                "Enter your LinkedIn profile's https://www.linkedin.com/… address."
            )
        elif len(linkedin) > 300:
            errors["linkedin"] = _("That address is too long.")
    if len(values["message"]) > 4000:
        errors["message"] = _("Keep the message under 4,000 characters.")
    if cv is not None:
        name, content = cv
        kind = cvs.cv_type(content)
        if len(content) > cvs.MAX_CV_BYTES:
            errors["cv"] = _("The CV is larger than 5 MB: send a lighter file.")
        elif kind is None:
            errors["cv"] = _("The CV must be a PDF or a Word document.")
        else:
            form.cv, form.cv_name, form.cv_type = content, name[-200:], kind
    if consent_needed and values["consent"] != "yes":
        errors["consent"] = _("Tick the box to agree, or we cannot keep your application.")
    return form


async def link_by_code(code: str) -> dict[str, Any] | None:
    if not code or len(code) > 16:
        return None
    return (
        await ShareLink.select(ShareLink.id, ShareLink.member, ShareLink.item)
        .where(ShareLink.code == code)
        .first()
    )


async def referrer_for(page_code: str, cookie_code: str | None) -> int | None:
    """Who brought the candidate: the last tracked link they followed (the cookie, refreshed
    on each landing), else the link of the page they apply from. :func:`apply` then checks
    that it is not the candidate themselves (:func:`credited_referrer`)."""
    for code in (cookie_code, page_code):
        link = await link_by_code(code or "")
        if link is not None:
            return int(link["member"])
    return None


def mailbox(email: str) -> str:
    """The mailbox an address reaches, to tell whether two addresses are one person's:
    trimmed, in lower case, without a ``+tag`` (``lea+jobs@example.com`` reaches
    ``lea@example.com``)."""
    local, at, domain = email.strip().lower().rpartition("@")
    if not at:
        return domain
    return f"{local.split('+', 1)[0] or local}@{domain}"


async def credited_referrer(referrer: int | None, email: str, signed_in: int | None) -> int | None:
    """The member an application or a recommendation is credited to: ``referrer``, unless
    the candidate is that member (signed in as them, or with their email address). A member's
    own applications and recommendations earn nothing: the candidate is still recorded, so
    HR sees them, but brought by nobody. Every path that credits a candidate asks here."""
    if referrer is None or referrer == signed_in:
        return None
    row = await Member.select(Member.email).where(Member.id == referrer).first()
    if row is None or mailbox(str(row["email"])) == mailbox(email):
        return None
    return referrer


async def apply(
    data_dir: Path,
    item_id: int,
    referrer: int | None,
    form: CandidateForm,
    *,
    signed_in: int | None = None,
) -> int:
    """Store a valid application and record it as activity, credited to ``referrer`` unless
    the candidate is them (``signed_in`` is the member signed in on this browser, if any).
    The CV is written first under a temporary name and named once the row commits
    (app.core.files): a failure or a crash leaves no row pointing at nothing and no file the
    sweep keeps. Raises StorageUnavailable."""
    assert not form.errors
    referrer = await credited_referrer(referrer, form.values["email"], signed_in)
    staged = cvs.staged_cvs(data_dir)
    key = await cvs.store_cv(staged, form.cv) if form.cv else None
    try:
        async with db.write_transaction():
            rows = await Candidate.insert(
                Candidate(
                    kind=CandidateKind.application.value,
                    item=item_id,
                    referrer=referrer,
                    name=form.values["name"],
                    email=form.values["email"].lower(),
                    phone=form.values["phone"],
                    linkedin=form.values["linkedin"],
                    message=form.values["message"],
                    cv=key,
                    cv_name=form.cv_name,
                    cv_type=form.cv_type,
                    consent_at=now(),
                )
            ).returning(Candidate.id)
            candidate_id = int(rows[0]["id"])
            await record_activity(
                ActivityKind.application,
                str(candidate_id),
                member=referrer,
                item=item_id,
                candidate=candidate_id,
            )
    except BaseException:
        staged.discard()
        raise
    await staged.publish()
    return candidate_id


def with_utm(url: str, code: str) -> str:
    """The offer's own apply URL with Relay's UTM parameters (never a URL from a request)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if not k.startswith("utm_")]
    query += [("utm_source", "relay"), ("utm_medium", "referral"), ("utm_campaign", code)]
    return urlunsplit(parts._replace(query=urlencode(query)))
