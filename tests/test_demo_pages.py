"""Every page renders with the demo organisation loaded, for each demo role."""

from __future__ import annotations

from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from app.accounts.tables import Member
from app.demo import load_demo
from tests.factories import session_cookie
from tests.helpers import HTML


async def test_every_page_renders_with_the_demo_data_for_every_role(
    client: AsyncTestClient,
) -> None:
    assert await load_demo()
    plain_paths = sorted(
        {
            route.path
            for route in client.app.routes  # type: ignore[attr-defined]
            if isinstance(route, HTTPRoute)
            and "{" not in route.path
            and any("GET" in h.http_methods for h in route.route_handlers)
        }
    )
    people = await Member.objects().order_by(Member.id)
    person_paths = [f"/admin/people/{m.id}" for m in people]
    for email in ["admin@demo.relay", "editor@demo.relay", "lea.martin@demo.relay"]:
        member = next(m for m in people if m.email == email)
        name, value = await session_cookie(member)
        client.cookies.clear()
        client.cookies.set(name, value)
        for path in [*plain_paths, *person_paths]:
            response = await client.get(path, headers=HTML)
            assert response.status_code in {200, 403}, f"{email} GET {path}: {response.status_code}"
            if member.role == "admin":
                assert response.status_code == 200, f"{email} GET {path}"
