"""The leaderboard, the wall of fame, and a member's choice not to appear on them by name."""

from __future__ import annotations

import re
from typing import Any

from babel.dates import format_date
from litestar import Response, get, post
from litestar.params import FromQuery, URLEncodedBody

from app.accounts.guards import signed_in
from app.accounts.tables import Member
from app.boards import service
from app.boards.service import Scope
from app.core.clock import now
from app.core.i18n import _, current_language
from app.org.tables import Site, Team
from app.points import ledger
from app.web.pages import environment, render, see_other
from app.web.requests import AnyRequest
from app.web.templating import KeptRows

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _board_row_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """Everything of a board row that ``boards/_row.html`` prints."""
    badges = tuple((b["badge"], b["name"]) for b in row["badges"])
    return (
        row["member"], row["rank"], row["points"], row["name"], row["anonymous"],
        row["photo"], row["level"], badges, row.get("you", False), row.get("outside", False),
    )  # fmt: skip


BOARD_ROWS = KeptRows("boards/_row.html", _board_row_key)


def period_names() -> dict[str, str]:
    return {"week": _("This week"), "month": _("This month"), "all": _("All time")}


def scope_names() -> dict[str, str]:
    return {
        "everyone": _("Everyone"),
        "team": _("My team"),
        "site": _("My site"),
        "teams": _("Teams"),
    }


async def _group_name(member: Member, scope: str) -> str | None:
    """The name of the viewer's team or site, for the board's heading."""
    table: type[Team] | type[Site] = Team if scope == "team" else Site
    group = member.team if scope == "team" else member.site
    if group is None:
        return None
    row = await table.select(table.name).where(table.id == group).first()
    return str(row["name"]) if row else None


@get("/leaderboard", name="leaderboard", guards=[signed_in], opt={"tab": "points"})
async def leaderboard(
    request: AnyRequest,
    period: FromQuery[str | None] = None,
    by: FromQuery[str | None] = None,
) -> Response[str]:
    """Filters are plain links (htmx swaps the page and pushes the URL); unknown values
    fall back to the defaults rather than failing."""
    member = request.user
    # Read by hand: Litestar reserves the parameter name "scope" for the ASGI scope.
    scope = request.query_params.get("scope")
    period = period if period in service.PERIODS else "week"
    scope = scope if scope in (*service.SCOPES, "teams") else "everyone"
    by = by if by == "average" else "total"
    key = service.period_key(period)
    context: dict[str, Any] = {
        "period": period,
        "scope": scope,
        "by": by,
        "periods": period_names(),
        "scopes": scope_names(),
        "rows": [],
        "rows_html": "",
        "me_row": None,
        "teams": [],
        "group_name": None,
    }
    if scope == "teams":
        rankings: service.TeamRankings = request.app.state.team_rankings
        teams = await rankings.get(key, by)
        shown = teams[: service.TOP]
        mine = next((t for t in teams[service.TOP :] if t["id"] == member.team), None)
        if mine is not None:  # the viewer's team, below the top
            shown.append({**mine, "outside": True})
        context["teams"] = shown
    else:
        group = {"everyone": None, "team": member.team, "site": member.site}[scope]
        board_scope = Scope(scope, group)
        if scope != "everyone":
            context["group_name"] = await _group_name(member, scope)
        if scope == "everyone" or group is not None:
            rows = await service.board(key, board_scope)
            me_row = next((r for r in rows if r["member"] == member.id), None)
            if me_row is None:
                mine = await service.rank_of(member.id, key, board_scope)
                if mine is not None:
                    me_row = {
                        "member": member.id,
                        **mine,
                        "lifetime": await ledger.earned(member.id),
                        "name": member.name,
                        "anonymous": False,
                        "photo": member.photo,
                        "outside": True,
                    }
                    rows.append(me_row)
            rows = await service.decorate(rows)
            for row in rows:
                row["you"] = row["member"] == member.id
            context["rows"] = rows
            context["rows_html"] = BOARD_ROWS.render(environment(request), rows)
            context["me_row"] = me_row
    return await render(
        request,
        "boards/leaderboard.html",
        **context,
    )


@post("/me/leaderboard", status_code=200, name="set_leaderboard_name", guards=[signed_in])
async def set_leaderboard_name(
    request: AnyRequest, data: URLEncodedBody[dict[str, str]]
) -> Response[Any]:
    """The switch on the Me page: appear by name, or as an anonymous ambassador."""
    member = request.user
    anonymous = (data if isinstance(data, dict) else {}).get("anonymous", "") == "on"
    await service.set_anonymous(member.id, anonymous)
    if not request.htmx:
        return see_other(request, "/me")
    return await render(
        request,
        "boards/_name_choice.html",
        block="name_choice",
        leaderboard_anonymous=anonymous,
        name_choice_saved=True,
    )


@get("/wall-of-fame", name="wall_of_fame", guards=[signed_in], opt={"tab": "points"})
async def wall_of_fame(
    request: AnyRequest,
    month: FromQuery[str | None] = None,
    screen: FromQuery[str | None] = None,
) -> Response[str]:
    """The month's top ambassadors, referred hires who agreed to appear, the most shared
    content; for a phone or a screen in the lobby. Months after this one are not shown.

    ``?screen=tv`` is the lobby version: this month, no navigation, and it reloads itself
    every few minutes (and so moves on to the next month by itself)."""
    current = ledger.month_of(now())
    tv = screen == "tv"
    if tv or month is None or not MONTH.match(month) or month > current:
        month = current
    start, _end = service.month_bounds(month)
    lobby: dict[str, Any] = {"tab": None} if tv else {}  # the lobby's screen: no tab bar
    return await render(
        request,
        "boards/wall_of_fame.html",
        **lobby,
        tv=tv,
        month=month,
        month_name=format_date(start, "LLLL y", locale=current_language.get()),
        previous_month=service.shift_month(month, -1),
        next_month=service.shift_month(month, 1) if month < current else None,
        **await service.wall_of_fame(month, request.app.state.most_shared),
    )


ROUTES = [leaderboard, set_leaderboard_name, wall_of_fame]
