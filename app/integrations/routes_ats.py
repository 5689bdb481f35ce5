"""The admin's "API and webhooks" page: API tokens for the applicant tracking system (scoped,
shown once, revocable) and the webhook endpoints Relay posts its events to, each with its
delivery log (the receiver's last answer, what was given up)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath

from app.accounts.guards import admin
from app.accounts.routes_signin import Form
from app.core.i18n import _
from app.integrations import api, tokens, webhooks
from app.web.pages import render
from app.web.requests import AnyRequest, client_of, settings_of


def scope_field(scope: str) -> str:
    return "scope_" + scope.replace(":", "_")


async def _page(request: AnyRequest, status_code: int = 200, **extra: Any) -> Response[str]:
    public_url = settings_of(request).public_url
    return await render(
        request,
        "integrations/ats.html",
        status_code=status_code,
        tokens=await tokens.listed(tokens.API),
        scopes=[(scope, scope_field(scope)) for scope in tokens.API_SCOPES],
        endpoints=await webhooks.endpoints_with_log(),
        event_types=webhooks.EVENT_TYPES,
        api_url=public_url + api.BASE_PATH,
        schema_url=public_url + api.BASE_PATH + "/schema",
        values=extra.pop("values", {}),
        errors=extra.pop("errors", {}),
        hook_values=extra.pop("hook_values", {}),
        hook_errors=extra.pop("hook_errors", {}),
        **extra,
    )


def _no_store(response: Response[str]) -> Response[str]:
    response.headers["Cache-Control"] = "no-store"
    return response


@get("/admin/api", name="ats_integration", guards=[admin])
async def ats_page(request: AnyRequest) -> Response[str]:
    return await _page(request)


@post("/admin/api/tokens", status_code=200, name="create_api_token", guards=[admin])
async def create_token(request: AnyRequest, data: Form) -> Response[str]:
    chosen = [scope for scope in tokens.API_SCOPES if data.get(scope_field(scope)) == "on"]
    checked = api.check_token(data, chosen)
    if not checked.ok:
        return await _page(
            request,
            status_code=422,
            values={**checked.values, "scopes": chosen},
            errors=checked.errors,
        )
    _token_id, token = await tokens.create(
        tokens.API,
        checked.values["name"],
        by=request.user.id,
        client=client_of(request),
        scopes=checked.values["scopes"],
    )
    # The one time the token is ever shown; the response is not cached.
    return _no_store(await _page(request, new_token=token, new_token_name=checked.values["name"]))


@post(
    "/admin/api/tokens/{token_id:int}/revoke",
    status_code=200,
    name="revoke_api_token",
    guards=[admin],
)
async def revoke_token(request: AnyRequest, token_id: FromPath[int]) -> Response[str]:
    revoked = await tokens.revoke(
        token_id, tokens.API, by=request.user.id, client=client_of(request)
    )
    if not revoked:
        return await _page(
            request, status_code=404, notice=_("This token does not exist or is already revoked.")
        )
    return await _page(request, notice=_("Token revoked: the system can no longer use it."))


@post("/admin/api/webhooks", status_code=200, name="add_webhook", guards=[admin])
async def add_webhook(request: AnyRequest, data: Form) -> Response[str]:
    checked = webhooks.check_endpoint(data, settings_of(request))
    if checked.ok and await webhooks.endpoint_count() >= webhooks.MAX_ENDPOINTS:
        checked.fail("url", _("Remove an endpoint first: at most 20."))
    if not checked.ok:
        return await _page(
            request, status_code=422, hook_values=checked.values, hook_errors=checked.errors
        )
    _id, secret = await webhooks.add_endpoint(
        settings_of(request),
        checked.values["url"],
        checked.values.get("description") or "",
        by=request.user.id,
        client=client_of(request),
    )
    return _no_store(await _page(request, new_secret=secret, new_secret_url=checked.values["url"]))


@post(
    "/admin/api/webhooks/{endpoint_id:int}/remove",
    status_code=200,
    name="remove_webhook",
    guards=[admin],
)
async def remove_webhook(request: AnyRequest, endpoint_id: FromPath[int]) -> Response[str]:
    removed = await webhooks.remove_endpoint(
        endpoint_id, by=request.user.id, client=client_of(request)
    )
    if not removed:
        return await _page(
            request,
            status_code=404,
            notice=_("This endpoint does not exist or is already removed."),
        )
    return await _page(request, notice=_("Endpoint removed: Relay no longer posts to it."))


ROUTES = [ats_page, create_token, revoke_token, add_webhook, remove_webhook]
