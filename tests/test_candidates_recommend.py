"""Recommending a friend: a single-use consent link the employee sends (or Relay emails over
real SMTP), pending until the friend answers with their own details."""

from __future__ import annotations

import re
from email.header import decode_header, make_header
from typing import Any

from litestar.testing import AsyncTestClient

from app.activity.tables import Activity
from app.candidates.tables import Candidate
from app.mail.service import deliver_due
from app.mail.tables import MailOutbox
from app.main import create_app
from tests.factories import make_item
from tests.helpers import (
    FRIEND,
    HTML,
    answer_recommendation,
    as_member,
    form_token,
    mail_settings,
    recommend,
    sign_in,
)

PAUL = {"name": "Paul Lefèvre", "email": "paul.lefevre@example.org", "consent": "yes"}


async def test_a_friend_accepts_the_editor_moves_them_and_the_referrer_sees_it(
    env: dict[str, str],
    smtp_server: Any,
) -> None:
    port, mailbox = smtp_server
    settings = mail_settings(env, port)
    async with AsyncTestClient(create_app(settings), base_url="http://localhost:8000") as client:
        item_id = await make_item("offer", "Data engineer")
        lea = await sign_in(client, "employee", name="Léa Martin")
        item_page = await client.get(f"/items/{item_id}", headers=HTML)
        assert f'href="/items/{item_id}/recommend"' in item_page.text
        sent = await recommend(client, item_id, FRIEND)
        assert sent.status_code == 200, sent.text
        assert "We have asked Paul Lefèvre" in sent.text
        assert await deliver_due(settings) == 1
        [mail] = mailbox.messages
        assert mail["To"] == "Paul.Lefevre@example.org"
        subject = str(make_header(decode_header(mail["Subject"]))).replace("\r\n", "")
        assert subject == "Léa Martin thinks you would be great for Data engineer"
        body = mail.get_payload(decode=True).decode()
        url = re.search(r"http://localhost:8000(/recommendations/\S+)", body).group(1)  # type: ignore[union-attr]
        row = await Candidate.select(Candidate.token_hash).first()
        assert row is not None and url.rsplit("/", 1)[1] not in str(row)  # only its hash is kept

        # Another employee recommends the same person: refused, without naming Léa.
        await sign_in(client, "employee", name="Hugo Bernard")
        again = await recommend(client, item_id, {**FRIEND, "email": "paul.lefevre@example.org"})
        assert again.status_code == 422
        assert "already been put forward for this offer" in again.text
        assert "Léa" not in again.text
        assert await Candidate.count() == 1

        # Until Paul agrees, HR sees only that a recommendation is pending.
        await sign_in(client, "editor")
        pipeline = await client.get(f"/pipeline/{item_id}", headers=HTML)
        assert "A recommendation is pending" in pipeline.text
        assert "Paul" not in pipeline.text and "billing" not in pipeline.text
        candidate_id = (await Candidate.select(Candidate.id).first())["id"]  # type: ignore[index]
        assert (await client.get(f"/pipeline/candidates/{candidate_id}/cv")).status_code == 404

        client.cookies.clear()
        question = await client.get(url, headers=HTML)
        assert question.status_code == 200 and "Léa Martin recommended you" in question.text
        assert 'value="paul.lefevre@example.org"' in question.text  # the address it went to
        assert await Activity.count().where(Activity.kind == "recommendation") == 0
        unticked = await answer_recommendation(client, url, {**PAUL, "consent": ""})
        assert unticked.status_code == 422 and "Tick the box to agree" in unticked.text
        accepted = await answer_recommendation(client, url, PAUL)
        assert accepted.status_code == 200 and "will contact you" in accepted.text
        reused = await client.get(url, headers=HTML)
        assert reused.status_code == 404 and "can no longer be used" in reused.text
        activity = await Activity.select().where(Activity.kind == "recommendation").first()
        assert activity is not None and activity["member"] == lea.id

        await sign_in(client, "editor")
        pipeline = await client.get(f"/pipeline/{item_id}", headers=HTML)
        assert "Paul Lefèvre" in pipeline.text and "Referred by Léa Martin" in pipeline.text
        assert (await client.get(f"/pipeline/candidates/{candidate_id}/cv")).status_code == 200
        moved = await client.post(
            f"/pipeline/candidates/{candidate_id}/stage",
            data={"_csrf_token": form_token(pipeline.text), "stage": "contacted"},
            headers={**HTML, "hx-request": "true"},
        )
        assert moved.status_code == 200

        await as_member(client, lea.id)
        mine = await client.get("/me/referrals", headers=HTML)
        assert "Paul Lefèvre · Data engineer" in mine.text and "Contacted" in mine.text


async def test_without_mail_the_employee_gets_a_single_use_link_for_their_friend(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    """A default install (no SMTP_URL): the form asks only the friend's name and why them,
    and answers with the link to send; the friend's own details come with their consent."""
    from app.points import ledger

    item_id = await make_item("offer", "Data engineer")
    lea = await sign_in(client, "employee", name="Léa Martin")
    page = await client.get(f"/items/{item_id}/recommend", headers=HTML)
    assert 'id="recommend-email"' not in page.text and "Your friend's name" in page.text
    unnamed = await recommend(client, item_id, {"name": "", "message": ""})
    assert unnamed.status_code == 422 and "Enter your friend" in unnamed.text
    assert 'aria-describedby="recommend-name-error"' in unnamed.text
    assert await Candidate.count() == 0

    # An address sent anyway is ignored: nobody could mail it.
    made = await recommend(client, item_id, FRIEND)
    assert made.status_code == 200, made.text
    assert "Send this link to Paul Lefèvre" in made.text
    assert made.headers["cache-control"] == "no-store"
    url = re.search(r'value="http://localhost:8000(/recommendations/[^"]+)"', made.text)
    assert url is not None
    path = url.group(1)
    assert "https://wa.me/?text=" in made.text and "sms:?&amp;body=" in made.text
    assert await MailOutbox.count() == 0
    row = await Candidate.select().first()
    assert row is not None and row["email"] == "" and row["consent_at"] is None
    assert row["referrer"] == lea.id and row["message"] == FRIEND["message"]

    # HR sees a pending recommendation, no name.
    await sign_in(client, "editor")
    pipeline = await client.get(f"/pipeline/{item_id}", headers=HTML)
    assert "A recommendation is pending" in pipeline.text and "Paul" not in pipeline.text

    # Paul opens it, in his own browser: his name is filled in, the rest is his to give.
    client.cookies.clear()
    question = await client.get(path, headers=HTML)
    assert question.status_code == 200 and "Léa Martin recommended you" in question.text
    assert 'value="Paul Lefèvre"' in question.text
    bad = await answer_recommendation(client, path, {**PAUL, "email": "paul"})
    assert bad.status_code == 422 and "Enter an email address such as" in bad.text
    assert 'aria-describedby="consent-email-error"' in bad.text
    accepted = await answer_recommendation(client, path, {**PAUL, "phone": "+33 6 12 34 56 78"})
    assert accepted.status_code == 200 and "will contact you" in accepted.text
    row = await Candidate.select().first()
    assert row is not None and row["email"] == "paul.lefevre@example.org"
    assert row["phone"] == "+33 6 12 34 56 78" and row["cv_type"] == "pdf"
    assert row["consent_at"] is not None and row["token_hash"] is None
    assert row["referrer"] == lea.id
    # The link dies with its use.
    again = await client.get(path, headers=HTML)
    assert again.status_code == 404 and "can no longer be used" in again.text
    [activity] = await Activity.select(Activity.member).where(Activity.kind == "recommendation")
    assert activity["member"] == lea.id
    assert await ledger.balance(lea.id) > 0  # the point rules for a recommendation

    # A second link for the same person: they are told they are already a candidate.
    await as_member(client, lea.id)
    second = await recommend(client, item_id, {"name": "Paul L.", "message": ""})
    path2 = re.search(r'value="http://localhost:8000(/recommendations/[^"]+)"', second.text)
    assert path2 is not None
    client.cookies.clear()
    twice = await answer_recommendation(client, path2.group(1), PAUL)
    assert twice.status_code == 422 and "already among this offer" in twice.text
    assert await Candidate.count().where(Candidate.consent_at.is_not_null()) == 1

    story = await make_item("story", "Our new office")
    await as_member(client, lea.id)
    assert (await client.get(f"/items/{story}/recommend", headers=HTML)).status_code == 404


async def test_an_expired_link_says_so(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    from datetime import timedelta

    from app.core.clock import now

    item_id = await make_item("offer", "Data engineer")
    await sign_in(client, "employee", name="Léa Martin")
    made = await recommend(client, item_id, {"name": "Paul Lefèvre", "message": ""})
    url = re.search(r'value="http://localhost:8000(/recommendations/[^"]+)"', made.text)
    assert url is not None
    await Candidate.update({Candidate.expires_at: now() - timedelta(minutes=1)}).where(
        Candidate.id > 0
    )
    client.cookies.clear()
    page = await client.get(url.group(1), headers=HTML)
    assert page.status_code == 404 and "This link has expired" in page.text
    unknown = await client.get("/recommendations/not-a-real-token", headers=HTML)
    assert unknown.status_code == 404 and "can no longer be used" in unknown.text


async def test_member_recommending_themselves_is_refused_next_to_the_email(
    env: dict[str, str],
) -> None:
    from app.accounts.tables import Member
    from app.points import ledger
    from tests.helpers import free_port

    settings = mail_settings(env, free_port())  # mail is only queued: nothing listens there
    async with AsyncTestClient(create_app(settings), base_url="http://localhost:8000") as client:
        item_id = await make_item("offer", "Data engineer")
        lea = await sign_in(client, "employee", name="Léa Martin", email="lea.martin@example.com")
        own = await recommend(client, item_id, {**FRIEND, "email": " Lea.Martin+cv@Example.com"})
        assert own.status_code == 422
        assert "This is your own email address" in own.text
        assert 'aria-describedby="recommend-email-error"' in own.text
        assert await Candidate.count() == 0 and await MailOutbox.count() == 0

        # Her private address is someone else's as far as Relay knows, until it becomes hers:
        # accepting then credits nobody, as her own application would.
        sent = await recommend(client, item_id, {**FRIEND, "email": "lea@example.net"})
        assert sent.status_code == 200, sent.text
        await Member.update({Member.email: "lea@example.net"}).where(Member.id == lea.id)
        mail = await MailOutbox.select(MailOutbox.text).first()
        assert mail is not None
        url = re.search(r"http://localhost:8000(/recommendations/\S+)", mail["text"])
        assert url is not None
        client.cookies.clear()
        accepted = await answer_recommendation(
            client, url.group(1), {**PAUL, "email": "lea@example.net"}
        )
        assert accepted.status_code == 200 and "will contact you" in accepted.text
        row = await Candidate.select(Candidate.referrer, Candidate.consent_at).first()
        assert row is not None and row["referrer"] is None and row["consent_at"] is not None
        activity = await Activity.select(Activity.member).where(Activity.kind == "recommendation")
        assert activity == [{"member": None}]
        assert await ledger.balance(lea.id) == 0
