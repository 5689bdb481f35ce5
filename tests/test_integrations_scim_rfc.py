"""The SCIM RFC compliance checker (scim2-tester, by the authors of scim2-models) run
against a live Relay over HTTP, with a token an admin made: every check it runs passes,
except the ones listed in KNOWN, each with the reason Relay answers as it does."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from app.integrations import tokens
from tests.factories import make_member

PASSED = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE, Status.SKIPPED}
# (check, what its reason says, why Relay answers so): the checks Relay knowingly fails.
KNOWN = [
    (
        "check_remove_attribute",
        "did not remove attribute 'active'",
        "A member is always active or deactivated. Removing `active` leaves them as they "
        "were, since a removal must never bring a leaver back; so `active` is still returned.",
    ),
]


def test_scim2_tester_finds_relay_compliant(live_server: Any, seed: Any) -> None:
    async def make_token() -> str:
        admin = await make_member(role="admin")
        return (await tokens.create(tokens.SCIM, "scim2-tester", by=admin.id))[1]

    token = seed(make_token)
    http = httpx2.Client(
        base_url=f"{live_server.url}/scim/v2",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    with http:
        client = SyncSCIMClient(http)
        client.discover()
        results = check_server(client)
    tally = Counter(r.status.name for r in results)
    print(f"\nscim2-tester: {len(results)} checks, {dict(tally)}")
    for result in results:
        print(
            f"  {result.status.name:10} {result.resource_type or '-':6} {result.title}: {result.reason or ''}"
        )
    failed = [
        r
        for r in results
        if r.status not in PASSED
        and not any(r.title == title and said in (r.reason or "") for title, said, _ in KNOWN)
    ]
    assert not failed, "\n".join(f"{r.title}: {r.reason} {r.data!r}"[:600] for r in failed)
