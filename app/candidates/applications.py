"""Applying to an offer, and the admin's candidate policy (plain functions, no HTTP)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from app.accounts.tables import Member
from app.activity.service import record_activity
from app.activity.tables import ActivityKind
from app.candidates import cvs, duplicates
from app.candidates.tables import Candidate, CandidateKind, CandidatePolicy
from app.content.editing import OfferPublishing
from app.core import db
from app.core.cache import TTLMap
from app.core.clock import now
from app.core.forms import FormResult
from app.core.i18n import _
from app.core.validation import name_problem
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


NOTICE_FIELDS = {"en": "privacy_notice", "fr": "privacy_notice_fr"}


def privacy_notice(rules: Mapping[str, Any], language: str) -> tuple[str, str]:
    """The privacy notice in ``language``, else in the other language, with the language it
    is written in; ("", language) when the admin has written none."""
    for lang in (language, *(other for other in NOTICE_FIELDS if other != language)):
        text = str(rules.get(NOTICE_FIELDS.get(lang, "")) or "").strip()
        if text:
            return text, lang
    return "", language


async def refuse_offers_without_notice(event: OfferPublishing) -> None:
    """An offer asks candidates to consent to the privacy notice: none, no offer."""
    if not privacy_notice(await policy(fresh=True), "en")[0]:
        event.refusals.append(
            _(
                "Candidates consent to the privacy notice when they apply, and it is empty: "
                "an admin writes it under Administration, Candidates, before an offer is published."
            )
        )


CAREERS_FIELDS = {"en": "careers_url", "fr": "careers_url_fr"}


def careers_url(rules: Mapping[str, Any], language: str) -> str:
    """The careers site for readers of ``language``, else the other language's, else ""."""
    for lang in (language, *(other for other in CAREERS_FIELDS if other != language)):
        url = str(rules.get(CAREERS_FIELDS.get(lang, "")) or "").strip()
        if url:
            return url
    return ""


POLICY_DAYS = {
    "referral_cookie_days": (1, 365),
    "consent_days": (1, 90),
    "retention_days": (30, 1095),
}


def check_policy(data: Mapping[str, Any] | None) -> FormResult:
    """The admin's candidate policy form: the privacy notice and the days each rule keeps."""
    form = FormResult.of(data)
    for name in NOTICE_FIELDS.values():
        form.text(name, max_length=20_000, too_long=_("Keep the notice under 20,000 characters."))
    for name in CAREERS_FIELDS.values():
        form.url(
            name,
            message=_("Enter the careers site's address, starting with https://."),
            max_length=500,
            too_long=_("That address is too long."),
        )
    for name, (low, high) in POLICY_DAYS.items():
        form.integer(
            name,
            low=low,
            high=high,
            max_digits=5,
            message=_("Enter a number of days from %(low)s to %(high)s.")
            % {"low": low, "high": high},
        )
    return form


async def save_policy(values: dict[Any, Any]) -> None:
    current = await policy(fresh=True)
    await CandidatePolicy.update({**values, CandidatePolicy.updated_at: now()}).where(
        CandidatePolicy.id == current["id"]
    )
    _kept_policy.clear()
    public_pages_changed()  # the apply form shows the privacy notice


@dataclass(frozen=True)
class CV:
    """A candidate's CV as sent: its bytes, its file name (shortened) and its kind."""

    content: bytes
    name: str
    kind: str


def check_candidate(
    data: dict[str, Any], cv: tuple[str, bytes] | None, *, consent_needed: bool
) -> FormResult:
    """Validate the fields shared by applications and recommendations; ``values["cv"]`` is
    the `CV` sent, if any."""
    form = FormResult.of(data)
    name = form.text(
        "name",
        max_length=120,
        required=_("Enter a name."),
        too_long=_("Keep the name under 120 characters."),
    )
    if problem := name_problem(name):
        form.fail("name", problem)
    form.email(
        "email",
        required=_("Enter an email address."),
        message=_("Enter an email address such as name@example.com."),
    )
    phone_problem = _("Enter a phone number with digits, spaces and + only.")
    phone = form.text("phone", max_length=40, too_long=phone_problem)
    if not all(c.isdigit() or c in " +-.()" for c in phone):
        form.fail("phone", phone_problem)
    form.url(
        "linkedin",
        hosts=("linkedin.com",),
        message=_("Enter your LinkedIn profile's https://www.linkedin.com/… address."),
        max_length=300,
        too_long=_("That address is too long."),
    )
    form.text("message", max_length=4000, too_long=_("Keep the message under 4,000 characters."))
    form.values["cv"] = None
    if cv is not None:
        file_name, content = cv
        kind = cvs.cv_type(content)
        if len(content) > cvs.MAX_CV_BYTES:
            form.fail("cv", _("The CV is larger than 5 MB: send a lighter file."))
        elif kind is None:
            form.fail("cv", _("The CV must be a PDF or a Word document."))
        else:
            form.values["cv"] = CV(content, file_name[-200:], kind)
    form.checkbox(
        "consent",
        on="yes",
        message=_("Tick the box to agree, or we cannot keep your application.")
        if consent_needed
        else None,
    )
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
    form: FormResult,
    *,
    signed_in: int | None = None,
) -> int:
    """Store a valid application and record it as activity, credited to ``referrer`` unless
    the candidate is them (``signed_in`` is the member signed in on this browser, if any).
    The CV is written first under a temporary name and named once the row commits
    (app.core.files): a failure or a crash leaves no row pointing at nothing and no file the
    sweep keeps. Raises StorageUnavailable."""
    assert form.ok
    referrer = await credited_referrer(referrer, form.values["email"], signed_in)
    staged = cvs.staged_cvs(data_dir)
    cv: CV | None = form.values.get("cv")
    key = await cvs.store_cv(staged, cv.content) if cv else None
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
                    cv_name=cv.name if cv else "",
                    cv_type=cv.kind if cv else "",
                    consent_at=now(),
                )
            ).returning(Candidate.id)
            candidate_id = int(rows[0]["id"])
            await duplicates.mark(candidate_id)  # before its activity: a duplicate earns nothing
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
