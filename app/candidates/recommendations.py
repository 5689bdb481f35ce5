"""Recommending a friend for an offer, and the friend's consent (plain functions, no HTTP).

The employee gives the friend's name (and, when Relay can send mail, their address if they
want Relay to write to them). Relay stores a recommendation awaiting consent behind a
single-use link: the employee sends it themselves through the phone's share sheet, or Relay
emails it (queued in the same transaction, :mod:`app.mail.service` sends it). HR sees only
that a recommendation is pending until the friend opens the link, fills in their own details
and agrees to be contacted. The link's token is stored hashed and forgotten once used;
without consent by ``expires_at`` the purge deletes it all.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from app.accounts.tables import Member
from app.activity.service import record_activity
from app.activity.tables import ActivityKind
from app.candidates import cvs, duplicates
from app.candidates.applications import CV, credited_referrer, mailbox, policy
from app.candidates.tables import Candidate, CandidateKind
from app.core import db
from app.core.clock import now
from app.core.forms import FormResult
from app.core.i18n import _
from app.core.settings import Settings
from app.core.validation import name_problem
from app.mail import service as mail


class AlreadyRecommended(Exception):
    """This person is already in the offer's pipeline (whoever brought them)."""


class OwnRecommendation(Exception):
    """A member recommending themselves (their own email address): it would earn them
    points for their own application."""


@dataclass(frozen=True)
class Recommended:
    """A stored recommendation: the consent link for the employee to send themselves, or
    None when Relay emails it to the friend."""

    candidate_id: int
    name: str
    link: str | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def consent_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/recommendations/{token}"


def check_recommendation(data: dict[str, Any] | None, *, can_email: bool) -> FormResult:
    """The employee's form: the friend's name, why them, and their address only when Relay
    can email the link (otherwise the field is not offered and anything sent is ignored)."""
    form = FormResult.of(data)
    name = form.text(
        "name",
        max_length=120,
        required=_("Enter your friend's name."),
        too_long=_("Keep the name under 120 characters."),
    )
    if problem := name_problem(name):
        form.fail("name", problem)
    form.text("message", max_length=4000, too_long=_("Keep the message under 4,000 characters."))
    if can_email:
        form.email("email", message=_("Enter an email address such as name@example.com."))
    else:
        form.values["email"] = ""
    return form


async def recommend(
    settings: Settings, item: dict[str, Any], referrer: Member, org_name: str, form: FormResult
) -> Recommended:
    """Store a recommendation awaiting consent behind a new single-use link; when the form
    has the friend's address (SMTP is set), queue the email that sends them the link, in
    the same transaction."""
    assert form.ok
    email = str(form.values.get("email") or "").strip().lower()
    if email and mailbox(email) == mailbox(referrer.email):
        raise OwnRecommendation()
    if email and not settings.smtp_url:
        raise mail.MailNotConfigured()
    item_id = int(item["id"])
    token = secrets.token_urlsafe(32)
    days = int((await policy())["consent_days"])
    url = consent_url(settings, token)
    async with db.write_transaction():
        if email and await Candidate.exists().where(
            Candidate.item == item_id, Candidate.email == email
        ):
            raise AlreadyRecommended()
        rows = (
            await Candidate.insert(
                Candidate(
                    kind=CandidateKind.recommendation.value,
                    item=item_id,
                    referrer=referrer,
                    name=form.values["name"],
                    email=email,
                    message=form.values["message"],
                    # Known at once when Relay writes to them, else once they answer.
                    dedupe=f"{item_id}:{email}"[:300] if email else None,
                    token_hash=token_hash(token),
                    expires_at=now() + timedelta(days=days),
                )
            )
            .on_conflict(target=Candidate.dedupe, action="DO NOTHING")
            .returning(Candidate.id)
        )
        if not rows:
            raise AlreadyRecommended()
        candidate_id = int(rows[0]["id"])
        if email:
            subject, text = consent_mail(
                form.values["name"], referrer.name, org_name, str(item["title"]), url, days
            )
            to = str(form.values["email"]).strip()  # as typed: "Paul.Lefevre@…" reaches Paul
            await mail.enqueue(settings, to, subject, text, about=f"candidate:{candidate_id}")
    if email:
        mail.kick()
    return Recommended(candidate_id, form.values["name"], None if email else url)


async def pending(token: str) -> dict[str, Any] | None:
    """The recommendation behind a consent link, while it awaits consent and is in time."""
    if not token or len(token) > 100:
        return None
    return (
        await Candidate.select(
            Candidate.id,
            Candidate.name,
            Candidate.email,
            Candidate.item,
            Candidate.referrer,
            Candidate.referrer.name.as_alias("referrer_name"),
            Candidate.item.title.as_alias("offer_title"),
        )
        .where(
            Candidate.token_hash == token_hash(token),
            Candidate.consent_at.is_null(),
            Candidate.expires_at > now(),
        )
        .first()
    )


async def expired(token: str) -> bool:
    """Whether a link was real but is past its time (a used link is forgotten: it is not)."""
    if not token or len(token) > 100:
        return False
    return await Candidate.exists().where(
        Candidate.token_hash == token_hash(token),
        Candidate.consent_at.is_null(),
        Candidate.expires_at <= now(),
    )


async def accept(settings: Settings, token: str, form: FormResult) -> dict[str, Any] | None:
    """The friend gives their own details and agrees to be contacted: once (the token is then
    forgotten). Credited to the member who recommended them, unless the friend turns out to
    be that member: then recorded, but brought by nobody. None when the link is no longer
    valid; raises AlreadyRecommended when the friend is already among the offer's candidates,
    and StorageUnavailable when their CV cannot be stored."""
    assert form.ok
    email = str(form.values["email"]).strip().lower()
    staged = cvs.staged_cvs(settings.data_dir)
    cv: CV | None = form.values.get("cv")
    key = await cvs.store_cv(staged, cv.content) if cv else None
    try:
        async with db.write_transaction():
            row = await pending(token)
            if row is None:
                staged.discard()
                return None
            if await Candidate.exists().where(
                Candidate.item == row["item"],
                Candidate.email == email,
                Candidate.id != row["id"],
            ):
                raise AlreadyRecommended()
            referrer = await credited_referrer(row["referrer"], email, None)
            at = now()
            await Candidate.update(
                {
                    Candidate.name: form.values["name"],
                    Candidate.email: email,
                    Candidate.phone: form.values["phone"],
                    Candidate.linkedin: form.values["linkedin"],
                    Candidate.cv: key,
                    Candidate.cv_name: cv.name if cv else "",
                    Candidate.cv_type: cv.kind if cv else "",
                    Candidate.dedupe: f"{row['item']}:{email}"[:300],
                    Candidate.consent_at: at,
                    Candidate.token_hash: None,
                    Candidate.expires_at: None,
                    Candidate.referrer: referrer,
                    Candidate.updated_at: at,
                }
            ).where(Candidate.id == row["id"])
            await duplicates.mark(row["id"])  # before its activity: a duplicate earns nothing
            await record_activity(
                ActivityKind.recommendation,
                str(row["id"]),
                member=referrer,
                item=row["item"],
                at=at,
                candidate=row["id"],
            )
    except BaseException:
        staged.discard()
        raise
    await staged.publish()
    return row


def consent_message(friend: str, org_name: str, offer: str) -> str:
    """What the employee sends their friend with the link (the share sheet's text)."""
    return _(
        "Hello %(name)s, I think you would be great for this job at %(org)s: %(offer)s. "
        "If you are interested, leave your details here (the link works once):"
    ) % {"name": friend, "org": org_name, "offer": offer}


def consent_mail(
    friend: str, referrer: str, org_name: str, offer: str, url: str, days: int
) -> tuple[str, str]:
    """The email asking the friend for consent: (subject, plain text)."""
    subject = _("%(name)s thinks you would be great for %(offer)s") % {
        "name": referrer,
        "offer": offer,
    }
    lines = [
        _("Hello %(name)s,") % {"name": friend},
        _("%(referrer)s, who works at %(org)s, thinks you would be great for this job: %(offer)s.")
        % {"referrer": referrer, "org": org_name, "offer": offer},
        _("Do you agree that %(org)s contacts you about it? Answer here:") % {"org": org_name},
        url,
        _(
            "If you do not answer within %(days)s days, your details are deleted. "
            "Nothing is shared with anyone until you say yes."
        )
        % {"days": days},
    ]
    return subject, "\n\n".join(lines) + "\n"
