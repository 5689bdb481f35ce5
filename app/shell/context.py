"""The base context of every page (app.web.pages.render documents it), and the one place
that decides which tabs a role sees."""

from __future__ import annotations

from typing import Any

from litestar import Request

from app.accounts.guards import anyone
from app.accounts.tables import Member, Role
from app.org.service import organisation_name

# A route's tab: ``opt={TAB: "feed"}`` on its handler.
TAB = "tab"
# Employees have Points and Rewards tabs; editors' and admins' tab bar is full of their own
# work, and they reach their points and the shop from Me.
EMPLOYEE_TABS = ("feed", "points", "rewards", "me")
EDITOR_TABS = ("feed", "studio", "pipeline", "campaigns", "insights", "me")


def tabs_for(member: Member | None) -> tuple[str, ...]:
    """The tabs of the member's tab bar, in the bar's order."""
    if member is None:
        return ()
    return EMPLOYEE_TABS if member.role == Role.employee.value else EDITOR_TABS


def current_tab(request: Request[Any, Any, Any], tabs: tuple[str, ...]) -> str | None:
    """The route's tab; Me for a page behind sign-in without one, or with a tab this role has
    not; None (no tab bar) for a public page."""
    handler = request.route_handler
    if anyone in (handler.guards or []):
        return None
    tab = handler.opt.get(TAB, "me")
    return tab if tab in tabs else "me"


async def page_context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    tabs = tabs_for(request.user)
    return {
        "org_name": await organisation_name(),
        "tab": current_tab(request, tabs),
        "tabs": tabs,
    }
