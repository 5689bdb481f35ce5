"""The admin's Provisioning (SCIM) page: make a token per identity provider (shown once),
see when each was last used, revoke it."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath

from app.accounts.guards import admin
from app.accounts.routes_signin import Form
from app.core.i18n import _
from app.integrations import tokens
from app.integrations.routes_scim import BASE_PATH as SCIM_BASE_PATH
from app.web.pages import render
from app.web.requests import AnyRequest, client_of, settings_of


async def _page(request: AnyRequest, status_code: int = 200, **extra: Any) -> Response[str]:
    return await render(
        request,
        "integrations/provisioning.html",
        status_code=status_code,
        tokens=await tokens.listed(tokens.SCIM),
        scim_url=settings_of(request).public_url + SCIM_BASE_PATH,
        values=extra.pop("values", {}),
        errors=extra.pop("errors", {}),
        **extra,
    )


@get("/admin/provisioning", name="provisioning", guards=[admin])
async def provisioning_page(request: AnyRequest) -> Response[str]:
    return await _page(request)


@post("/admin/provisioning/tokens", status_code=200, name="create_scim_token", guards=[admin])
async def create_token(request: AnyRequest, data: Form) -> Response[str]:
    checked = tokens.check_name(data)
    if not checked.ok:
        return await _page(request, status_code=422, values=checked.values, errors=checked.errors)
    _token_id, token = await tokens.create(
        tokens.SCIM, checked.values["name"], by=request.user.id, client=client_of(request)
    )
    # The one time the token is ever shown; the response is not cached (no-store below).
    response = await _page(request, new_token=token, new_token_name=checked.values["name"])
    response.headers["Cache-Control"] = "no-store"
    return response


@post(
    "/admin/provisioning/tokens/{token_id:int}/revoke",
    status_code=200,
    name="revoke_scim_token",
    guards=[admin],
)
async def revoke_token(request: AnyRequest, token_id: FromPath[int]) -> Response[str]:
    revoked = await tokens.revoke(
        token_id, tokens.SCIM, by=request.user.id, client=client_of(request)
    )
    if not revoked:
        return await _page(
            request, status_code=404, notice=_("This token does not exist or is already revoked.")
        )
    return await _page(
        request, notice=_("Token revoked: the identity provider can no longer use it.")
    )


ROUTES = [provisioning_page, create_token, revoke_token]
