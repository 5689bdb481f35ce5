"""`/scim/v2/`: the SCIM 2.0 endpoints an identity provider provisions people through.

Only an integration token of kind ``scim`` opens them (``Authorization: Bearer …``); a
session cookie does not, and a SCIM token opens nothing else (every other route reads the
session only). No CSRF token: nothing here reads cookies. Every refusal is a SCIM error
document (RFC 7644 §3.12) with the status the RFC gives: 400 (invalid syntax, filter or
value, mutability), 401, 404, 409 (uniqueness), 412 (If-Match), 429; never a 500 for input.

The handlers here only hand over to :mod:`app.integrations.scim_http`, imported by the first
SCIM request: with it come scim2-models and pydantic (about 18 MB), which a web process that
never serves SCIM then does not carry (issue 15). Nothing Litestar reads at startup (these
signatures, the guard, the exception handler) names one of their types.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from litestar import Request, Response, Router, delete, get, patch, post, put
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath

from app.integrations import tokens
from app.web import ratelimit
from app.web.requests import AnyRequest, client_of, limiter_of

BASE_PATH = "/scim/v2"


def _impl() -> ModuleType:
    """:mod:`app.integrations.scim_http`, imported on first use (then a dictionary look-up)."""
    return importlib.import_module("app.integrations.scim_http")


class ScimRefusal(Exception):
    """A refusal before SCIM proper: no token (401) or too many requests (429)."""

    def __init__(self, status: int, detail: str, headers: dict[str, str]) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers


def scim_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Every exception under /scim/v2 as a SCIM error document."""
    response: Response[Any] = _impl().scim_error(request, exc)
    return response


async def scim_token(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Only a live SCIM integration token passes; the caller goes into the request's state."""
    request: AnyRequest = connection  # type: ignore[assignment]
    limiter = limiter_of(request)
    client = client_of(request)
    await limiter.hit(ratelimit.SCIM_PER_CLIENT, client)
    token = tokens.bearer_of(connection.headers.get("authorization"))
    caller = await tokens.authenticate(token, tokens.SCIM) if token else None
    if caller is None:
        if token:  # a token that opens nothing: someone guessing, or an old one, slowed down
            await limiter.hit(ratelimit.SCIM_REFUSED_PER_CLIENT, client)
        raise ScimRefusal(
            401,
            "A SCIM token is required: Authorization: Bearer <token>.",
            {"WWW-Authenticate": 'Bearer realm="Relay SCIM"'},
        )
    connection.state.scim_caller = caller


# --- Discovery -------------------------------------------------------------------------------


@get("/ServiceProviderConfig", guards=[scim_token], name="scim_config")
async def service_provider_config(request: AnyRequest) -> Response[Any]:
    return await _impl().service_provider_config(request)


@get("/ResourceTypes", guards=[scim_token], name="scim_resource_types")
async def resource_types(request: AnyRequest) -> Response[Any]:
    return await _impl().resource_types(request)


@get("/ResourceTypes/{type_id:str}", guards=[scim_token], name="scim_resource_type")
async def resource_type(request: AnyRequest, type_id: FromPath[str]) -> Response[Any]:
    return await _impl().resource_type(request, type_id)


@get("/Schemas", guards=[scim_token], name="scim_schemas")
async def schemas(request: AnyRequest) -> Response[Any]:
    return await _impl().schemas(request)


@get("/Schemas/{schema_id:str}", guards=[scim_token], name="scim_schema")
async def schema(request: AnyRequest, schema_id: FromPath[str]) -> Response[Any]:
    return await _impl().schema(request, schema_id)


async def _unknown(request: AnyRequest, rest: FromPath[str]) -> None:
    """Any other address under /scim/v2: a SCIM 404, not an HTML page."""
    await _impl().unknown(request, rest)


# One handler per method: a multi-method handler is not weakly referenceable, which the
# request screening (app.web.validation) needs.
UNKNOWN = [
    verb("/{rest:path}", guards=[scim_token], name=f"scim_unknown_{verb.__name__}")(_unknown)
    for verb in (get, post, put, patch, delete)
]


@post("/.search", guards=[scim_token], name="scim_search_all")
async def search_all(request: AnyRequest) -> None:
    await _impl().search_all(request)


# --- Users -----------------------------------------------------------------------------------


@post("/Users/.search", guards=[scim_token], name="scim_search_users", status_code=200)
async def search_users(request: AnyRequest) -> Response[Any]:
    return await _impl().search_users(request)


@get("/Users", guards=[scim_token], name="scim_users")
async def list_users(request: AnyRequest) -> Response[Any]:
    return await _impl().list_users(request)


@post("/Users", guards=[scim_token], name="scim_create_user")
async def create_user(request: AnyRequest) -> Response[Any]:
    return await _impl().create_user(request)


@get("/Users/{user_id:str}", guards=[scim_token], name="scim_user")
async def get_user(request: AnyRequest, user_id: FromPath[str]) -> Response[Any]:
    return await _impl().get_user(request, user_id)


@put("/Users/{user_id:str}", guards=[scim_token], name="scim_replace_user")
async def replace_user(request: AnyRequest, user_id: FromPath[str]) -> Response[Any]:
    return await _impl().replace_user(request, user_id)


@patch("/Users/{user_id:str}", guards=[scim_token], name="scim_patch_user")
async def patch_user(request: AnyRequest, user_id: FromPath[str]) -> Response[Any]:
    return await _impl().patch_user(request, user_id)


@delete("/Users/{user_id:str}", guards=[scim_token], name="scim_delete_user", status_code=204)
async def delete_user(request: AnyRequest, user_id: FromPath[str]) -> None:
    await _impl().delete_user(request, user_id)


# --- Groups ----------------------------------------------------------------------------------


@post("/Groups/.search", guards=[scim_token], name="scim_search_groups", status_code=200)
async def search_groups(request: AnyRequest) -> Response[Any]:
    return await _impl().search_groups(request)


@get("/Groups", guards=[scim_token], name="scim_groups")
async def list_groups(request: AnyRequest) -> Response[Any]:
    return await _impl().list_groups(request)


@post("/Groups", guards=[scim_token], name="scim_create_group")
async def create_group(request: AnyRequest) -> Response[Any]:
    return await _impl().create_group(request)


@get("/Groups/{group_id:str}", guards=[scim_token], name="scim_group")
async def get_group(request: AnyRequest, group_id: FromPath[str]) -> Response[Any]:
    return await _impl().get_group(request, group_id)


@put("/Groups/{group_id:str}", guards=[scim_token], name="scim_replace_group")
async def replace_group(request: AnyRequest, group_id: FromPath[str]) -> Response[Any]:
    return await _impl().replace_group(request, group_id)


@patch("/Groups/{group_id:str}", guards=[scim_token], name="scim_patch_group")
async def patch_group(request: AnyRequest, group_id: FromPath[str]) -> Response[Any]:
    return await _impl().patch_group(request, group_id)


@delete("/Groups/{group_id:str}", guards=[scim_token], name="scim_delete_group", status_code=204)
async def delete_group(request: AnyRequest, group_id: FromPath[str]) -> None:
    await _impl().delete_group(request, group_id)


ROUTER = Router(
    path=BASE_PATH,
    route_handlers=[
        service_provider_config,
        resource_types,
        resource_type,
        schemas,
        schema,
        *UNKNOWN,
        search_all,
        search_users,
        list_users,
        create_user,
        get_user,
        replace_user,
        patch_user,
        delete_user,
        search_groups,
        list_groups,
        create_group,
        get_group,
        replace_group,
        patch_group,
        delete_group,
    ],
    # Bearer tokens, never cookies: nothing for a cross-site form to ride on.
    opt={"exclude_from_csrf": True},
    exception_handlers={Exception: scim_error},
)
