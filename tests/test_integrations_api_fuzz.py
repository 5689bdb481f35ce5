"""The ATS's API fuzzed by Schemathesis against its own OpenAPI schema, on a live server:
valid and invalid requests to every operation, each answer checked by Schemathesis (no 5xx,
a documented status, the documented content type, headers and body schema).

Bounded: a fixed number of examples per operation and mode, derandomised (the same cases on
every run), so that it runs in well under a minute; the number of cases is printed."""

from __future__ import annotations

from typing import Any

import httpx
import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.candidates.tables import Candidate
from app.core.clock import now
from app.integrations import tokens
from app.integrations.tables import ExternalOffer
from tests.conftest import LiveServer
from tests.factories import make_item, make_member

EXAMPLES = 25  # per operation and generation mode
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


async def _seed() -> dict[str, Any]:
    """An API token with every scope, an offer the ATS knows and candidates who consented."""
    admin = await make_member(role="admin")
    sharer = await make_member(name="Léa Martin")
    _id, token = await tokens.create(tokens.API, "Fuzzer", by=admin.id, scopes=tokens.API_SCOPES)
    item_id = await make_item("offer", "Data engineer")
    await ExternalOffer.insert(ExternalOffer(item=item_id, external_id="REQ-1"))
    rows = await Candidate.insert(
        *[
            Candidate(kind="application", item=item_id, referrer=sharer.id, name=f"Cand {n}",
                      email=f"c{n}@example.com", consent_at=now())
            for n in range(3)
        ]
    ).returning(Candidate.id)  # fmt: skip
    return {"token": token, "candidates": [int(r["id"]) for r in rows]}


def test_the_api_answers_every_generated_request_as_its_schema_says(
    live_server: LiveServer,
    seed: Any,
) -> None:
    seeded = seed(_seed)
    headers = {"authorization": f"Bearer {seeded['token']}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema")
    cases = 0
    failures: list[str] = []

    def run(case: schemathesis.Case) -> None:
        nonlocal cases
        cases += 1
        response = case.call(base_url=live_server.url, headers=headers, timeout=10)
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, FailureGroup) as exc:
            failures.append(f"{case.method} {case.formatted_path}: {str(exc)[:400]}")

    settings = hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 5
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)
            settings(hypothesis.given(strategy)(lambda case: run(case)))()
    # And the seeded rows, so that successful answers are checked against the schema too.
    for candidate_id in seeded["candidates"]:
        operation = schema["/api/v1/candidates/{candidate_id}"]["GET"]
        run(operation.Case(path_parameters={"candidate_id": candidate_id}))
        operation = schema["/api/v1/candidates/{candidate_id}/stage"]["PUT"]
        run(operation.Case(path_parameters={"candidate_id": candidate_id}, body={"stage": "offer"}))
    run(
        schema["/api/v1/offers/{external_id}"]["GET"].Case(path_parameters={"external_id": "REQ-1"})
    )
    run(schema["/api/v1/candidates"]["GET"].Case(query={"limit": 2}))
    print(f"\nSchemathesis: {cases} generated and seeded cases against /api/v1")
    assert not failures, "\n".join(failures[:10])
    listed = httpx.get(f"{live_server.url}/api/v1/candidates", headers=headers).json()
    assert len(listed["data"]) == 3 and {c["stage"] for c in listed["data"]} == {"offer"}
