"""The insights tables as CSV (one table) and as an XLSX workbook (one sheet per table).

Every text cell goes through :func:`app.candidates.pipeline.safe_cell`, as the candidates'
export does: a name or a title that starts like a formula is written as text, never run.
File names are built from the validated period and filters only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from app.candidates.pipeline import safe_cell
from app.core.i18n import _, current_language
from app.insights import service, xlsx
from app.insights.service import Filters, Period

TABLES = ("overview", "funnel", "trends", *service.BREAKDOWNS)


def table_names() -> dict[str, str]:
    return {
        "overview": _("Overview"),
        "funnel": _("Funnel"),
        "trends": _("Trends"),
        **service.breakdown_names(),
    }


def file_name(period: Period, filters: Filters, extension: str, table: str = "") -> str:
    """insights[-table]-2026-11-03_2026-11-30[-team-2-site-1].ext: only validated values."""
    parts = ["insights", *([table] if table else []), f"{period.first}_{period.last}"]
    if filters.query():
        parts.append(filters.label())
    return "-".join(parts) + "." + extension


def overview_labels() -> dict[str, str]:
    return {
        "invited": _("Members invited"),
        "enrolled": _("Members enrolled"),
        "active": _("Active ambassadors"),
        "participation": _("Participation rate"),
        "shares": _("Shares"),
        "clicks": _("Genuine clicks"),
        "clicks_per_share": _("Clicks per share"),
        "applications": _("Applications"),
        "all_applications": _("All applications"),
        "recommendations": _("Recommendations accepted"),
        "interviews": _("Interviews"),
        "hires": _("Hires"),
        "referred_candidates": _("Referred candidates"),
        "referral_to_hire": _("Referral-to-hire rate"),
        "median_days_to_hire": _("Median time to hire (days)"),
        "value": _("Estimated value (cents)"),
        "campaigns_sent": _("Campaigns sent"),
        "campaigns_opened": _("Notifications opened"),
        "campaign_shares": _("Shares they led to"),
    }


def _number(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    return "" if value is None else value


async def rows_of(
    table: str,
    period: Period,
    filters: Filters,
    viewer_is_admin: bool,
    generation: str | None = None,
) -> list[list[Any]]:
    """One table as rows, its header first."""
    if table == "overview":
        now, before = await service.compared(period, filters, generation)
        rows: list[list[Any]] = [
            [_("Figure"), period.first + " – " + period.last, _("Previous period")]
        ]
        for key, label in overview_labels().items():
            rows.append([label, _number(now.figures.get(key)), _number(before.figures.get(key))])
        return rows
    if table == "funnel":
        figures = (await service.compared(period, filters, generation))[0].figures
        return [
            [_("Step"), _("Count")],
            *([name, figures[key]] for key, name in service.funnel_names().items()),
        ]
    if table == "trends":
        trends = await service.trends(period, filters, generation)
        names = service.trend_names()
        return [
            [_("Week of") if trends["weekly"] else _("Day"), *names.values()],
            *([p["start"].isoformat(), *(p[k] for k in names)] for p in trends["points"]),
        ]
    found = await service.breakdown_rows(table, period, filters, viewer_is_admin, generation)
    return [breakdown_header(), *breakdown_cells(found or [])]


def breakdown_header() -> list[Any]:
    assert tuple(service.column_names()) == service.COLUMNS
    return [_("Name"), *service.column_names().values(), _("Recommendations accepted")]


def breakdown_cells(found: list[tuple[str, tuple[int, ...]]]) -> Iterable[list[Any]]:
    """A breakdown's rows as cells: written out cell by cell (a member breakdown has a row
    per member, 50,000 at full size, where a function call per cell was most of the
    workbook's time)."""
    assert service.BREAKDOWN_FIGURES == (
        "shares", "clicks", "applications", "interviews", "hires", "recommendations",
    )  # fmt: skip
    for name, (shares, clicks, applications, interviews, hires, recommended) in found:
        yield [
            safe_cell(name),
            shares,
            clicks,
            round(clicks / shares, 4) if shares else "",
            applications,
            interviews,
            hires,
            recommended,
        ]


def as_csv(rows: Iterable[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([safe_cell(v) if isinstance(v, str) else v for v in row])
    return out.getvalue()


async def csv_of(
    table: str,
    period: Period,
    filters: Filters,
    viewer_is_admin: bool,
    generation: str | None = None,
) -> str:
    """One table as CSV, kept as written until the next round (a breakdown's, until one of
    its rows' names changes too: names are read on each download)."""
    language = current_language.get()
    if table not in service.BREAKDOWNS:

        async def write() -> str:
            return as_csv(await rows_of(table, period, filters, viewer_is_admin, generation))

        return await service.kept(("csv", table, language, period, filters), write, generation)
    found = await service.breakdown_rows(table, period, filters, viewer_is_admin, generation)

    async def write_rows() -> str:
        return as_csv([breakdown_header(), *breakdown_cells(found or [])])

    key = ("csv", table, language, period, filters, _names_key(found))
    return await service.kept(key, write_rows, generation)


def _names_key(found: list[tuple[str, tuple[int, ...]]] | None) -> Any:
    """What a written breakdown depends on besides the round: its rows' names, in order
    (the figures are the round's; a name, or a member's choice not to be named, may change
    at any moment). None: no such breakdown."""
    return None if found is None else hash(tuple(name for name, _figures in found))


async def workbook(
    period: Period, filters: Filters, viewer_is_admin: bool, generation: str | None = None
) -> bytes:
    """Every table, one sheet each (app.insights.xlsx: written as it goes). A breakdown's
    sheet is kept, written, until the next round or until one of its rows' names changes
    (the member sheet is 50,000 rows at full size)."""
    names = table_names()
    sheets: list[tuple[str, Any]] = []
    for table in TABLES:
        if table not in service.BREAKDOWNS:
            rows = await rows_of(table, period, filters, viewer_is_admin, generation)
            sheets.append(
                (
                    names[table],
                    ([safe_cell(v) if isinstance(v, str) else v for v in row] for row in rows),
                )
            )
            continue
        found = await service.breakdown_rows(table, period, filters, viewer_is_admin, generation)
        key = (
            "sheet",
            table,
            current_language.get(),
            period,
            filters,
            _names_key(found),
        )
        sheets.append((names[table], await service.kept(key, _written(found), generation)))
    return xlsx.workbook(sheets)


def _written(found: list[tuple[str, tuple[int, ...]]] | None) -> Any:
    async def write() -> bytes:
        # The header is ours; each row's only text, its name, went through safe_cell.
        return xlsx.sheet_data([breakdown_header(), *breakdown_cells(found or [])])

    return write
