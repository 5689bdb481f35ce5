"""The ATS's JSON API over HTTP: an ATS keeps offers in sync by its own ids, reads referred
candidates who consented (their CV by a short-lived signed link) and moves them, with the
referrer's points following as when an editor moves them. Tokens are scoped, revocable and
rate-limited; a SCIM token opens nothing here; every refusal is a problem document."""

from __future__ import annotations

import time
from typing import Any

from litestar.testing import AsyncTestClient

from app.accounts.tables import AuditEvent
from app.activity.tables import Activity
from app.candidates.applications import policy
from app.candidates.tables import Candidate, CandidatePolicy
from app.content.tables import ContentItem
from app.integrations import tokens
from app.integrations.tables import ExternalOffer, IntegrationToken
from app.points.tables import PointsLine
from app.sharing import service as sharing
from app.web import ratelimit
from tests.factories import make_item, make_member, make_site
from tests.helpers import GOOD, PDF, apply, sign_in

Client = AsyncTestClient  # type: ignore[type-arg]
ALL = tokens.API_SCOPES


async def api_token(*scopes: str, name: str = "Teamtailor") -> str:
    admin = await make_member(role="admin")
    _id, token = await tokens.create(tokens.API, name, by=admin.id, scopes=scopes or ALL)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", "accept": "application/json"}


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = dict(response.json())
    assert body["status"] == status and body["title"] and body["detail"]
    return body


OFFER = {
    "title": "Data engineer",
    "description": "Build our **pipelines**.",
    "contract": "permanent",
    "remote": "hybrid",
    "salary_min": 45000,
    "salary_max": 60000,
    "status": "open",
}


async def write_privacy_notice() -> None:
    """Offers are published only once candidates have a privacy notice to consent to."""
    await policy(fresh=True)
    await CandidatePolicy.update(
        {CandidatePolicy.privacy_notice: "We keep your data 6 months."}
    ).where(CandidatePolicy.id > 0)
    await policy(fresh=True)


async def applied(client: Client) -> tuple[int, int, int]:
    """Jeanne applies through Léa's link to an offer: (sharer id, offer id, candidate id)."""
    sharer = await make_member(name="Léa Martin")
    item_id = await make_item("offer", "Data engineer")
    code = await sharing.link_code(sharer.id, item_id)
    response = await apply(client, code, {**GOOD, "name": "Jeanne Durand", "notes": ""})
    assert response.status_code == 200
    row = await Candidate.select(Candidate.id).first()
    assert row is not None
    return sharer.id, item_id, int(row["id"])


# --- The schema -------------------------------------------------------------------------------


async def test_the_schema_describes_the_api_and_nothing_else(client: Client) -> None:
    response = await client.get("/api/v1/schema")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {
        "/api/v1/offers/{external_id}",
        "/api/v1/candidates",
        "/api/v1/candidates/{candidate_id}",
        "/api/v1/candidates/{candidate_id}/stage",
    }
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    same = await client.get("/api/v1/schema/openapi.json")
    assert same.json() == schema


# --- Offers -----------------------------------------------------------------------------------


async def test_the_ats_creates_then_updates_an_offer_by_its_own_id(client: Client) -> None:
    await make_site("Lyon")
    await write_privacy_notice()
    headers = bearer(await api_token("offers:write"))
    created = await client.put(
        "/api/v1/offers/REQ-42", json={**OFFER, "location": "lyon"}, headers=headers
    )
    assert created.status_code == 201, created.text
    offer = created.json()
    assert offer["external_id"] == "REQ-42" and offer["location"] == "Lyon"
    assert offer["status"] == "open" and offer["published"] is True
    # The same call again updates the same offer; the editor's own touches stay.
    await ContentItem.update({ContentItem.pinned: True}).where(ContentItem.id == offer["id"])
    changed = await client.put(
        "/api/v1/offers/REQ-42",
        json={**OFFER, "title": "Senior data engineer", "status": "closed"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["id"] == offer["id"] and changed.json()["status"] == "closed"
    row = await ContentItem.select().where(ContentItem.id == offer["id"]).first()
    assert row is not None and row["title"] == "Senior data engineer" and row["pinned"] is True
    assert row["site"] is None and row["offer_status"] == "closed"
    assert await ContentItem.count() == 1 and await ExternalOffer.count() == 1
    read = await client.get("/api/v1/offers/REQ-42", headers=headers)
    assert read.json()["title"] == "Senior data engineer"
    assert_problem(await client.get("/api/v1/offers/REQ-43", headers=headers), 404)
    # Without a privacy notice, an open offer is refused with the studio's sentence.
    await CandidatePolicy.update({CandidatePolicy.privacy_notice: ""}).where(CandidatePolicy.id > 0)
    refused = await client.put("/api/v1/offers/REQ-44", json=OFFER, headers=headers)
    assert "privacy notice" in assert_problem(refused, 409)["detail"]
    saved = await AuditEvent.select().where(AuditEvent.action == "api_offer_saved")
    assert len(saved) == 2 and "API · Teamtailor" in saved[0]["detail"]


async def test_an_offer_is_checked_as_the_studio_checks_it(client: Client) -> None:
    headers = bearer(await api_token("offers:write"))
    refused = await client.put(
        "/api/v1/offers/REQ-1",
        json={**OFFER, "salary_min": 70000, "salary_max": 60000, "location": "Mars"},
        headers=headers,
    )
    body = assert_problem(refused, 422)
    assert "location" in body["errors"]
    refused = await client.put(
        "/api/v1/offers/REQ-1", json={**OFFER, "salary_min": 70000}, headers=headers
    )
    assert "salary_min" in assert_problem(refused, 422)["errors"]
    unreadable = await client.put(
        "/api/v1/offers/REQ-1", json={**OFFER, "contract": "forever"}, headers=headers
    )
    assert_problem(unreadable, 400)
    assert_problem(
        await client.put("/api/v1/offers/REQ-1", content=b"not json", headers=headers), 400
    )
    assert_problem(await client.put("/api/v1/offers/bad%20id", json=OFFER, headers=headers), 400)
    assert await ContentItem.count() == 0


# --- Candidates -------------------------------------------------------------------------------


async def test_the_ats_reads_candidates_who_consented_with_their_cv(client: Client) -> None:
    _sharer, item_id, candidate_id = await applied(client)
    # A recommendation the friend has not accepted yet is not shown.
    pending = await make_member(name="Paul")
    await Candidate.insert(
        Candidate(kind="recommendation", item=item_id, referrer=pending.id, name="X",
                  email="x@example.com", consent_at=None)
    )  # fmt: skip
    headers = bearer(await api_token("candidates:read"))
    page = await client.get("/api/v1/candidates", headers=headers)
    assert page.status_code == 200, page.text
    [candidate] = page.json()["data"]
    assert candidate["id"] == candidate_id and candidate["name"] == "Jeanne Durand"
    assert candidate["referrer"]["name"] == "Léa Martin" and candidate["stage"] == "new"
    assert candidate["offer"] == {"id": item_id, "external_id": None, "title": "Data engineer"}
    url = candidate["cv"]["url"].removeprefix("http://localhost:8000")
    cv = await client.get(url)
    assert cv.status_code == 200 and cv.content == PDF
    assert cv.headers["content-disposition"].startswith("attachment;")
    # The link is signed: another candidate's id, or a changed expiry, opens nothing.
    assert_problem(await client.get(url.replace(f"/cvs/{candidate_id}", "/cvs/1234")), 404)
    tampered = url[:-1] + ("0" if url[-1] != "0" else "1")
    assert_problem(await client.get(tampered), 404)
    assert_problem(await client.get(f"/api/v1/cvs/{candidate_id}"), 404)
    assert_problem(await client.get("/api/v1/candidates?offer=REQ-9", headers=headers), 404)
    one = await client.get(f"/api/v1/candidates/{candidate_id}", headers=headers)
    assert one.json()["email"] == GOOD["email"].lower()
    assert_problem(await client.get("/api/v1/candidates/999999", headers=headers), 404)
    assert await AuditEvent.count().where(AuditEvent.action == "api_candidates_read") == 2


async def test_the_ats_moves_a_candidate_as_an_editor_would(client: Client) -> None:
    sharer_id, _item_id, candidate_id = await applied(client)
    headers = bearer(await api_token("candidates:read", "candidates:write"))
    moved = await client.put(
        f"/api/v1/candidates/{candidate_id}/stage", json={"stage": "hired"}, headers=headers
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["stage"] == "hired" and moved.json()["hired_at"]
    stages = await Activity.select(Activity.member).where(Activity.kind == "stage")
    assert stages == [{"member": sharer_id}]
    # The referrer earned the points of each stage reached, as with an editor's move.
    earned = await PointsLine.select(PointsLine.subject).where(PointsLine.member == sharer_id)
    subjects = {row["subject"] for row in earned}
    assert f"candidate:{candidate_id}:hired" in subjects, subjects
    assert_problem(
        await client.put(
            f"/api/v1/candidates/{candidate_id}/stage", json={"stage": "promoted"}, headers=headers
        ),
        400,
    )
    assert_problem(
        await client.put("/api/v1/candidates/424242/stage", json={"stage": "new"}, headers=headers),
        404,
    )
    assert await AuditEvent.count().where(AuditEvent.action == "api_stage_set") == 1


# --- Who may call -----------------------------------------------------------------------------


async def test_each_route_needs_its_scope(client: Client) -> None:
    _sharer, _item, candidate_id = await applied(client)
    reader = bearer(await api_token("candidates:read", name="Reader"))
    assert (await client.get("/api/v1/candidates", headers=reader)).status_code == 200
    assert_problem(await client.put("/api/v1/offers/A1", json=OFFER, headers=reader), 403)
    assert_problem(
        await client.put(
            f"/api/v1/candidates/{candidate_id}/stage", json={"stage": "hired"}, headers=reader
        ),
        403,
    )
    writer = bearer(await api_token("offers:write", name="Writer"))
    assert_problem(await client.get("/api/v1/candidates", headers=writer), 403)


async def test_no_token_a_revoked_one_or_a_scim_one_is_refused(client: Client) -> None:
    body = assert_problem(await client.get("/api/v1/candidates"), 401)
    assert "Bearer" in body["detail"]
    token = await api_token()
    assert (await client.get("/api/v1/candidates", headers=bearer(token))).status_code == 200
    await IntegrationToken.update({IntegrationToken.revoked_at: IntegrationToken.created_at}).where(
        IntegrationToken.kind == tokens.API
    )
    refused = await client.get("/api/v1/candidates", headers=bearer(token))
    assert_problem(refused, 401)
    assert refused.headers["www-authenticate"].startswith("Bearer")
    admin = await make_member(role="admin")
    _id, scim = await tokens.create(tokens.SCIM, "Okta", by=admin.id)
    assert_problem(await client.get("/api/v1/candidates", headers=bearer(scim)), 401)
    # … and the reverse: an API token opens no SCIM route.
    api = await api_token(name="Other")
    assert (await client.get("/scim/v2/Users", headers=bearer(api))).status_code == 401
    # A signed-in admin's session is no API credential either.
    await sign_in(client, "admin")
    assert_problem(await client.get("/api/v1/candidates"), 401)


async def test_tokens_are_rate_limited(client: Client) -> None:
    wrong = bearer("relay_api_guess")
    statuses = [
        (await client.get("/api/v1/candidates", headers=wrong)).status_code for _ in range(31)
    ]
    assert statuses[:30] == [401] * 30
    refused = await client.get("/api/v1/candidates", headers=wrong)
    assert_problem(refused, 429)
    assert int(refused.headers["retry-after"]) >= 1


async def test_a_token_is_rate_limited(client: Client) -> None:
    """600 requests a minute per token: the first 599 are counted in the app's own limiter
    (as its requests would be), the 600th goes through and the 601st is refused. A minute
    turning over between them starts a new window: then the whole count is made again."""
    token = await api_token("offers:write")
    row = (
        await IntegrationToken.select(IntegrationToken.id)
        .where(IntegrationToken.kind == tokens.API)
        .first()
    )
    assert row is not None
    limiter = client.app.state.limiter
    limit = ratelimit.API_PER_TOKEN
    for _attempt in range(2):
        window = int(time.time() // limit.per_seconds)
        for _ in range(limit.count - 1):
            await limiter.hit(limit, str(row["id"]))
        last = await client.get("/api/v1/offers/none", headers=bearer(token))
        refused = await client.get("/api/v1/offers/none", headers=bearer(token))
        if int(time.time() // limit.per_seconds) == window:
            break
    assert_problem(last, 404)
    assert_problem(refused, 429)
    assert int(refused.headers["retry-after"]) >= 1
