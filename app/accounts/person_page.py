"""The admin's page on one person, rendered one way for every form on it: role, status and
enrolment links (app.accounts.routes_people), and points corrections (app.points.routes).
Its points part is read by the shell (app.shell.compose.person_points): accounts comes before
points."""

from __future__ import annotations

from typing import Any

from litestar import Response
from litestar.exceptions import NotFoundException

from app.accounts import people
from app.accounts.tables import Role
from app.web.pages import render
from app.web.requests import AnyRequest, person_points


async def person_page(
    request: AnyRequest, member_id: int, status_code: int = 200, **extra: Any
) -> Response[str]:
    person = await people.person(member_id)
    if person is None:
        raise NotFoundException()
    return await render(
        request,
        "accounts/person.html",
        status_code=status_code,
        person=person,
        roles=[r.value for r in Role],
        **await person_points(request, member_id),
        **extra,
    )
