"""Recommending a friend for an offer, and the friend's consent (plain functions, no HTTP).

The friend's details are stored at once, with the email asking for consent queued in the same
transaction (:mod:`app.mail.service` sends it), but HR sees only that a recommendation is pending
until the friend follows the emailed link and agrees to be contacted. The link's token is
single-use and stored hashed; without consent by ``expires_at`` the purge deletes it all.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from app.accounts.tables import Member
from app.activity.service import record_activity
from app.activity.tables import ActivityKind
from app.candidates import cvs
from app.candidates.applications import CandidateForm, credited_referrer, mailbox, policy
from app.candidates.tables import Candidate, CandidateKind
from app.core import db
from app.core.clock import now
from app.core.i18n import _
from app.core.settings import Settings
from app.mail import service as mail


class AlreadyRecommended(Exception):
    """This person is already in the offer's pipeline (whoever brought them)."""


class OwnRecommendation(Exception):
    """A member recommending themselves (their own email address): it would earn them
    points for their own application."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def recommend(
    settings: Settings, item: dict[str, Any], referrer: Member, org_name: str, form: CandidateForm
) -> int:
    """Store a recommendation awaiting consent and queue the email that asks the friend, in
    one transaction; returns the candidate's id."""
    assert not form.errors
    if mailbox(form.values["email"]) == mailbox(referrer.email):
        raise OwnRecommendation()
    if not settings.smtp_url:
        raise mail.MailNotConfigured()
    item_id = int(item["id"])
    email = form.values["email"].lower()
    token = secrets.token_urlsafe(32)
    days = int((await policy())["consent_days"])
    staged = cvs.staged_cvs(settings.data_dir)
    key = await cvs.store_cv(staged, form.cv) if form.cv else None
    try:
        async with db.write_transaction():
            if await Candidate.exists().where(Candidate.item == item_id, Candidate.email == email):
                raise AlreadyRecommended()
            rows = (
                await Candidate.insert(
                    Candidate(
                        kind=CandidateKind.recommendation.value,
                        item=item_id,
                        referrer=referrer,
                        name=form.values["name"],
                        email=email,
                        phone=form.values["phone"],
                        linkedin=form.values["linkedin"],
                        message=form.values["message"],
                        cv=key,
                        cv_name=form.cv_name,
                        cv_type=form.cv_type,
                        dedupe=f"{item_id}:{email}"[:300],
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
            subject, text = consent_mail(
                form.values["name"],
                referrer.name,
                org_name,
                str(item["title"]),
                f"{settings.public_url}/recommendations/{token}",
                days,
            )
            await mail.enqueue(
                settings, form.values["email"], subject, text, about=f"candidate:{candidate_id}"
            )
    except BaseException:
        staged.discard()
        raise
    await staged.publish()
    mail.kick()
    return candidate_id


async def pending(token: str) -> dict[str, Any] | None:
    """The recommendation behind an emailed link, while it awaits consent and is in time."""
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


async def accept(token: str) -> dict[str, Any] | None:
    """The friend agrees to be contacted: once (the token is then forgotten). Credited to
    the member who recommended them, unless the friend turns out to be that member (their
    address changed since, say): then recorded, but brought by nobody."""
    async with db.write_transaction():
        row = await pending(token)
        if row is None:
            return None
        referrer = await credited_referrer(row["referrer"], str(row["email"]), None)
        at = now()
        await Candidate.update(
            {
                Candidate.consent_at: at,
                Candidate.token_hash: None,
                Candidate.expires_at: None,
                Candidate.referrer: referrer,
                Candidate.updated_at: at,
            }
        ).where(Candidate.id == row["id"])
        await record_activity(
            ActivityKind.recommendation,
            str(row["id"]),
            member=referrer,
            item=row["item"],
            at=at,
            candidate=row["id"],
        )
    return row


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
