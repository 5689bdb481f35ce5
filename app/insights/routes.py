"""/insights: what the programme produces, for editors and admins; "My impact" for everyone."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from litestar import Response, get, post
from litestar.params import URLEncodedBody
from markupsafe import Markup, escape

from app.accounts.guards import admin, editor, signed_in
from app.candidates import pipeline
from app.core.clock import now
from app.core.i18n import _, current_language
from app.insights import digest, export, service
from app.web.pages import render, render_html, see_other
from app.web.requests import AnyRequest

TAB = {"tab": "insights"}


async def read_query(request: AnyRequest, viewer: service.Viewer) -> dict[str, Any]:
    """The period and the filters asked for, each unknown one replaced by its default with a
    sentence saying so."""
    params = request.query_params
    period, problem = service.parse_period(
        params.get("period"), params.get("from"), params.get("to"), viewer.today(now())
    )
    filters, problems = await service.parse_filters(
        {name: params.get(name) for name in ("team", "site", "item")}, viewer.generation
    )
    return {
        "period": period,
        "filters": filters,
        "problems": [p for p in (problem, *problems) if p],
        "custom_from": params.get("from") or period.first,
        "custom_to": params.get("to") or period.last,
    }


@lru_cache(maxsize=8)
def _options(rows: tuple[tuple[int, str], ...]) -> str:
    """The options of one filter, escaped once for as long as the rows stay the same: 250
    teams and 300 items drawn by the template were most of a page's fixed cost."""
    return "".join(f'<option value="{row_id}">{escape(name)}</option>' for row_id, name in rows)


def _selected(options: str, chosen: int | None) -> Markup:
    if chosen is None:
        return Markup(options)  # noqa: S704 (built from escaped names and our ids only)
    mark = f'<option value="{chosen}">'
    return Markup(options.replace(mark, f'<option value="{chosen}" selected>', 1))  # noqa: S704


async def choices(filters: service.Filters, generation: str) -> dict[str, Any]:
    """What the filters offer, as the selects' options (kept until the next round)."""
    found = await service.filter_choices(generation)
    return {
        "team_options": _selected(_options(found["team"]), filters.team),
        "site_options": _selected(_options(found["site"]), filters.site),
        "item_options": _selected(_options(found["item"]), filters.item),
    }


def kept_html(request: AnyRequest, template: str, **context: Any) -> Markup:
    """A part of a page drawn once and kept with the figures it shows (see the callers'
    keys: everything it depends on is in them)."""
    html = render_html(request, template, None, **context)
    return Markup(html)  # noqa: S704 (a template of ours, autoescaped)


def query_string(period: service.Period, filters: service.Filters, **more: str) -> str:
    """The page's query, to build the links that change one thing and keep the rest."""
    parts = {"period": period.key, **{k: str(v) for k, v in filters.query().items()}}
    if period.key == "custom":
        parts |= {"from": period.first, "to": period.last}
    parts |= more
    return "&".join(f"{k}={v}" for k, v in parts.items() if v)


@get("/insights", name="insights", guards=[editor], opt=TAB)
async def overview(request: AnyRequest) -> Response[str]:
    """The overview: each figure against the previous period, the funnel and the trends.
    The figures' part of the page is drawn once per round of the periodic job, language,
    period, filters and role (the viewer's own parts, the filters and the digest, on each
    request)."""
    viewer = await service.viewer(request.user.id)
    asked = await read_query(request, viewer)
    period, filters = asked["period"], asked["filters"]
    is_admin = request.user.role == "admin"

    async def draw() -> Markup:
        current, before = await service.compared(period, filters, viewer.generation)
        changes = {
            name: service.change(value, before.figures.get(name))
            for name, value in current.figures.items()
            if isinstance(value, int | float) or value is None
        }
        return kept_html(
            request,
            "insights/_overview_figures.html",
            overview=current,
            previous=before,
            changes=changes,
            funnel=[
                (key, name, current.figures[key]) for key, name in service.funnel_names().items()
            ],
            trends=await service.trends(period, filters, viewer.generation),
            trend_names=service.trend_names(),
            network_names=service.network_names(),
            stage_names=pipeline.stage_names(),
        )

    figures = await service.kept(
        ("overview page", current_language.get(), period, filters, is_admin),
        draw,
        viewer.generation,
    )
    return await render(
        request,
        "insights/overview.html",
        **asked,
        **await choices(filters, viewer.generation),
        periods=service.period_names(),
        figures=figures,
        query=query_string(period, filters),
        filter_query="&".join(f"{k}={v}" for k, v in filters.query().items()),
        digest=viewer.digest,
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
    """One table at a time (team, site, item, network, member), sortable by each column.
    Its rows' figures are kept until the next round, their names looked up on each request
    (a member's choice not to be named shows at once); the table is drawn again only when
    the figures or the names changed."""
    viewer = await service.viewer(request.user.id)
    asked = await read_query(request, viewer)
    period, filters = asked["period"], asked["filters"]
    by, sort, descending = read_sort(request)
    is_admin = request.user.role == "admin"
    found = await service.breakdown_page(
        by, period, filters, is_admin, sort, descending, generation=viewer.generation
    )
    query = query_string(period, filters)
    rows = found[0] if found is not None else None
    table_key = (
        "breakdown table",
        current_language.get(),
        by,
        query,
        sort,
        descending,
        None if rows is None else tuple((r["key"], r["name"]) for r in rows),
    )

    async def draw() -> Markup:
        return kept_html(
            request,
            "insights/_breakdown_table.html",
            breakdowns=service.breakdown_names(),
            columns=service.column_names(),
            heads={"name": _("Name"), **service.column_names()},
            by=by,
            sort=sort,
            descending=descending,
            rows=rows,
            total_rows=found[1] if found is not None else 0,
            query=query,
        )

    return await render(
        request,
        "insights/breakdowns.html",
        **asked,
        **await choices(filters, viewer.generation),
        periods=service.period_names(),
        breakdowns=service.breakdown_names(),
        by=by,
        table=await service.kept(table_key, draw, viewer.generation),
        query=query,
        filter_query="&".join(f"{k}={v}" for k, v in filters.query().items()),
        extra_query=f"by={by}&sort={sort}&dir={'desc' if descending else 'asc'}",
    )


@get("/me/impact", name="my_impact", guards=[signed_in])
async def my_impact(request: AnyRequest) -> Response[str]:
    """Every member's own figures: this period and all time, their best item, one sentence.
    Nothing about anyone else. Kept until the next round, as the other pages' figures."""
    member = request.user
    viewer = await service.viewer(member.id)
    key = request.query_params.get("period")
    key = key if key in ("week", "4weeks", "quarter", "year") else "quarter"
    period, _problem = service.parse_period(key, None, None, viewer.today(now()))
    names = service.period_names()

    async def read() -> tuple[Any, Any, Any]:
        return (
            await service.member_totals(member.id, period),
            await service.member_totals(member.id, None),
            await service.best_item(member.id),
        )

    mine, all_time, best = await service.kept(
        ("impact", member.id, period), read, viewer.generation
    )
    return await render(
        request,
        "insights/impact.html",
        periods={k: v for k, v in names.items() if k != "custom"},
        period=period,
        mine=mine,
        all_time=all_time,
        best=best,
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
    viewer = await service.viewer(request.user.id)
    asked = await read_query(request, viewer)
    table = str(request.query_params.get("table", ""))
    table = table if table in export.TABLES else "overview"
    body = await export.csv_of(
        table, asked["period"], asked["filters"], request.user.role == "admin", viewer.generation
    )
    name = export.file_name(asked["period"], asked["filters"], "csv", table)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@get("/insights/export.xlsx", name="insights_xlsx", guards=[editor])
async def export_xlsx(request: AnyRequest) -> Response[bytes]:
    """Every table in one workbook, one sheet each."""
    viewer = await service.viewer(request.user.id)
    asked = await read_query(request, viewer)
    body = await export.workbook(
        asked["period"], asked["filters"], request.user.role == "admin", viewer.generation
    )
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
