"""HR's list of every candidate across offers (editors and admins) and the referral bonuses
(admins): thin handlers over :mod:`app.candidates.overview` and :mod:`app.candidates.bonuses`."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from litestar import Response, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, URLEncodedBody

from app.accounts.guards import admin, editor
from app.candidates import bonuses, overview, pipeline
from app.candidates.applications import policy
from app.candidates.tables import BonusStatus
from app.core.clock import now
from app.core.forms import FormResult
from app.core.i18n import _
from app.web.pages import render, see_other
from app.web.requests import AnyRequest, client_of, time_zone_of

QUERY_FIELDS = (
    "stage",
    "offer",
    "referrer",
    "source",
    "since",
    "until",
    "duplicates",
    "person",
    "sort",
    "page",
)


async def _zone(request: AnyRequest) -> ZoneInfo:
    try:
        return ZoneInfo(await time_zone_of(request))
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


async def _filters(request: AnyRequest) -> tuple[FormResult, overview.Filters, dict[str, Any]]:
    offers = await bonuses.offers()
    referrers = await overview.referrers()
    data = {
        name: request.query_params.get(name, "")
        for name in QUERY_FIELDS
        if request.query_params.get(name) is not None
    }
    form, filters = overview.check_filters(data, offers, referrers)
    return form, filters, {"offers": offers, "referrers": referrers}


@get("/candidates", name="all_candidates", guards=[editor], opt={"tab": "pipeline"})
async def all_candidates(request: AnyRequest) -> Response[str]:
    """Every candidate across offers: filters swap the list in with htmx."""
    form, filters, choices = await _filters(request)
    rows, total = await overview.candidates(filters, await _zone(request))
    pages = max(1, -(-total // overview.PAGE))
    return await render(
        request,
        "candidates/overview/list.html",
        block="results" if request.htmx and request.htmx.target == "candidate-results" else "app",
        status_code=200 if form.ok else 422,
        candidates=rows,
        total=total,
        pages=pages,
        filters=filters,
        values=form.values,
        errors=form.errors,
        stages=pipeline.stage_names(),
        sources=overview.source_names(),
        sorts=overview.sort_names(),
        me=request.user.id,
        **choices,
    )


@get("/candidates/export.csv", name="all_candidates_csv", guards=[editor])
async def all_candidates_csv(request: AnyRequest) -> Response[str]:
    """The listed candidates (the same filters, every page) as CSV."""
    _form, filters, _choices = await _filters(request)
    rows = await overview.export_rows(filters, await _zone(request))
    return Response(
        overview.candidates_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="candidates.csv"',
            "Cache-Control": "private, no-store",
        },
    )


# --- Referral bonuses (admins) -----------------------------------------------------------


def _status_of(request: AnyRequest) -> tuple[str | None, str | None]:
    """The list's status filter ("" for all); a second value when it is refused."""
    status = request.query_params.get("status", BonusStatus.due.value)
    if status in ("", *bonuses.status_names()):
        return status or None, None
    return BonusStatus.due.value, _("Choose from the list.")


async def _bonus_page(
    request: AnyRequest,
    *,
    status_code: int = 200,
    settings_values: dict[str, Any] | None = None,
    settings_errors: dict[str, str] | None = None,
    offer_values: dict[str, Any] | None = None,
    offer_errors: dict[str, str] | None = None,
    block: str = "app",
    **extra: Any,
) -> Response[str]:
    status, status_error = _status_of(request)
    page_text = request.query_params.get("page", "1")
    page = (
        int(page_text) if page_text.isascii() and page_text.isdigit() and len(page_text) < 6 else 1
    )
    rows, total = await bonuses.bonuses(status, max(page, 1))
    return await render(
        request,
        "candidates/bonuses/list.html",
        block=block,
        status_code=422 if status_error and status_code == 200 else status_code,
        bonuses=rows,
        total=total,
        page=max(page, 1),
        pages=max(1, -(-total // bonuses.PAGE)),
        status=status or "",
        status_error=status_error,
        statuses=bonuses.status_names(),
        settings_values=settings_values or await policy(fresh=True),
        settings_errors=settings_errors or {},
        offer_values=offer_values or {},
        offer_errors=offer_errors or {},
        offers=await bonuses.offers(),
        offer_bonuses=await bonuses.offer_bonuses(),
        today=now().date(),
        me=request.user.id,
        **extra,
    )


@get("/admin/bonuses", name="bonuses", guards=[admin])
async def bonus_list(request: AnyRequest) -> Response[str]:
    fragment = request.htmx and request.htmx.target == "bonus-results"
    return await _bonus_page(request, block="results" if fragment else "app")


@post("/admin/bonuses/settings", status_code=200, name="bonus_settings", guards=[admin])
async def bonus_settings(
    request: AnyRequest, data: URLEncodedBody[dict[str, str]]
) -> Response[Any]:
    form = bonuses.check_settings(data)
    if not form.ok:
        return await _bonus_page(
            request, status_code=422, settings_values=form.values, settings_errors=form.errors
        )
    await bonuses.save_settings(form.values, request.user.id, client_of(request))
    return see_other(request, "/admin/bonuses?saved=1")


@post("/admin/bonuses/offers", status_code=200, name="offer_bonus", guards=[admin])
async def offer_bonus(request: AnyRequest, data: URLEncodedBody[dict[str, str]]) -> Response[Any]:
    form = bonuses.check_offer_bonus(data, await bonuses.offers())
    if not form.ok:
        return await _bonus_page(
            request, status_code=422, offer_values=form.values, offer_errors=form.errors
        )
    await bonuses.save_offer_bonus(form.values, request.user.id, client_of(request))
    return see_other(request, "/admin/bonuses?saved=1")


@post("/admin/bonuses/{bonus_id:int}/paid", status_code=200, name="bonus_paid", guards=[admin])
async def bonus_paid(request: AnyRequest, bonus_id: FromPath[int]) -> Response[Any]:
    """HR marks a bonus paid: never their own (another admin does)."""
    row = await bonuses.bonus(bonus_id)
    if row is None:
        raise NotFoundException()
    try:
        done = await bonuses.mark_paid(bonus_id, request.user.id, client_of(request))
    except bonuses.OwnBonus:
        raise PermissionDeniedException(
            _("Your own referral bonus: another admin marks it paid.")
        ) from None
    if done is None:
        return await _bonus_page(
            request,
            status_code=409,
            notice=_("This bonus is not to pay any more (paid or cancelled meanwhile)."),
        )
    return see_other(request, "/admin/bonuses?paid=1")


@get("/admin/bonuses/export.csv", name="bonuses_csv", guards=[admin])
async def bonuses_csv(request: AnyRequest) -> Response[str]:
    """Payroll's file: the bonuses of the chosen status (all by default)."""
    status = request.query_params.get("status", "")
    rows = await bonuses.all_bonuses(status if status in bonuses.status_names() else None)
    return Response(
        bonuses.bonuses_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="referral-bonuses.csv"',
            "Cache-Control": "private, no-store",
        },
    )


ROUTES = [
    all_candidates,
    all_candidates_csv,
    bonus_list,
    bonus_settings,
    offer_bonus,
    bonus_paid,
    bonuses_csv,
]
