"""The editors' pipeline, My referrals and the purge."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from datetime import timedelta

from litestar.testing import AsyncTestClient

from app.accounts.tables import AuditEvent
from app.activity.tables import Activity
from app.candidates import cvs
from app.candidates.pipeline import purge
from app.candidates.tables import Candidate
from app.content.tables import ContentItem
from app.core.clock import now
from app.core.settings import Settings
from app.sharing import service as sharing
from tests.databases import ROOT
from tests.factories import make_item, make_member
from tests.helpers import GOOD, HTML, PDF, apply, as_member, form_token, sign_in


async def applied(client: AsyncTestClient) -> tuple[int, int, int]:  # type: ignore[type-arg]
    """Jeanne applies through Léa's link: (sharer id, offer id, candidate id)."""
    sharer = await make_member(name="Léa Martin")
    item_id = await make_item("offer", "Data engineer")
    code = await sharing.link_code(sharer.id, item_id)
    response = await apply(client, code, {**GOOD, "name": "Jeanne Durand", "notes": ""})
    assert response.status_code == 200
    row = await Candidate.select(Candidate.id).first()
    assert row is not None
    return sharer.id, item_id, int(row["id"])


async def test_an_editor_moves_a_candidate_and_the_referrer_sees_the_stage(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    sharer_id, item_id, candidate_id = await applied(client)
    editor = await sign_in(client, "editor")
    listing = await client.get("/pipeline", headers=HTML)
    assert "Data engineer" in listing.text and "1 candidate" in listing.text
    page = await client.get(f"/pipeline/{item_id}", headers=HTML)
    assert "Jeanne Durand" in page.text and "Referred by Léa Martin" in page.text
    token = form_token(page.text)
    moved = await client.post(
        f"/pipeline/candidates/{candidate_id}/stage",
        data={"_csrf_token": token, "stage": "interview"},
        headers={**HTML, "hx-request": "true"},
    )
    assert moved.status_code == 200
    assert moved.text.lstrip().startswith(
        f'<li class="card pipeline__candidate" id="candidate-{candidate_id}"'
    )
    assert re.search(r'<option value="interview" selected>', moved.text)
    refused = await client.post(
        f"/pipeline/candidates/{candidate_id}/stage",
        data={"_csrf_token": token, "stage": "promoted"},
        headers={**HTML, "hx-request": "true"},
    )
    assert refused.status_code == 200 and "Choose a stage from the list." in refused.text
    notes = await client.post(
        f"/pipeline/candidates/{candidate_id}/notes",
        data={"_csrf_token": token, "notes": "Strong on SQL."},
        headers={**HTML, "hx-request": "true"},
    )
    assert "Notes saved." in notes.text and "Strong on SQL." in notes.text
    stage = await Activity.select().where(Activity.kind == "stage").first()
    assert (
        stage is not None
        and stage["member"] == sharer_id
        and '"stage": "interview"' in stage["detail"]
    )
    assert f'"by": {editor.id}' in stage["detail"]

    await as_member(client, sharer_id)
    mine = await client.get("/me/referrals", headers=HTML)
    assert "Jeanne D." in mine.text and "Durand" not in mine.text
    assert "Interview" in mine.text and "Data engineer" in mine.text


async def test_employees_cannot_see_the_pipeline_or_download_cvs_but_editors_can(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    sharer_id, item_id, candidate_id = await applied(client)
    await as_member(client, sharer_id)
    for path in ["/pipeline", f"/pipeline/{item_id}", f"/pipeline/candidates/{candidate_id}/cv",
                 f"/pipeline/{item_id}/export.csv"]:  # fmt: skip
        assert (await client.get(path, headers=HTML)).status_code == 403, path
    client.cookies.clear()
    cv = await client.get(
        f"/pipeline/candidates/{candidate_id}/cv", headers=HTML, follow_redirects=False
    )
    assert cv.status_code == 303  # to the sign-in page
    await sign_in(client, "editor")
    cv = await client.get(f"/pipeline/candidates/{candidate_id}/cv")
    assert cv.status_code == 200 and cv.content == PDF
    assert cv.headers["content-type"] == "application/pdf"
    assert cv.headers["content-disposition"].startswith("attachment;")


async def test_the_pipeline_exports_as_csv_without_formulas(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    sharer = await make_member(name="Léa Martin")
    item_id = await make_item("offer", "Data engineer")
    code = await sharing.link_code(sharer.id, item_id)
    assert (await apply(client, code, {**GOOD, "name": "=HYPERLINK(1)"})).status_code == 200
    await sign_in(client, "editor")
    export = await client.get(f"/pipeline/{item_id}/export.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    lines = export.text.splitlines()
    assert lines[0].startswith("offer,kind,name,email")
    assert "'=HYPERLINK(1)" in lines[1] and "Léa Martin" in lines[1]


async def test_a_candidates_data_is_deleted_on_request(
    client: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
) -> None:
    _sharer, item_id, candidate_id = await applied(client)
    editor = await sign_in(client, "editor", name="Inès Moreau")
    page = await client.get(f"/pipeline/{item_id}", headers=HTML)
    deleted = await client.post(
        f"/pipeline/candidates/{candidate_id}/delete",
        data={"_csrf_token": form_token(page.text)},
        headers={**HTML, "hx-request": "true"},
    )
    assert deleted.status_code == 200 and deleted.text == ""
    assert await Candidate.count() == 0
    assert list(cvs.cv_folder(settings.data_dir).iterdir()) == []

    # The audit log names the editor and the candidate's id, and nothing of the candidate.
    [event] = await AuditEvent.select().where(AuditEvent.action == "candidate_deleted")
    assert event["actor"] == editor.id and event["subject"] is None
    assert json.loads(event["detail"]) == {"candidate": candidate_id}
    await sign_in(client, "admin")
    log = await client.get("/admin/audit", headers=HTML)
    entry = re.search(r"Candidate(&#39;|')s data deleted.*?</li>", log.text, re.S)
    assert entry and "by Inès Moreau" in entry.group(0)
    assert f"candidate no. {candidate_id}" in entry.group(0)
    assert "Jeanne" not in log.text and "jeanne" not in log.text


async def test_old_candidates_not_hired_and_expired_recommendations_are_purged(
    client: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
    env: dict[str, str],
) -> None:
    item_id = await make_item("offer", "Data engineer")
    friend = await make_member()
    long_ago = now() - timedelta(days=200)
    old = {"kind": "application", "item": item_id, "email": "a@example.org", "consent_at": long_ago,
           "created_at": long_ago}  # fmt: skip
    staged = cvs.staged_cvs(settings.data_dir)
    key = await cvs.store_cv(staged, PDF)
    await Candidate.insert(
        Candidate(name="Old, not hired", cv=key, **old),
        Candidate(name="Old, hired", stage="hired", **old),
        Candidate(name="Recent", kind="application", item=item_id, email="r@example.org",
                  consent_at=now()),
        Candidate(name="Pending, expired", kind="recommendation", item=item_id,
                  email="p@example.org", referrer=friend.id, expires_at=now() - timedelta(hours=1)),
        Candidate(name="Pending, in time", kind="recommendation", item=item_id,
                  email="q@example.org", referrer=friend.id, expires_at=now() + timedelta(days=3)),
    )  # fmt: skip
    await staged.publish()
    assert await purge(settings.data_dir) == (1, 1)
    names = {r["name"] for r in await Candidate.select(Candidate.name)}
    assert names == {"Old, hired", "Recent", "Pending, in time"}
    assert cvs.cv_path(settings.data_dir, key) is None
    # The same job from the command line, as cron would run it.
    done = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app", "purge", env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await done.communicate()
    assert done.returncode == 0, err.decode()
    assert "Deleted 0 expired recommendation(s) and 0 candidate(s)" in out.decode()


async def test_the_embedded_app_purges_on_its_own(settings: Settings) -> None:
    from app.candidates.pipeline import PurgeSchedule

    item_id = await make_item("offer", "Data engineer")
    await Candidate.insert(
        Candidate(name="Expired", kind="recommendation", item=item_id, email="p@example.org",
                  expires_at=now() - timedelta(hours=1)),
    )  # fmt: skip
    schedule = PurgeSchedule(settings.data_dir, every_s=0.01)
    await schedule.start()
    try:
        for _ in range(500):
            if await Candidate.count() == 0:
                break
            await asyncio.sleep(0.01)
    finally:
        await schedule.stop()
    assert await Candidate.count() == 0


async def test_an_editor_cannot_move_their_own_referral_but_another_editor_or_an_admin_can(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    import pytest

    from app.candidates import pipeline
    from app.points import ledger

    lea = await make_member(role="editor", name="Léa Martin")
    item_id = await make_item("offer", "Data engineer")
    code = await sharing.link_code(lea.id, item_id)
    assert (await apply(client, code, GOOD)).status_code == 200
    row = await Candidate.select(Candidate.id).first()
    assert row is not None
    candidate_id = row["id"]
    assert await ledger.balance(lea.id) == 50  # a friend applied through her link: fair

    await as_member(client, lea.id)
    page = await client.get(f"/pipeline/{item_id}", headers=HTML)
    assert "Jeanne Durand" in page.text and "Stage: New" in page.text
    assert "Your own referral: another editor or an admin decides." in page.text
    assert f'action="/pipeline/candidates/{candidate_id}/stage"' not in page.text
    token = form_token(page.text)
    for headers in ({**HTML, "hx-request": "true"}, HTML):  # a forged request, htmx or not
        forged = await client.post(
            f"/pipeline/candidates/{candidate_id}/stage",
            data={"_csrf_token": token, "stage": "hired"},
            headers=headers,
        )
        assert forged.status_code == 403
        assert "Your own referral: another editor or an admin decides." in forged.text
    with pytest.raises(pipeline.OwnReferral):
        await pipeline.move(candidate_id, "hired", lea.id)
    assert (await pipeline.candidate(candidate_id))["stage"] == "new"  # type: ignore[index]
    assert await ledger.balance(lea.id) == 50
    refusals = await AuditEvent.select(AuditEvent.actor, AuditEvent.detail).where(
        AuditEvent.action == "own_decision_refused"
    )
    assert [r["actor"] for r in refusals] == [lea.id] * 3
    assert json.loads(refusals[0]["detail"]) == {"candidate": candidate_id, "stage": "hired"}

    # Another editor decides: through the page.
    await sign_in(client, "editor")
    page = await client.get(f"/pipeline/{item_id}", headers=HTML)
    assert "Your own referral" not in page.text
    moved = await client.post(
        f"/pipeline/candidates/{candidate_id}/stage",
        data={"_csrf_token": form_token(page.text), "stage": "interview"},
        headers={**HTML, "hx-request": "true"},
    )
    assert moved.status_code == 200
    # An admin too; then the hire's wall of fame is not hers to tick either.
    admin = await make_member(role="admin")
    await pipeline.move(candidate_id, "hired", admin.id)
    assert await ledger.balance(lea.id) == 50 + 20 + 100 + 150 + 500
    await as_member(client, lea.id)
    page = await client.get(f"/pipeline/{item_id}", headers=HTML)
    assert "Stage: Hired" in page.text
    assert f"/pipeline/candidates/{candidate_id}/wall-of-fame" not in page.text
    fame = await client.post(
        f"/pipeline/candidates/{candidate_id}/wall-of-fame",
        data={"_csrf_token": form_token(page.text), "wall_of_fame": "on"},
        headers={**HTML, "hx-request": "true"},
    )
    assert fame.status_code == 403 and "Your own referral" in fame.text
    assert (await pipeline.candidate(candidate_id))["wall_of_fame"] is False  # type: ignore[index]


async def test_the_pipeline_lists_fifty_offers_a_page_with_their_candidate_counts(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    _sharer_id, item_id, _candidate_id = await applied(client)
    await ContentItem.insert(
        *(ContentItem(kind="offer", title=f"Opening {n:03d}") for n in range(50))
    )
    await sign_in(client, "editor")
    first = await client.get("/pipeline", headers=HTML)
    assert "Opening 049" in first.text and "Opening 000" in first.text
    more = re.search(r'hx-get="(/pipeline\?before=\d+)"', first.text).group(1)  # type: ignore[union-attr]
    rest = await client.get(more, headers={**HTML, "HX-Request": "true"})
    assert f'href="/pipeline/{item_id}"' in rest.text and "1 candidate" in rest.text
    assert "Opening" not in rest.text and "before=" not in rest.text
