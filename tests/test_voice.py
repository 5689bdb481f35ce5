"""The employees' own voice: stories they propose, questions to the team, review sites."""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from app.activity.tables import Activity
from app.content.tables import ContentItem
from app.notifications.nudges import send_due_nudges
from app.notifications.tables import Nudge
from app.points.rules import rules
from app.points.tables import PointsLine
from app.voice import programme, questions, stories
from app.voice.tables import Proposal, Question, ReviewSite
from push.tables import PushDelivery
from tests.factories import (
    jpeg_bytes,
    make_item,
    make_member,
    make_team,
    subscribe,
    video_bytes,
)
from tests.helpers import HTML, as_member, csrf, sign_in
from tests.push_sink import fcm_browser

NO_FILE = ("", b"", "application/octet-stream")


async def propose(
    client: AsyncTestClient,  # type: ignore[type-arg]
    fields: dict[str, str],
    photos: list[tuple[str, bytes, str]] | None = None,
) -> Any:
    headers = await csrf(client, "/voice/stories/new")
    files: list[tuple[str, tuple[str, bytes, str]]] = [("photos", p) for p in photos or [NO_FILE]]
    files.append(("video", NO_FILE))
    return await client.post(
        "/voice/stories/new", data=fields, files=files, headers=headers, follow_redirects=False
    )


def proposal_id_of(response: Any) -> int:
    match = re.search(r"/voice/stories/(\d+)", response.headers.get("location", ""))
    assert match, response.text[:500]
    return int(match.group(1))


async def post_form(
    client: AsyncTestClient,  # type: ignore[type-arg]
    page: str,
    url: str,
    data: dict[str, str] | None = None,
) -> Any:
    headers = await csrf(client, page)
    return await client.post(url, data=data or {}, headers=headers, follow_redirects=False)


# --- Stories ---------------------------------------------------------------------------------


async def test_a_story_approved_unchanged_is_published_with_its_authors_byline_and_points(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    team = await make_team("Data team")
    author = await sign_in(client, name="Léa Martin", team=team)
    response = await propose(
        client,
        {"title": "My first month", "body": "We shipped **a lot**.", "public_credit": "on"},
        [("me.jpg", jpeg_bytes(), "image/jpeg"), ("team.png", jpeg_bytes(), "image/jpeg")],
    )
    assert response.status_code == 303
    proposal_id = proposal_id_of(response)
    row = await Proposal.select().where(Proposal.id == proposal_id).first()
    assert row["state"] == "submitted" and len(row["photos"].split()) == 2
    # A submission alone earns nothing: its rule is off by default (the admin may turn it on).
    assert not await PointsLine.exists().where(PointsLine.member == author.id)
    assert not (await rules())["story_proposed"].enabled

    editor = await make_member(role="editor")
    await as_member(client, editor.id)
    response = await post_form(
        client,
        f"/studio/voice/stories/{proposal_id}",
        f"/studio/voice/stories/{proposal_id}/approve",
        {"title": "My first month", "body": "We shipped **a lot**."},
    )
    assert response.status_code == 303
    row = await Proposal.select().where(Proposal.id == proposal_id).first()
    assert row["state"] == "published"
    item = await ContentItem.select().where(ContentItem.id == row["item"]).first()
    assert item["byline"] == "Léa, Data team" and item["byline_public"]
    assert item["image"] == row["photos"].split()[0] and item["gallery"] == row["photos"].split()[1]
    assert item["publish_at"] is not None
    points = await PointsLine.select().where(PointsLine.member == author.id)
    assert [p["reason"] for p in points] == ["story_published"] and points[0]["points"] == 50
    nudge = await Nudge.select().where(Nudge.member == author.id).first()
    assert nudge["kind"] == "voice" and nudge["url"] == f"/items/{item['id']}"

    await as_member(client, author.id)
    feed = await client.get("/", headers=HTML)
    assert "By Léa, Data team" in feed.text and "My first month" in feed.text
    assert "replied about your story" in feed.text  # the in-app notice
    await client.get("/me/voice", headers=HTML)
    feed = await client.get("/", headers=HTML)
    assert "replied about your story" not in feed.text


async def test_an_edited_story_waits_for_its_author_who_publishes_or_withdraws_it(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    author = await sign_in(client, name="Malik Benali")
    first = proposal_id_of(await propose(client, {"title": "Night shift", "body": "Original."}))
    second = proposal_id_of(await propose(client, {"title": "Hackathon", "body": "Original."}))
    editor = await make_member(role="editor")
    for proposal_id in (first, second):
        state = await stories.approve(proposal_id, editor.id, "Night shift", "Edited text.")
        assert state == "edited"
    assert not await ContentItem.exists().where(ContentItem.title == "Night shift")
    # Approved again as it stands, an edited version still waits for its author.
    later = stories.now() + timedelta(seconds=5)
    assert await stories.approve(first, editor.id, "Night shift", "Edited text.", at=later) == (
        "edited"
    )

    page = await client.get(f"/voice/stories/{first}", headers=HTML)
    assert "Edited text." in page.text and "Publish this version" in page.text
    response = await post_form(client, f"/voice/stories/{first}", f"/voice/stories/{first}/accept")
    assert response.status_code == 303 and response.headers["location"].startswith("/items/")
    response = await post_form(
        client, f"/voice/stories/{second}", f"/voice/stories/{second}/withdraw"
    )
    states = {r["id"]: r["state"] for r in await Proposal.select(Proposal.id, Proposal.state)}
    assert states == {first: "published", second: "withdrawn"}
    assert await ContentItem.count().where(ContentItem.byline == "Malik") == 1
    kinds = await Nudge.select(Nudge.key).where(Nudge.member == author.id)
    assert len(kinds) == 4  # the first edited twice, the second once, the first published


async def test_a_declined_story_tells_its_author_why_in_their_language(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    author = await sign_in(client, language="fr")
    proposal_id = proposal_id_of(await propose(client, {"title": "Client X", "body": "Chiffres."}))
    editor = await make_member(role="editor")
    await as_member(client, editor.id)
    page = f"/studio/voice/stories/{proposal_id}"
    refused = await post_form(client, page, f"{page}/decline", {"reason": "", "kit": ""})
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.text
    refused = await post_form(client, page, f"{page}/decline", {"kit": "nonsense"})
    assert refused.status_code == 422
    done = await post_form(
        client, page, f"{page}/decline", {"kit": "confidential", "reason": "Pas de noms."}
    )
    assert done.status_code == 303
    await as_member(client, author.id)
    mine = await client.get(f"/voice/stories/{proposal_id}", headers=HTML)
    assert "Pas de noms." in mine.text and "confidentielles" in mine.text
    nudge = await Nudge.select().where(Nudge.member == author.id).first()
    assert nudge["title"] == "Votre histoire n’a pas été publiée"


async def test_the_author_takes_a_published_story_down_from_the_feed_and_public_page_at_once(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    author = await sign_in(client, name="Inès Roy")
    proposal_id = proposal_id_of(await propose(client, {"title": "Open day", "body": "Fun."}))
    editor = await make_member(role="editor")
    assert await stories.approve(proposal_id, editor.id, "Open day", "Fun.") == "published"
    row = await Proposal.select().where(Proposal.id == proposal_id).first()
    sharer = await make_member()
    await as_member(client, sharer.id)
    sheet = await client.get(f"/items/{row['item']}/share", headers=HTML)
    code = re.search(r"/r/([A-Za-z0-9_-]+)", sheet.text)
    assert code
    public = await client.get(f"/r/{code.group(1)}", headers=HTML)
    assert "Open day" in public.text
    assert "By Inès" not in public.text  # she did not agree to be named publicly

    await as_member(client, author.id)
    response = await post_form(
        client, f"/voice/stories/{proposal_id}", f"/voice/stories/{proposal_id}/remove"
    )
    assert response.status_code == 303
    feed = await client.get("/", headers=HTML)
    assert "Open day" not in feed.text
    client.cookies.clear()
    public = await client.get(f"/r/{code.group(1)}", headers=HTML)
    assert "no longer available" in public.text


async def test_a_public_page_credits_an_author_who_agreed(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await sign_in(client, name="Léa Martin")
    proposal_id = proposal_id_of(
        await propose(client, {"title": "Why I stay", "body": "Text.", "public_credit": "on"})
    )
    editor = await make_member(role="editor")
    await stories.approve(proposal_id, editor.id, "Why I stay", "Text.")
    row = await Proposal.select().where(Proposal.id == proposal_id).first()
    sheet = await client.get(f"/items/{row['item']}/share", headers=HTML)
    code = re.search(r"/r/([A-Za-z0-9_-]+)", sheet.text)
    assert code
    client.cookies.clear()
    public = await client.get(f"/r/{code.group(1)}", headers=HTML)
    assert "By Léa" in public.text


async def test_bad_story_input_is_refused_next_to_its_field(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await sign_in(client)
    response = await propose(client, {"title": "", "body": "x" * 10_001, "about": "team:999999"})
    assert response.status_code == 422
    for text in ("Give your story a title.", "at most 10,000", "Choose a job or a team"):
        assert text in response.text
    fake = await propose(
        client, {"title": "T", "body": "B"}, [("x.jpg", b"<script>alert(1)</script>", "image/jpeg")]
    )
    assert fake.status_code == 422 and "story-photos-error" in fake.text
    five = [("p.jpg", jpeg_bytes(40, 30), "image/jpeg")] * 5
    many = await propose(client, {"title": "T", "body": "B"}, five)
    assert many.status_code == 422 and "at most 4 photos" in many.text
    assert await Proposal.count() == 0


async def test_what_an_employee_writes_is_escaped_and_sanitised(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await sign_in(client)
    proposal_id = proposal_id_of(
        await propose(
            client,
            {
                "title": "<img src=x onerror=alert(1)>",
                "body": '<script>alert(1)</script> [x](javascript:alert(1)) <b onclick="x">b</b>',
            },
        )
    )
    page = await client.get(f"/voice/stories/{proposal_id}", headers=HTML)
    assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text
    assert 'href="javascript:' not in page.text and "<b onclick" not in page.text
    assert "&lt;script&gt;alert(1)" in page.text  # shown as the text it is


async def test_a_member_sees_only_their_own_proposals_and_questions(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await sign_in(client)
    proposal_id = proposal_id_of(await propose(client, {"title": "Mine", "body": "Secret."}))
    await post_form(client, "/voice/ask", "/voice/ask", {"text": "My private question"})
    other = await make_member()
    await as_member(client, other.id)
    assert (await client.get(f"/voice/stories/{proposal_id}", headers=HTML)).status_code == 404
    for action in ("accept", "withdraw", "remove"):
        response = await post_form(client, "/me/voice", f"/voice/stories/{proposal_id}/{action}")
        assert response.status_code == 404
    mine = await client.get("/me/voice", headers=HTML)
    assert "Mine" not in mine.text and "My private question" not in mine.text
    assert (await Proposal.select(Proposal.state).first())["state"] == "submitted"


async def test_two_editors_deciding_at_once_publish_a_story_once(database: str) -> None:
    author = await make_member()
    checked = await stories.check_proposal({"title": "Race", "body": "Body"})
    with tempfile.TemporaryDirectory() as folder:
        proposal_id = await stories.save_proposal(
            Path(folder), author.id, checked, stories.Uploads([], None)
        )
    assert proposal_id is not None
    editors = [await make_member(role="editor") for _ in range(2)]
    results = await asyncio.gather(
        *(stories.approve(proposal_id, e.id, "Race", "Body") for e in editors),
        stories.decline(proposal_id, editors[0].id, "No", ""),
        return_exceptions=True,
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert await ContentItem.count().where(ContentItem.title == "Race") <= 1
    state = (await Proposal.select(Proposal.state).first())["state"]
    published = await ContentItem.count().where(ContentItem.title == "Race")
    assert (state == "published") == (published == 1)
    assert await Activity.count().where(Activity.kind == "story_published") == published


@pytest.mark.parametrize(("role", "expected"), [("employee", 403), ("editor", 200), ("admin", 200)])
async def test_the_moderation_queue_is_for_editors(
    client: AsyncTestClient,  # type: ignore[type-arg]
    role: str,
    expected: int,
) -> None:
    author = await make_member()
    checked = await stories.check_proposal({"title": "Queue", "body": "B"})
    with tempfile.TemporaryDirectory() as folder:
        proposal_id = await stories.save_proposal(
            Path(folder), author.id, checked, stories.Uploads([], None)
        )
    question_id = await questions.ask(
        author.id, questions.check_question({"text": "Q?", "visibility": "anonymous"})
    )
    await sign_in(client, role)
    for url in (
        "/studio/voice",
        f"/studio/voice/stories/{proposal_id}",
        f"/studio/voice/questions/{question_id}",
    ):
        assert (await client.get(url, headers=HTML)).status_code == expected, url
    posts = [
        (f"/studio/voice/stories/{proposal_id}/decline", {"reason": "no"}),
        (f"/studio/voice/questions/{question_id}", {"answer": "A."}),
        (f"/studio/voice/stories/{proposal_id}/approve", {"title": "Queue", "body": "B"}),
    ]
    for url, data in posts:
        response = await post_form(client, "/voice/ask", url, data)
        assert (response.status_code == 403) == (expected == 403), url
    decided = (await Proposal.select(Proposal.state).first())["state"]
    assert (decided == "submitted") == (expected == 403)


@pytest.mark.parametrize(("role", "expected"), [("employee", 403), ("editor", 403), ("admin", 200)])
async def test_review_sites_and_the_contact_address_are_for_admins(
    client: AsyncTestClient,  # type: ignore[type-arg]
    role: str,
    expected: int,
) -> None:
    await sign_in(client, role)
    assert (await client.get("/admin/voice", headers=HTML)).status_code == expected
    response = await post_form(
        client,
        "/voice/ask",
        "/admin/voice",
        {
            "contact_email": "team@example.com",
            "review_sites": "Glassdoor | https://glassdoor.com/x",
        },
    )
    assert response.status_code == expected
    assert (await ReviewSite.count() == 1) == (expected == 200)


# --- Questions -------------------------------------------------------------------------------


async def test_an_anonymous_question_is_answered_published_to_the_faq_and_found_by_search(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    asker = await sign_in(client, name="Zoé Petit")
    sent = await post_form(
        client,
        "/voice/ask",
        "/voice/ask",
        {"text": "Can I share offers on TikTok, Zoé asks?", "visibility": "anonymous"},
    )
    assert sent.status_code == 303
    question_id = (await Question.select(Question.id).first())["id"]
    editor = await make_member(role="editor")
    await as_member(client, editor.id)
    page = f"/studio/voice/questions/{question_id}"
    answered = await post_form(
        client,
        page,
        page,
        {"answer": "Yes, **any network**.", "in_faq": "on", "faq_text": "Can I share on TikTok?"},
    )
    assert answered.status_code == 303
    nudge = await Nudge.select().where(Nudge.member == asker.id).first()
    assert nudge["kind"] == "voice"

    await as_member(client, asker.id)
    faq = await client.get("/faq?q=tiktok", headers=HTML)
    assert "Can I share on TikTok?" in faq.text and "<strong>any network</strong>" in faq.text
    assert "Zoé" not in faq.text
    assert "No question matches." in (await client.get("/faq?q=payroll", headers=HTML)).text
    mine = await client.get("/me/voice", headers=HTML)
    assert "any network" in mine.text


async def test_a_private_question_never_reaches_the_faq(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    asker = await make_member()
    question_id = await questions.ask(
        asker.id, questions.check_question({"text": "My salary?", "visibility": "private"})
    )
    await sign_in(client, "editor")
    page = f"/studio/voice/questions/{question_id}"
    refused = await post_form(
        client, page, page, {"answer": "See HR.", "in_faq": "on", "faq_text": "Salary?"}
    )
    assert refused.status_code == 422 and "kept private" in refused.text
    assert await questions.faq() == []
    refused = await post_form(client, "/voice/ask", "/voice/ask", {"text": "", "visibility": "x"})
    assert refused.status_code == 422
    assert "Write your question." in refused.text and "Choose who may see" in refused.text


async def test_the_contact_address_shows_next_to_ask_the_team_and_review_links_on_the_feed(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await sign_in(client, "admin")
    bad = await post_form(
        client,
        "/admin/voice",
        "/admin/voice",
        {"contact_email": "nope", "review_sites": "Glassdoor http://x\nIndeed | ftp://indeed.com"},
    )
    assert bad.status_code == 422
    assert "Line 1" in bad.text and "Line 2" in bad.text and "email address" in bad.text
    good = await post_form(
        client,
        "/admin/voice",
        "/admin/voice",
        {
            "contact_email": "ambassadors@example.com",
            "review_sites": "Glassdoor | https://www.glassdoor.com/Overview/x\n"
            "Welcome to the Jungle | https://www.welcometothejungle.com/fr/companies/x",
        },
    )
    assert good.status_code == 200
    assert await programme.contact_email() == "ambassadors@example.com"
    await sign_in(client)
    ask = await client.get("/voice/ask", headers=HTML)
    assert "mailto:ambassadors@example.com" in ask.text
    feed = await client.get("/", headers=HTML)
    assert "Share your experience" in feed.text
    assert "https://www.welcometothejungle.com/fr/companies/x" in feed.text


async def test_a_story_about_an_open_offer_names_it_for_the_editor(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    offer = await make_item(kind="offer", title="Data engineer", offer_status="open")
    await sign_in(client)
    form = await client.get("/voice/stories/new", headers=HTML)
    assert f'value="offer:{offer}"' in form.text
    proposal_id = proposal_id_of(
        await propose(client, {"title": "Join us", "body": "B", "about": f"offer:{offer}"})
    )
    await sign_in(client, "editor")
    page = await client.get(f"/studio/voice/stories/{proposal_id}", headers=HTML)
    assert "About the job: Data engineer" in page.text


# --- Push ------------------------------------------------------------------------------------


async def payloads() -> list[dict[str, Any]]:
    """What the push outbox holds for devices, oldest first (sending is push/'s own test)."""
    rows = await PushDelivery.select(PushDelivery.payload).order_by(PushDelivery.id)
    return [json.loads(row["payload"]) for row in rows]


async def test_the_author_and_the_asker_are_told_by_push_in_their_language(
    database: str,
) -> None:
    afternoon = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)  # outside quiet hours in Paris
    author = await make_member(language="fr")
    await subscribe(author.id, fcm_browser())
    checked = await stories.check_proposal({"title": "Salon", "body": "Texte."})
    with tempfile.TemporaryDirectory() as folder:
        proposal_id = await stories.save_proposal(
            Path(folder), author.id, checked, stories.Uploads([], None)
        )
    assert proposal_id is not None
    editor = await make_member(role="editor")
    await stories.approve(proposal_id, editor.id, "Salon", "Texte.", at=afternoon)
    question_id = await questions.ask(author.id, questions.check_question({"text": "Q ?"}))
    form = questions.check_answer({"answer": "Oui."}, may_publish=False)
    await questions.answer(question_id, editor.id, form, at=afternoon)
    # Both due at once: one notification naming each, in her language.
    assert await send_due_nudges(afternoon, daily_cap=3) == 1
    [sent] = await payloads()
    assert sent["title"] == "Des nouvelles de l’équipe du programme"
    assert sent["body"] == "Votre histoire est publiée · L’équipe du programme vous a répondu"
    assert sent["url"].endswith("/me/voice")
    # One alone says itself.
    later = afternoon + timedelta(hours=1)
    await stories.remove(author.id, proposal_id, Path(tempfile.gettempdir()), at=later)
    question_id = await questions.ask(author.id, questions.check_question({"text": "Et ?"}))
    await questions.answer(question_id, editor.id, form, at=later)
    assert await send_due_nudges(later, daily_cap=3) == 1
    assert (await payloads())[1]["title"] == "L’équipe du programme vous a répondu"


async def test_a_proposed_video_is_checked_shown_to_editors_then_public_once_published(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await sign_in(client)
    headers = await csrf(client, "/voice/stories/new")
    fields = {"title": "A minute with us", "body": "Watch."}
    refused = await client.post(
        "/voice/stories/new",
        data=fields,
        files=[("photos", NO_FILE), ("video", ("v.mp4", video_bytes("mpeg4"), "video/mp4"))],
        headers=headers,
        follow_redirects=False,
    )
    assert refused.status_code == 422 and "story-video-error" in refused.text
    sent = await client.post(
        "/voice/stories/new",
        data=fields,
        files=[("photos", NO_FILE), ("video", ("v.mp4", video_bytes("mp4"), "video/mp4"))],
        headers=headers,
        follow_redirects=False,
    )
    proposal_id = proposal_id_of(sent)
    url = f"/studio/voice/stories/{proposal_id}/video"
    assert (await client.get(url)).status_code == 403
    editor = await sign_in(client, "editor")
    watched = await client.get(url)
    assert watched.status_code == 200 and watched.headers["content-type"] == "video/mp4"
    await stories.approve(proposal_id, editor.id, "A minute with us", "Watch.")
    row = await Proposal.select(Proposal.video).first()
    client.cookies.clear()
    public = await client.get(f"/videos/{row['video']}")
    assert public.status_code == 200 and public.content == watched.content
