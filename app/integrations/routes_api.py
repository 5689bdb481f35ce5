"""`/api/v1/`: the JSON API an applicant tracking system calls, described by the OpenAPI
schema at `/api/v1/schema` (only these routes are in it).

Only an integration token of kind ``api`` opens it (``Authorization: Bearer …``), each route
needing one scope: ``offers:write``, ``candidates:read`` or ``candidates:write``. A SCIM token
or a session cookie opens nothing here, and an API token nothing elsewhere. No CSRF token:
nothing here reads cookies. Every refusal is a problem document (RFC 9457,
``application/problem+json``): 400 (unreadable), 401, 403 (scope), 404, 409 (an offer that
may not be published yet), 422 (fields at fault, in ``errors``), 429; never a 500 for input.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, Router, get, put
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Server
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

from app.accounts.guards import anyone
from app.candidates import cvs
from app.candidates.pipeline import STAGES
from app.core import db
from app.core.settings import Settings
from app.core.validation import MAX_ID
from app.integrations import api, tokens
from app.web import ratelimit
from app.web.requests import AnyRequest, client_of, limiter_of, settings_of

log = logging.getLogger("relay")
PROBLEM = "application/problem+json"

Contract = Literal["permanent", "fixed_term", "internship", "apprenticeship", "freelance"]
Remote = Literal["on_site", "hybrid", "remote"]
StageName = Literal["new", "contacted", "interview", "offer", "hired", "not_selected"]
assert set(StageName.__args__) == set(STAGES)  # type: ignore[attr-defined]
Salary = Annotated[int, msgspec.Meta(ge=0, le=9_999_999)]
ExternalId = Annotated[
    str,
    PathParameter(
        description="The offer's id in the ATS: letters, digits and . _ : - (at most 100).",
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$",
    ),
]
CandidateId = Annotated[int, PathParameter(ge=1, le=MAX_ID)]


# --- Documents ---------------------------------------------------------------------------------


class Problem(msgspec.Struct):
    """What went wrong (RFC 9457); ``errors`` names the fields at fault, for a 422."""

    status: int
    title: str
    detail: str
    errors: dict[str, str] = msgspec.field(default_factory=dict)


class OfferIn(msgspec.Struct):
    """A job offer as the ATS sends it. ``location`` is one of Relay's sites (by name);
    ``status`` open publishes it (once the privacy notice exists), closed keeps it visible
    but closed to new candidates."""

    title: Annotated[str, msgspec.Meta(min_length=1, max_length=160)]
    description: Annotated[str, msgspec.Meta(max_length=20_000)] = ""
    location: Annotated[str, msgspec.Meta(max_length=80)] | None = None
    contract: Contract | None = None
    remote: Remote | None = None
    salary_min: Salary | None = None
    salary_max: Salary | None = None
    apply_url: Annotated[str, msgspec.Meta(max_length=500)] = ""
    language: Literal["en", "fr"] = "en"
    status: Literal["open", "closed"] = "open"


class Offer(msgspec.Struct):
    external_id: str
    id: int
    title: str
    description: str
    location: str | None
    contract: str | None
    remote: str | None
    salary_min: int | None
    salary_max: int | None
    apply_url: str
    language: str
    status: Literal["draft", "open", "closed"]
    published: bool
    updated_at: str | None


class OfferRef(msgspec.Struct):
    id: int
    external_id: str | None
    title: str


class Referrer(msgspec.Struct):
    name: str
    email: str


class CV(msgspec.Struct):
    """The CV, by a signed link that works for 10 minutes, without the token."""

    name: str
    type: str
    url: str
    expires_at: str


class Candidate(msgspec.Struct):
    id: int
    source: Literal["application", "recommendation", "event_interest"]
    offer: OfferRef
    name: str
    email: str
    phone: str
    linkedin: str
    message: str
    stage: StageName
    referrer: Referrer | None
    cv: CV | None
    created_at: str | None
    updated_at: str | None
    hired_at: str | None


class CandidatePage(msgspec.Struct):
    """Candidates who consented, oldest first; ``next_after`` is the next page's ``after``."""

    data: list[Candidate]
    next_after: int | None


class StageIn(msgspec.Struct):
    stage: StageName


def _problems(*statuses: int) -> dict[int, ResponseSpec]:
    descriptions = {
        400: "The request could not be read",
        401: "No valid API token",
        403: "The token lacks the scope",
        404: "Not found",
        409: "The offer may not be published yet, or was saved at the same time",
        422: "Some fields are not valid",
        429: "Too many requests",
    }
    return {
        status: ResponseSpec(
            data_container=Problem, description=descriptions[status], media_type=PROBLEM
        )
        for status in (400, 401, 429, *statuses)
    }


# --- Errors and who may call ------------------------------------------------------------------


def _problem(
    status: int,
    detail: str,
    errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    titles = {
        400: "Bad request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        409: "Conflict",
        422: "Unprocessable content",
        429: "Too many requests",
        503: "Service unavailable",
    }
    body = {"status": status, "title": titles.get(status, "Error"), "detail": detail}
    body["errors"] = errors or {}
    return Response(
        json.dumps(body, ensure_ascii=False).encode(),
        status_code=status,
        media_type=PROBLEM,
        headers=headers,
    )


def api_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Every exception under /api/v1 as a problem document."""
    if isinstance(exc, api.ApiProblem):
        return _problem(exc.status, exc.detail, exc.errors, exc.headers)
    if isinstance(exc, ratelimit.TooManyAttempts):
        return _problem(429, "Too many requests.", headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, ValidationException):
        errors = {}
        for item in exc.extra if isinstance(exc.extra, list) else []:
            if isinstance(item, dict):
                errors[str(item.get("key") or item.get("source") or "body")] = str(
                    item.get("message", "")
                )[:300]
        return _problem(400, "The request could not be read: " + str(exc.detail)[:300], errors)
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        status = exc.status_code if exc.status_code in (401, 403, 404, 405, 429) else 400
        return _problem(status, str(exc.detail)[:300])
    if isinstance(exc, db.UNIQUE_VIOLATIONS):
        # Two requests creating the same offer at once: the loser is told as if it came second.
        return _problem(409, "Another request saved this offer at the same time; send it again.")
    if db.is_unavailable(exc):
        log.warning("API %s %s: database unavailable: %r", request.method, request.url.path, exc)
        return _problem(
            503,
            "Relay's database is unavailable; try again shortly.",
            headers={"Retry-After": "30"},
        )
    log.exception("API %s %s failed", request.method, request.url.path, exc_info=exc)
    return _problem(500, "Relay could not do this; it has been logged.")


async def api_token(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard: a live API token (never a session, never a SCIM token); the caller goes into
    the state. Every API route declares it first, then the scope it needs."""
    request: AnyRequest = connection  # type: ignore[assignment]
    limiter = limiter_of(request)
    token = tokens.bearer_of(connection.headers.get("authorization"))
    caller = await tokens.authenticate(token, tokens.API) if token else None
    if caller is None:
        if token:  # a token that opens nothing: someone guessing, or an old one
            await limiter.hit(ratelimit.API_REFUSED_PER_CLIENT, client_of(request))
        raise api.ApiProblem(
            401,
            "An API token is required: Authorization: Bearer <token>.",
            headers={"WWW-Authenticate": 'Bearer realm="Relay API"'},
        )
    await limiter.hit(ratelimit.API_PER_TOKEN, str(caller.token_id))
    connection.state.api_caller = caller


def scope(needed: str) -> Any:
    """A guard after :func:`api_token`: its token has the ``needed`` scope."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        caller: tokens.Caller = connection.state.api_caller
        if needed not in caller.scopes:
            raise api.ApiProblem(403, f"This token does not have the {needed} scope.")

    return guard


def caller_of(request: AnyRequest) -> tokens.Caller:
    caller: tokens.Caller = request.state.api_caller
    return caller


# --- Offers ------------------------------------------------------------------------------------


@put(
    "/offers/{external_id:str}",
    guards=[api_token, scope("offers:write")],
    name="api_put_offer",
    status_code=200,
    responses={
        201: ResponseSpec(data_container=Offer, description="Created"),
        **_problems(403, 409, 422),
    },
    summary="Create or update an offer by the ATS's id",
    tags=["offers"],
)
async def put_offer(
    request: AnyRequest, external_id: ExternalId, data: JSONBody[OfferIn]
) -> Response[Offer]:
    document, created = await api.upsert_offer(
        external_id, msgspec.structs.asdict(data), caller_of(request), client_of(request)
    )
    return Response(msgspec.convert(document, Offer), status_code=201 if created else 200)


@get(
    "/offers/{external_id:str}",
    guards=[api_token, scope("offers:write")],
    name="api_get_offer",
    responses=_problems(403, 404),
    summary="Read an offer by the ATS's id",
    tags=["offers"],
)
async def get_offer(external_id: ExternalId) -> Offer:
    document = await api.offer_of(external_id)
    if document is None:
        raise api.ApiProblem(404, "No offer has this id.")
    return msgspec.convert(document, Offer)


# --- Candidates --------------------------------------------------------------------------------


def _candidate(request: AnyRequest, row: dict[str, Any]) -> Candidate:
    settings = settings_of(request)
    document = api.candidate_document(row, settings.public_url, settings.secret_key)
    return msgspec.convert(document, Candidate)


@get(
    "/candidates",
    guards=[api_token, scope("candidates:read")],
    name="api_list_candidates",
    responses=_problems(403, 404),
    summary="List referred candidates who consented",
    tags=["candidates"],
)
async def list_candidates(
    request: AnyRequest,
    after: Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=api.MAX_PAGE)] = api.PAGE,
    offer: Annotated[str | None, QueryParameter(max_length=100)] = None,
) -> CandidatePage:
    if offer is not None and await api.offer_of(offer) is None:
        raise api.ApiProblem(404, "No offer has this id.")
    rows, next_after = await api.candidates(after, limit, offer)
    await api.audit.record(
        "api_candidates_read",
        client=client_of(request),
        via=caller_of(request).via,
        count=len(rows),
    )
    return CandidatePage([_candidate(request, row) for row in rows], next_after)


@get(
    "/candidates/{candidate_id:int}",
    guards=[api_token, scope("candidates:read")],
    name="api_get_candidate",
    responses=_problems(403, 404),
    summary="Read a referred candidate",
    tags=["candidates"],
)
async def get_candidate(request: AnyRequest, candidate_id: CandidateId) -> Candidate:
    row = await api.candidate(candidate_id)
    if row is None:
        raise api.ApiProblem(404, "No candidate has this id (or they have not consented yet).")
    await api.audit.record(
        "api_candidates_read", client=client_of(request), via=caller_of(request).via, count=1
    )
    return _candidate(request, row)


@put(
    "/candidates/{candidate_id:int}/stage",
    guards=[api_token, scope("candidates:write")],
    name="api_set_stage",
    status_code=200,
    responses=_problems(403, 404),
    summary="Move a candidate to a stage, as an editor would",
    tags=["candidates"],
)
async def set_stage(
    request: AnyRequest, candidate_id: CandidateId, data: JSONBody[StageIn]
) -> Candidate:
    row = await api.set_stage(candidate_id, data.stage, caller_of(request), client_of(request))
    if row is None:
        raise api.ApiProblem(404, "No candidate has this id (or they have not consented yet).")
    return _candidate(request, row)


@get("/cvs/{candidate_id:int}", name="api_cv", include_in_schema=False, guards=[anyone])
async def cv(
    request: AnyRequest,
    candidate_id: CandidateId,
    expires: FromQuery[int] = 0,
    signature: FromQuery[str] = "",
) -> Response[bytes]:
    """The CV behind a signed link from a candidate document (no token: the link is it, so
    anyone holding it may fetch it). A link that is not valid or has expired names nothing:
    404, as for a candidate without a CV."""
    settings = settings_of(request)
    if not api.cv_link_valid(settings.secret_key, candidate_id, expires, signature[:64]):
        raise api.ApiProblem(404, "This link is not valid or has expired.")
    row = await api.cv_file(candidate_id)
    path = cvs.cv_path(settings.data_dir, row["cv"] or "") if row else None
    if row is None or path is None:
        raise api.ApiProblem(404, "This candidate has no CV.")
    return Response(
        path.read_bytes(),
        media_type=cvs.MEDIA_TYPES.get(row["cv_type"], "application/octet-stream"),
        headers={
            "Content-Disposition": f'attachment; filename="cv-{candidate_id}.{row["cv_type"]}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


ROUTER = Router(
    path=api.BASE_PATH,
    route_handlers=[put_offer, get_offer, list_candidates, get_candidate, set_stage, cv],
    # Bearer tokens, never cookies: nothing for a cross-site form to ride on.
    opt={"exclude_from_csrf": True},
    exception_handlers={Exception: api_error},
    include_in_schema=True,
    security=[{"bearer": []}],
)


def openapi_config(settings: Settings) -> OpenAPIConfig:
    """The schema of this API only (every other route is left out of it), served as JSON at
    ``/api/v1/schema`` (and ``/api/v1/schema/openapi.json``)."""
    return OpenAPIConfig(
        title="Relay API",
        version="1",
        description=(
            "For an applicant tracking system: keep Relay's job offers in sync by the ATS's "
            "own ids, read referred candidates who consented, set their stage. Authenticate "
            "with an API token made by an admin (Administration, API and webhooks)."
        ),
        # The schema is public, like the API's documentation: anyone may read it.
        openapi_router=Router(path=api.BASE_PATH + "/schema", route_handlers=[], guards=[anyone]),
        servers=[Server(url=settings.public_url)],
        render_plugins=[JsonRenderPlugin(path=["/", "/openapi.json"])],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(
                    type="http", scheme="bearer", description="An API token of Relay"
                )
            }
        ),
        create_examples=False,
    )
