"""/insights: what the programme produces, for editors and admins; "My impact" for everyone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Response, get, post
from litestar.params import URLEncodedBody

from app.accounts.guards import admin, editor, signed_in
from app.candidates import pipeline
from app.content.tables import ContentItem
from app.core.clock import now
from app.core.i18n import _
from app.insights import digest, export, service
from app.notifications.preferences import preferences_of
from app.org.tables import Site, Team
from app.web.pages import render, see_other
from app.web.requests import AnyRequest

TAB = {"tab": "insights"}


async def viewer_today(member_id: int, at: datetime | None = None) -> Any:
    """Today in the viewer's time zone (their notification preferences)."""
    zone = (await preferences_of(member_id)).zone
    return (at or now()).astimezone(zone).date()


async def read_query(request: AnyRequest) -> dict[str, Any]:
    """The period and the filters asked for, each unknown one replaced by its default with a
    sentence saying so."""
    params = request.query_params
    today = await viewer_today(request.user.id)
    period, problem = service.parse_period(
        params.get("period"), params.get("from"), params.get("to"), today
    )
    filters, problems = await service.parse_filters(
        {name: params.get(name) for name in ("team", "site", "item")}
    )
    return {
        "period": period,
        "filters": filters,
        "problems": [p for p in (problem, *problems) if p],
        "custom_from": params.get("from") or period.first,
        "custom_to": params.get("to") or period.last,
    }


async def choices() -> dict[str, Any]:
    """What the filters offer: every team, site and item (newest first, a few hundred)."""
    return {
        "teams": await Team.select(Team.id, Team.name).order_by(Team.name),
        "sites": await Site.select(Site.id, Site.name).order_by(Site.name),
        "items": await ContentItem.select(ContentItem.id, ContentItem.title)
        .order_by(ContentItem.id, ascending=False)
        .limit(300),
    }


def query_string(period: service.Period, filters: service.Filters, **more: str) -> str:
    """The page's query, to build the links that change one thing and keep the rest."""
    parts = {"period": period.key, **{k: str(v) for k, v in filters.query().items()}}
    if period.key == "custom":
        parts |= {"from": period.first, "to": period.last}
    parts |= more
    return "&".join(f"{k}={v}" for k, v in parts.items() if v)


@get("/insights", name="insights", guards=[editor], opt=TAB)
async def overview(request: AnyRequest) -> Response[str]:
    """The overview: each figure against the previous period, the funnel and the trends."""
    asked = await read_query(request)
    period, filters = asked["period"], asked["filters"]
    current = await service.figures(period, filters)
    before = await service.figures(period.previous(), filters)
    changes = {
        name: service.change(value, before.figures.get(name))
        for name, value in current.figures.items()
        if isinstance(value, int | float) or value is None
    }
    return await render(
        request,
        "insights/overview.html",
        **asked,
        **await choices(),
        periods=service.period_names(),
        overview=current,
        previous=before,
        changes=changes,
        funnel=[(key, name, current.figures[key]) for key, name in service.funnel_names().items()],
        trends=await service.trends(period, filters),
        trend_names=service.trend_names(),
        network_names=service.network_names(),
        stage_names=pipeline.stage_names(),
        query=query_string(period, filters),
        filter_query="&".join(f"{k}={v}" for k, v in filters.query().items()),
        digest=await digest.wants_digest(request.user.id),
    )


@post("/insights/digest", status_code=200, name="insights_digest", guards=[editor], opt=TAB)
async def set_digest(request: AnyRequest, data: URLEncodedBody[dict[str, str]]) -> Response[Any]:
    """The overview's switch: the week's overview by email on Monday morning, or not."""
    wanted = (data if isinstance(data, dict) else {}).get("digest", "") == "on"
    await digest.set_digest(request.user.id, wanted)
    if not request.htmx:
        return see_other(request, "/insights")
    return await render(
        request, "insights/_digest.html", block="digest", digest=wanted, digest_saved=True
    )


def read_sort(request: AnyRequest) -> tuple[str, str, bool]:
    """The breakdown asked for, its sort column and direction (unknown ones: the defaults)."""
    params = request.query_params
    by = str(params.get("by", ""))
    sort = str(params.get("sort", ""))
    by = by if by in service.BREAKDOWNS else "item"
    sort = sort if sort in (*service.COLUMNS, "name") else "shares"
    return by, sort, params.get("dir") != "asc"


@get("/insights/breakdowns", name="insight_breakdowns", guards=[editor], opt=TAB)
async def breakdowns(request: AnyRequest) -> Response[str]:
    """One table at a time (team, site, item, network, member), sortable by each column."""
    asked = await read_query(request)
    period, filters = asked["period"], asked["filters"]
    by, sort, descending = read_sort(request)
    found = await service.breakdown_page(
        by, period, filters, request.user.role == "admin", sort, descending
    )
    return await render(
        request,
        "insights/breakdowns.html",
        **asked,
        **await choices(),
        periods=service.period_names(),
        breakdowns=service.breakdown_names(),
        columns=service.column_names(),
        heads={"name": _("Name"), **service.column_names()},
        by=by,
        sort=sort,
        descending=descending,
        rows=found[0] if found is not None else None,
        total_rows=found[1] if found is not None else 0,
        query=query_string(period, filters),
        filter_query="&".join(f"{k}={v}" for k, v in filters.query().items()),
        extra_query=f"by={by}&sort={sort}&dir={'desc' if descending else 'asc'}",
    )


@get("/me/impact", name="my_impact", guards=[signed_in])
async def my_impact(request: AnyRequest) -> Response[str]:
    """Every member's own figures: this period and all time, their best item, one sentence.
    Nothing about anyone else."""
    member = request.user
    today = await viewer_today(member.id)
    key = request.query_params.get("period")
    key = key if key in ("week", "4weeks", "quarter", "year") else "quarter"
    period, _problem = service.parse_period(key, None, None, today)
    names = service.period_names()
    mine = await service.member_totals(member.id, period)
    return await render(
        request,
        "insights/impact.html",
        periods={k: v for k, v in names.items() if k != "custom"},
        period=period,
        mine=mine,
        all_time=await service.member_totals(member.id, None),
        best=await service.best_item(member.id),
        sentence=service.impact_sentence(mine, names[period.key]),
    )


def money_text(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@get("/insights/settings", name="insight_settings", guards=[admin], opt=TAB)
async def value_settings(request: AnyRequest) -> Response[str]:
    row = await service.value_settings()
    values = {
        "cost_per_click": money_text(row["cost_per_click"]),
        "cost_per_hire": money_text(row["cost_per_hire"]),
        "currency": row["currency"],
    }
    return await render(request, "insights/settings.html", values=values, errors={}, query="")


@post("/insights/settings", status_code=200, name="save_insight_settings", guards=[admin], opt=TAB)
async def save_value_settings(
    request: AnyRequest, data: URLEncodedBody[dict[str, str]]
) -> Response[str]:
    form = data if isinstance(data, dict) else {}
    result = service.check_value_settings(form)
    errors = result.errors
    if result.ok:
        values = result.values
        await service.save_value_settings(
            values["cost_per_click"], values["cost_per_hire"], values["currency"]
        )
    shown = {k: str(form.get(k, ""))[:40] for k in ("cost_per_click", "cost_per_hire", "currency")}
    return await render(
        request,
        "insights/settings.html",
        status_code=422 if errors else 200,
        values=shown,
        errors=errors,
        saved=not errors,
        query="",
    )


@get("/insights/export.csv", name="insights_csv", guards=[editor])
async def export_csv(request: AnyRequest) -> Response[str]:
    """One table (``table=``: overview, funnel, trends or a breakdown; unknown: overview)."""
    asked = await read_query(request)
    table = str(request.query_params.get("table", ""))
    table = table if table in export.TABLES else "overview"
    rows = await export.rows_of(
        table, asked["period"], asked["filters"], request.user.role == "admin"
    )
    name = export.file_name(asked["period"], asked["filters"], "csv", table)
    return Response(
        export.as_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@get("/insights/export.xlsx", name="insights_xlsx", guards=[editor])
async def export_xlsx(request: AnyRequest) -> Response[bytes]:
    """Every table in one workbook, one sheet each."""
    asked = await read_query(request)
    body = await export.workbook(asked["period"], asked["filters"], request.user.role == "admin")
    name = export.file_name(asked["period"], asked["filters"], "xlsx")
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


ROUTES = [
    overview,
    breakdowns,
    my_impact,
    value_settings,
    save_value_settings,
    export_csv,
    export_xlsx,
    set_digest,
]
