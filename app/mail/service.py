"""Mail through an outbox: a row first, in the transaction of what it is about, then sending.

:func:`enqueue` writes the row; :func:`deliver_due` is the one place that sends. It claims
due rows with a lease (:func:`app.core.outbox.claim`: concurrent senders take different rows,
and one that dies mid-batch leaves its rows to be claimed again when the lease ends), sends
them over one SMTP connection, then records each result: sent (the body cleared), or a retry
later with backoff, or given up after :data:`MAX_ATTEMPTS` attempts or a permanent refusal.

Every worker process runs :func:`deliver_due` with its periodic jobs
(:mod:`app.notifications.jobs`); the embedded app also runs it as soon as it queued mail
(:class:`EmbeddedMailSender`, woken by :func:`kick`), so a mail leaves within a second.
Without ``SMTP_URL`` nothing is queued: :func:`enqueue` refuses.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

from app.core.clock import now as clock_now
from app.core.db import write_transaction
from app.core.outbox import Doorbell, claim, new_worker_name, retry_delay
from app.core.settings import Settings
from app.core.tasks import BackgroundTask
from app.mail.tables import MailOutbox, MailState

log = logging.getLogger("relay.mail")

# Retries wait 30 s, 1 min, 2 min… up to an hour (retry_delay): about three hours before
# giving up.
MAX_ATTEMPTS = 10
LEASE = timedelta(minutes=10)
BATCH_SIZE = 20
SMTP_TIMEOUT_S = 20
# Sent and given-up rows are deleted after this: they only tell pages how a mail went.
KEEP_FINISHED = timedelta(days=30)


class MailNotConfigured(Exception):
    """No SMTP_URL: Relay sends no mail (admins hand links over instead)."""


async def enqueue(settings: Settings, to: str, subject: str, text: str, about: str = "") -> None:
    """Queue a mail. Call it inside the transaction that writes what the mail is about, and
    :func:`kick` once that transaction has committed."""
    if not settings.smtp_url:
        raise MailNotConfigured()
    await MailOutbox.insert(
        MailOutbox(
            recipient=to, subject=subject, text=text, about=about[:60], next_attempt_at=clock_now()
        )
    )


# Rung when this process has queued mail: wakes its embedded sender, if any.
QUEUED = Doorbell()


def kick() -> None:
    """Mail was queued and committed: the embedded sender, if any, sends it now."""
    QUEUED.ring()


async def states(abouts: Sequence[str]) -> dict[str, str]:
    """How the latest mail about each thing went: pending, sent or failed."""
    if not abouts:
        return {}
    rows = (
        await MailOutbox.select(MailOutbox.about, MailOutbox.state)
        .where(MailOutbox.about.is_in(list(abouts)))
        .order_by(MailOutbox.id)
    )
    return {row["about"]: row["state"] for row in rows}


async def forget(abouts: Sequence[str]) -> None:
    """Delete every mail about these things (a candidate's data deleted, say)."""
    if abouts:
        await MailOutbox.delete().where(MailOutbox.about.is_in(list(abouts)))


async def cancel(abouts: Sequence[str]) -> None:
    """Send nothing more about these things (a link revoked before its mail went out)."""
    if abouts:
        await MailOutbox.delete().where(
            MailOutbox.about.is_in(list(abouts)), MailOutbox.state == MailState.pending.value
        )


@dataclass(frozen=True)
class ClaimedMail:
    id: int
    recipient: str
    subject: str
    text: str
    attempts: int


@dataclass(frozen=True)
class Outcome:
    mail: ClaimedMail
    error: str = ""
    permanent: bool = False  # the server refused for good (a 5xx answer): no retry


async def claim_due(sender: str, at: datetime, limit: int = BATCH_SIZE) -> list[ClaimedMail]:
    """Take up to ``limit`` mails due at ``at`` for ``sender``, until its lease ends."""
    due = (
        MailOutbox.select(MailOutbox.id)
        .where(MailOutbox.state == MailState.pending.value, MailOutbox.next_attempt_at <= at)
        .order_by(MailOutbox.next_attempt_at)
        .limit(limit)
    )
    ids = await claim(due, {MailOutbox.claimed_by: sender, MailOutbox.next_attempt_at: at + LEASE})
    if not ids:
        return []
    rows = await MailOutbox.select(
        MailOutbox.id,
        MailOutbox.recipient,
        MailOutbox.subject,
        MailOutbox.text,
        MailOutbox.attempts,
    ).where(MailOutbox.id.is_in(ids))
    return [ClaimedMail(**row) for row in rows]


def _message(settings: Settings, mail: ClaimedMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message.set_content(mail.text)
    return message


async def send_batch(settings: Settings, batch: Sequence[ClaimedMail]) -> list[Outcome]:
    """Send over one SMTP connection; every mail gets an outcome, whatever goes wrong."""
    assert settings.smtp_url
    url = urlsplit(settings.smtp_url)
    implicit_tls = url.scheme == "smtps"
    smtp = aiosmtplib.SMTP(
        hostname=url.hostname or "localhost",
        port=url.port or (465 if implicit_tls else 587),
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        use_tls=implicit_tls,
        start_tls=None if not implicit_tls else False,
        timeout=SMTP_TIMEOUT_S,
    )
    try:
        await smtp.connect()
    except (OSError, aiosmtplib.SMTPException) as exc:
        return [Outcome(mail, _describe(exc)) for mail in batch]
    outcomes = []
    try:
        for mail in batch:
            try:
                await smtp.send_message(_message(settings, mail))
            except aiosmtplib.SMTPResponseException as exc:
                outcomes.append(Outcome(mail, _describe(exc), permanent=exc.code >= 500))
            except aiosmtplib.SMTPRecipientsRefused as exc:
                permanent = all(e.code >= 500 for e in exc.recipients)
                outcomes.append(Outcome(mail, _describe(exc), permanent=permanent))
            except (OSError, aiosmtplib.SMTPException) as exc:
                outcomes.append(Outcome(mail, _describe(exc)))
            except Exception as exc:
                # Whatever went wrong with this one mail, it is recorded as an attempt: left
                # claimed, it would be tried again after every lease, forever.
                log.exception("Sending mail %s failed", mail.id)
                outcomes.append(Outcome(mail, _describe(exc)))
            else:
                outcomes.append(Outcome(mail))
    finally:
        with contextlib.suppress(OSError, aiosmtplib.SMTPException):
            await smtp.quit()
    return outcomes


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


async def record(sender: str, outcomes: Sequence[Outcome], at: datetime) -> None:
    """Write what happened, in one transaction; rows another sender took over are left to it."""
    ours = MailOutbox.claimed_by == sender
    async with write_transaction():
        sent = [o.mail.id for o in outcomes if not o.error]
        if sent:
            await MailOutbox.update(
                {
                    MailOutbox.state: MailState.sent.value,
                    MailOutbox.sent_at: at,
                    MailOutbox.attempts: MailOutbox.attempts + 1,
                    MailOutbox.text: "",
                    MailOutbox.error: "",
                }
            ).where(MailOutbox.id.is_in(sent), ours)
        for outcome in outcomes:
            if not outcome.error:
                continue
            attempts = outcome.mail.attempts + 1
            give_up = outcome.permanent or attempts >= MAX_ATTEMPTS
            if give_up:
                log.warning("Mail %s given up: %s", outcome.mail.id, outcome.error)
            await MailOutbox.update(
                {
                    MailOutbox.state: (MailState.failed if give_up else MailState.pending).value,
                    MailOutbox.attempts: attempts,
                    MailOutbox.error: outcome.error,
                    MailOutbox.next_attempt_at: at
                    + (timedelta(0) if give_up else retry_delay(attempts)),
                    **({MailOutbox.text: ""} if give_up else {}),
                }
            ).where(MailOutbox.id == outcome.mail.id, ours)


async def deliver_due(settings: Settings, at: datetime | None = None, sender: str = "") -> int:
    """Send every mail due at ``at`` (now by default); returns how many were attempted."""
    if not settings.smtp_url:
        return 0
    at = at or clock_now()
    sender = sender or new_worker_name()
    attempted = 0
    while batch := await claim_due(sender, at):
        outcomes = await send_batch(settings, batch)
        await record(sender, outcomes, at)
        attempted += len(batch)
        if all(outcome.error for outcome in outcomes):
            break  # the server is down or refusing: the rest waits for the next round
    await MailOutbox.delete().where(
        MailOutbox.state != MailState.pending.value, MailOutbox.created_at < at - KEEP_FINISHED
    )
    return attempted


class EmbeddedMailSender(BackgroundTask):
    """The embedded app's sender: runs :func:`deliver_due` whenever this process queued mail
    (:func:`kick`). The periodic jobs run it too, for retries and anything missed."""

    description = "mail sender"
    log = log
    interval_s = None  # only when this process queued mail
    wait_first = True
    doorbell = QUEUED
    # Let a round in progress record what it sent (else those mails would go twice).
    stop_timeout_s = 2 * SMTP_TIMEOUT_S

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    async def round(self) -> None:
        await deliver_due(self.settings)
