"""The insights tables as CSV (one table) and as an XLSX workbook (one sheet per table).

Every text cell goes through :func:`app.candidates.pipeline.safe_cell`, as the candidates'
export does: a name or a title that starts like a formula is written as text, never run.
File names are built from the validated period and filters only.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from app.candidates.pipeline import safe_cell
from app.core.i18n import _
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
    table: str, period: Period, filters: Filters, viewer_is_admin: bool
) -> list[list[Any]]:
    """One table as rows, its header first."""
    if table == "overview":
        now, before = await service.compared(period, filters)
        rows: list[list[Any]] = [
            [_("Figure"), period.first + " – " + period.last, _("Previous period")]
        ]
        for key, label in overview_labels().items():
            rows.append([label, _number(now.figures.get(key)), _number(before.figures.get(key))])
        return rows
    if table == "funnel":
        figures = (await service.figures(period, filters)).figures
        return [
            [_("Step"), _("Count")],
            *([name, figures[key]] for key, name in service.funnel_names().items()),
        ]
    if table == "trends":
        trends = await service.trends(period, filters)
        names = service.trend_names()
        return [
            [_("Week of") if trends["weekly"] else _("Day"), *names.values()],
            *([p["start"].isoformat(), *(p[k] for k in names)] for p in trends["points"]),
        ]
    found = await service.breakdown(table, period, filters, viewer_is_admin)
    columns = service.column_names()
    header = [_("Name"), *columns.values(), _("Recommendations accepted")]
    if found is None:
        return [header]
    assert tuple(columns) == service.COLUMNS
    # Written out cell by cell (a member breakdown has a row per member: 50,000 rows at full
    # size, where a function call per cell was most of the workbook's time).
    return [
        header,
        *(
            [
                safe_cell(str(r["name"])),
                r["shares"],
                r["clicks"],
                "" if r["clicks_per_share"] is None else round(r["clicks_per_share"], 4),
                r["applications"],
                r["interviews"],
                r["hires"],
                r["recommendations"],
            ]
            for r in found
        ),
    ]


def as_csv(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([safe_cell(v) if isinstance(v, str) else v for v in row])
    return out.getvalue()


async def workbook(period: Period, filters: Filters, viewer_is_admin: bool) -> bytes:
    """Every table, one sheet each (app.insights.xlsx: written as it goes)."""
    names = table_names()
    sheets = []
    for table in TABLES:
        rows = await rows_of(table, period, filters, viewer_is_admin)
        sheets.append(
            (
                names[table],
                ([safe_cell(v) if isinstance(v, str) else v for v in row] for row in rows),
            )
        )
    return xlsx.workbook(sheets)
