"""Outgoing mail through the configured SMTP server (SMTP_URL), sent with aiosmtplib."""

from __future__ import annotations

from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

from app.settings import Settings


class MailNotConfigured(Exception):
    pass


async def send_mail(settings: Settings, to: str, subject: str, text: str) -> None:
    if not settings.smtp_url:
        raise MailNotConfigured()
    url = urlsplit(settings.smtp_url)
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    implicit_tls = url.scheme == "smtps"
    await aiosmtplib.send(
        message,
        hostname=url.hostname or "localhost",
        port=url.port or (465 if implicit_tls else 587),
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        use_tls=implicit_tls,
        start_tls=None if not implicit_tls else False,
        timeout=20,
    )
