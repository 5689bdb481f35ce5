"""The mail outbox against a real SMTP server: retries while it is down, never a mail twice."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

from aiosmtpd.controller import Controller
from litestar.testing import AsyncTestClient

from app.core.db import write_transaction
from app.mail.service import LEASE, deliver_due, enqueue, retry_delay
from app.mail.tables import MailOutbox
from app.main import create_app
from tests.factories import make_item
from tests.helpers import (
    FRIEND,
    HTML,
    JSON,
    Mailbox,
    csrf,
    free_port,
    mail_settings,
    recommend,
    sign_in,
)


async def test_a_consent_email_waits_for_the_smtp_server_and_goes_out_on_a_retry(
    env: dict[str, str],
) -> None:
    port = free_port()
    settings = mail_settings(env, port)
    async with AsyncTestClient(create_app(settings), base_url="http://localhost:8000") as client:
        item_id = await make_item("offer", "Data engineer")
        await sign_in(client, "employee", name="Léa Martin")
        sent = await recommend(client, item_id, FRIEND)
        # The recommendation and its email are rows: the employee is told it is on its way.
        assert sent.status_code == 200 and "We have asked Paul Lefèvre" in sent.text

    # The SMTP server is down: the attempt fails and a retry is planned.
    first_try = (await MailOutbox.select(MailOutbox.next_attempt_at).first())["next_attempt_at"]  # type: ignore[index]
    assert await deliver_due(settings, first_try) == 1
    [row] = await MailOutbox.select()
    assert row["state"] == "pending" and row["attempts"] == 1 and row["error"]
    assert row["next_attempt_at"] == first_try + retry_delay(1)

    # It comes back up: nothing goes before the retry is due, then the mail does, once.
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert await deliver_due(settings, first_try + timedelta(seconds=5)) == 0
        assert await deliver_due(settings, row["next_attempt_at"]) == 1
        assert await deliver_due(settings, row["next_attempt_at"] + timedelta(hours=1)) == 0
    finally:
        controller.stop()
    [mail] = mailbox.messages
    assert mail["To"] == FRIEND["email"]
    assert "/recommendations/" in mail.get_payload(decode=True).decode()
    [row] = await MailOutbox.select()
    assert row["state"] == "sent" and row["attempts"] == 2 and row["error"] == ""
    assert row["text"] == ""  # it held the friend's single-use link
    # A month on, the row itself goes: it only told how the mail went.
    assert await deliver_due(settings, row["created_at"] + timedelta(days=31)) == 0
    assert await MailOutbox.count() == 0


async def test_two_senders_at_once_never_send_one_mail_twice(
    env: dict[str, str],
    database: str,
    smtp_server: Any,
) -> None:
    """On PostgreSQL the two claim concurrently (FOR UPDATE SKIP LOCKED); on SQLite in turn."""
    port, mailbox = smtp_server
    settings = mail_settings(env, port)
    count = 90
    async with write_transaction():
        for n in range(count):
            await enqueue(settings, f"person{n}@example.org", f"Mail {n}", f"Hello {n}")
    done = await asyncio.gather(
        deliver_due(settings, sender="sender-a"), deliver_due(settings, sender="sender-b")
    )
    assert sum(done) == count
    recipients = [m["To"] for m in mailbox.wait(count)]
    assert sorted(recipients) == sorted(f"person{n}@example.org" for n in range(count))
    rows = await MailOutbox.select(MailOutbox.state, MailOutbox.claimed_by)
    assert {r["state"] for r in rows} == {"sent"}
    assert {r["claimed_by"] for r in rows} <= {"sender-a", "sender-b"}


async def test_a_sender_that_died_leaves_its_mail_to_another_once_its_lease_ends(
    env: dict[str, str],
    smtp_server: Any,
) -> None:
    from app.core.clock import now
    from app.mail.service import claim_due

    port, mailbox = smtp_server
    settings = mail_settings(env, port)
    async with write_transaction():
        await enqueue(settings, "paul@example.org", "Hello", "Hello Paul")
    moment = now()
    assert len(await claim_due("sender-that-dies", moment)) == 1
    assert await deliver_due(settings, moment, sender="sender-b") == 0
    assert await deliver_due(settings, moment + LEASE, sender="sender-b") == 1
    assert [m["To"] for m in mailbox.messages] == ["paul@example.org"]


async def test_a_link_replaced_before_its_email_went_out_is_not_emailed(
    env: dict[str, str],
    smtp_server: Any,
) -> None:
    from app.accounts.tables import Member

    port, mailbox = smtp_server
    settings = mail_settings(env, port)
    async with AsyncTestClient(create_app(settings), base_url="http://localhost:8000") as client:
        await sign_in(client, "admin")
        headers = {**(await csrf(client, "/signin", accept=JSON)), **HTML}
        first = await client.post(
            "/admin/people",
            data={"email": "tom@example.com", "name": "Tom", "role": "employee", "language": "en"},
            headers=headers,
        )
        assert first.status_code == 200
        member = await Member.select(Member.id).where(Member.email == "tom@example.com").first()
        assert member is not None
        again = await client.post(f"/admin/people/{member['id']}/link", headers=headers)
        assert again.status_code == 200 and "It is on its way to them by email." in again.text
        new_link = re.search(r'value="(http://localhost:8000/enrol/[^"]+)"', again.text)
        assert new_link
    assert await deliver_due(settings) == 1
    [mail] = mailbox.messages
    assert new_link.group(1) in mail.get_payload(decode=True).decode()
