"""The SCIM 2.0 endpoints' work, behind the thin handlers of app.integrations.routes_scim.

This module and scim2-models (with pydantic, about 18 MB together) are imported by the first
SCIM request a web process serves, not when the app starts (issue 15): only the router
module, which Litestar reads at startup, is imported with the app, and nothing in its
handlers' signatures names a scim2-models type.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException
from pydantic import ValidationError
from scim2_models import (
    Context,
    Error,
    Group,
    InvalidSyntaxException,
    InvalidValueException,
    ListResponse,
    NotFoundException,
    NotImplementedException,
    PatchOp,
    ResourceType,
    ResponseParameters,
    Schema,
    SCIMException,
    SearchRequest,
    User,
)

from app.accounts import invitations
from app.core import db
from app.core.validation import MAX_ID
from app.integrations import oidc, scim
from app.integrations.routes_scim import BASE_PATH, ScimRefusal
from app.org.service import organisation_name
from app.web import ratelimit
from app.web.requests import AnyRequest, client_of, settings_of

log = logging.getLogger("relay")
RETRY = {"Retry-After": "30"}
MEDIA_TYPE = "application/scim+json"
MAX_BODY = 1_000_000


def _error(status: int, detail: str, scim_type: str | None = None, **headers: str) -> Response[Any]:
    body = Error(status=status, scim_type=scim_type, detail=detail).model_dump()
    return Response(
        json.dumps(body).encode(), status_code=status, media_type=MEDIA_TYPE, headers=headers
    )


def scim_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Every exception under /scim/v2 as a SCIM error document."""
    if isinstance(exc, SCIMException):
        error = exc.to_error()
        return _error(int(error.status or 400), error.detail or "", error.scim_type)
    if isinstance(exc, ValidationError):
        if not exc.errors():
            return _error(400, "The request could not be read.", "invalidValue")
        error = Error.from_validation_error(exc.errors()[0])
        return _error(int(error.status or 400), error.detail or "", error.scim_type)
    if isinstance(exc, ScimRefusal):
        return _error(exc.status, exc.detail, **exc.headers)
    if isinstance(exc, ratelimit.TooManyAttempts):
        return _error(429, "Too many requests.", **{"Retry-After": str(exc.retry_after)})
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        return _error(exc.status_code, str(exc.detail))
    if db.is_unavailable(exc):
        log.warning("SCIM %s %s: database unavailable: %r", request.method, request.url.path, exc)
        return _error(503, "Relay's database is unavailable; try again shortly.", **RETRY)
    if isinstance(exc, db.UNIQUE_VIOLATIONS):
        # Two requests creating the same user or team at once (PostgreSQL: the check and the
        # insert are not under one lock); the loser is told as if it had come second.
        return _error(409, "Another resource has this unique value.", "uniqueness")
    log.exception("SCIM %s %s failed", request.method, request.url.path, exc_info=exc)
    return _error(500, "Relay could not do this; it has been logged.")


def _base_url(request: AnyRequest) -> str:
    return settings_of(request).public_url + BASE_PATH


async def _how(request: AnyRequest) -> scim.Provisioning:
    settings = settings_of(request)
    # When an admin requires single sign-on, provisioned people sign in with their company
    # account: no enrolment link is emailed.
    link_mail = (
        invitations.LinkMail(settings, await organisation_name())
        if settings.smtp_url and not await oidc.sso_required()
        else None
    )
    return scim.Provisioning(
        caller=request.state.scim_caller,
        client=client_of(request),
        base_url=_base_url(request),
        link_mail=link_mail,
        lifetime=settings.invitation_lifetime,
    )


def _respond(
    content: Any,
    context: Context,
    status: int = 200,
    parameters: ResponseParameters[Any] | None = None,
) -> Response[Any]:
    body = content.model_dump(scim_ctx=context, response_parameters=parameters)
    headers = {}
    meta = getattr(content, "meta", None)
    if meta is not None and meta.version and not isinstance(content, ListResponse):
        headers["ETag"] = meta.version
    if status == 201 and meta is not None and meta.location:
        headers["Location"] = str(meta.location)
    return Response(
        json.dumps(body, default=str).encode(),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


async def _body(request: AnyRequest) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise InvalidValueException(detail="The body is too large: at most 1 MB.")
    if b"\x00" in raw or b"\\u0000" in raw:
        raise InvalidValueException(detail="The body holds a NUL character.")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidSyntaxException(detail="The body is not a JSON document.") from exc
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail="The body must be a JSON object.")
    return body


def _parameters(request: AnyRequest, model: type[Any]) -> ResponseParameters[Any] | None:
    query = request.query_params
    given = {key: query.get(key) for key in ("attributes", "excludedAttributes") if query.get(key)}
    if not given:
        return None
    return ResponseParameters[model].model_validate(given)  # type: ignore[valid-type]


def _paging(request: AnyRequest) -> tuple[str | None, int, int]:
    query = request.query_params
    try:
        start = int(query.get("startIndex") or 1)
        count = int(query.get("count") or scim.MAX_RESULTS)
    except ValueError as exc:
        raise InvalidValueException(detail="startIndex and count are numbers.") from exc
    start = min(max(start, 1), MAX_ID)
    count = min(max(count, 0), scim.MAX_RESULTS)
    filter_text = query.get("filter") or None
    if filter_text is not None and len(filter_text) > 1000:
        raise InvalidValueException(detail="The filter is too long: at most 1000 characters.")
    return filter_text, start, count


# --- Discovery -------------------------------------------------------------------------------


async def service_provider_config(request: AnyRequest) -> Response[Any]:
    config = scim.service_provider_config(_base_url(request))
    return _respond(config, Context.RESOURCE_QUERY_RESPONSE)


async def resource_types(request: AnyRequest) -> Response[Any]:
    found = scim.resource_types(_base_url(request))
    listed = ListResponse[ResourceType](
        total_results=len(found), start_index=1, items_per_page=len(found), resources=found
    )
    return _respond(listed, Context.SEARCH_RESPONSE)


async def resource_type(request: AnyRequest, type_id: str) -> Response[Any]:
    found = scim.resource_type(_base_url(request), type_id)
    return _respond(found, Context.RESOURCE_QUERY_RESPONSE)


async def schemas(request: AnyRequest) -> Response[Any]:
    found = scim.schemas(_base_url(request))
    listed = ListResponse[Schema](
        total_results=len(found), start_index=1, items_per_page=len(found), resources=found
    )
    return _respond(listed, Context.SEARCH_RESPONSE)


async def schema(request: AnyRequest, schema_id: str) -> Response[Any]:
    return _respond(scim.schema(_base_url(request), schema_id), Context.RESOURCE_QUERY_RESPONSE)


async def unknown(request: AnyRequest, rest: str) -> None:
    """Any other address under /scim/v2: a SCIM 404, not an HTML page."""
    raise NotFoundException(detail=f"Relay serves no SCIM endpoint {rest[:80]}.")


async def search_all(request: AnyRequest) -> None:
    """RFC 7644 §3.4.3 lets a server not search across resource types: 501, as it says."""
    raise NotImplementedException(detail="Search /Users/.search or /Groups/.search instead.")


def _search(body: dict[str, Any], model: type[Any]) -> tuple[Any, int, int, Any]:
    search = SearchRequest[model].model_validate(  # type: ignore[valid-type]
        body, scim_ctx=Context.SEARCH_REQUEST
    )
    start = min(max(search.start_index or 1, 1), MAX_ID)
    count = min(
        max(scim.MAX_RESULTS if search.count is None else search.count, 0), scim.MAX_RESULTS
    )
    parameters = None
    if search.attributes or search.excluded_attributes:
        parameters = ResponseParameters[model](  # type: ignore[valid-type]
            attributes=search.attributes, excluded_attributes=search.excluded_attributes
        )
    return (str(search.filter) if search.filter else None), start, count, parameters


# --- Users -----------------------------------------------------------------------------------


async def search_users(request: AnyRequest) -> Response[Any]:
    filter_text, start, count, parameters = _search(await _body(request), User)
    listed = await scim.list_users(filter_text, start, count, _base_url(request))
    return _respond(listed, Context.SEARCH_RESPONSE, parameters=parameters)


async def list_users(request: AnyRequest) -> Response[Any]:
    filter_text, start, count = _paging(request)
    parameters = _parameters(request, User)
    listed = await scim.list_users(filter_text, start, count, _base_url(request))
    return _respond(listed, Context.SEARCH_RESPONSE, parameters=parameters)


async def create_user(request: AnyRequest) -> Response[Any]:
    body = await _body(request)
    user: User[Any] = User.model_validate(body, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    created = await scim.create_user(user, await _how(request))
    return _respond(created, Context.RESOURCE_CREATION_RESPONSE, status=201)


async def get_user(request: AnyRequest, user_id: str) -> Response[Any]:
    parameters = _parameters(request, User)
    user = await scim.get_user(scim.parse_id(user_id), _base_url(request))
    return _respond(user, Context.RESOURCE_QUERY_RESPONSE, parameters=parameters)


async def replace_user(request: AnyRequest, user_id: str) -> Response[Any]:
    member_id = scim.parse_id(user_id)
    body = await _body(request)
    user: User[Any] = User.model_validate(body, scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
    how = await _how(request)
    replaced = await scim.replace_user(member_id, user, how, request.headers.get("if-match"))
    return _respond(replaced, Context.RESOURCE_REPLACEMENT_RESPONSE)


async def patch_user(request: AnyRequest, user_id: str) -> Response[Any]:
    member_id = scim.parse_id(user_id)
    body = await _body(request)
    operations = PatchOp[User].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    how = await _how(request)
    patched = await scim.patch_user(member_id, operations, how, request.headers.get("if-match"))
    return _respond(patched, Context.RESOURCE_PATCH_RESPONSE)


async def delete_user(request: AnyRequest, user_id: str) -> None:
    member_id = scim.parse_id(user_id)
    await scim.delete_user(member_id, await _how(request), request.headers.get("if-match"))


# --- Groups ----------------------------------------------------------------------------------


async def search_groups(request: AnyRequest) -> Response[Any]:
    filter_text, start, count, parameters = _search(await _body(request), Group)
    listed = await scim.list_groups(filter_text, start, count, _base_url(request))
    return _respond(listed, Context.SEARCH_RESPONSE, parameters=parameters)


async def list_groups(request: AnyRequest) -> Response[Any]:
    filter_text, start, count = _paging(request)
    parameters = _parameters(request, Group)
    excluded = request.query_params.get("excludedAttributes") or ""
    listed = await scim.list_groups(
        filter_text,
        start,
        count,
        _base_url(request),
        with_members="members" not in excluded.lower(),
    )
    return _respond(listed, Context.SEARCH_RESPONSE, parameters=parameters)


async def create_group(request: AnyRequest) -> Response[Any]:
    group = Group.model_validate(await _body(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    created = await scim.create_group(group, await _how(request))
    return _respond(created, Context.RESOURCE_CREATION_RESPONSE, status=201)


async def get_group(request: AnyRequest, group_id: str) -> Response[Any]:
    parameters = _parameters(request, Group)
    group = await scim.get_group(scim.parse_id(group_id), _base_url(request))
    return _respond(group, Context.RESOURCE_QUERY_RESPONSE, parameters=parameters)


async def replace_group(request: AnyRequest, group_id: str) -> Response[Any]:
    team_id = scim.parse_id(group_id)
    body = await _body(request)
    group = Group.model_validate(body, scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
    how = await _how(request)
    replaced = await scim.replace_group(team_id, group, how, request.headers.get("if-match"))
    return _respond(replaced, Context.RESOURCE_REPLACEMENT_RESPONSE)


async def patch_group(request: AnyRequest, group_id: str) -> Response[Any]:
    team_id = scim.parse_id(group_id)
    body = await _body(request)
    operations = PatchOp[Group].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    how = await _how(request)
    patched = await scim.patch_group(team_id, operations, how, request.headers.get("if-match"))
    return _respond(patched, Context.RESOURCE_PATCH_RESPONSE)


async def delete_group(request: AnyRequest, group_id: str) -> None:
    team_id = scim.parse_id(group_id)
    await scim.delete_group(team_id, await _how(request), request.headers.get("if-match"))
