"""Single sign-on: the admin's page of OpenID providers, and the sign-in through one of them
(start, callback, then the offer of a passkey to a member who has none)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath

from app.accounts import audit
from app.accounts.guards import admin, anyone, signed_in
from app.accounts.routes_signin import Form
from app.accounts.sessions import create_session, session_cookie
from app.core.i18n import _
from app.integrations import oidc
from app.web import ratelimit
from app.web.pages import render, see_other
from app.web.requests import AnyRequest, client_of, limiter_of, safe_next, settings_of

STATE_COOKIE = "relay_sso"


def _state_cookie(request: AnyRequest) -> str:
    return ("__Host-" if settings_of(request).https else "") + STATE_COOKIE


# --- The admin's page -------------------------------------------------------------------------


async def _page(request: AnyRequest, status_code: int = 200, **extra: Any) -> Response[str]:
    return await render(
        request,
        "integrations/sso.html",
        status_code=status_code,
        providers=await oidc.providers(),
        required=await oidc.sso_required(),
        callback_url=settings_of(request).public_url + oidc.CALLBACK_PATH,
        values=extra.pop("values", {}),
        errors=extra.pop("errors", {}),
        **extra,
    )


async def _edit_page(
    request: AnyRequest, provider: dict[str, Any], status_code: int = 200, **extra: Any
) -> Response[str]:
    return await render(
        request,
        "integrations/sso_provider.html",
        status_code=status_code,
        provider=provider,
        problem=oidc.problem_sentence(provider["problem"], provider["problem_detail"]),
        callback_url=settings_of(request).public_url + oidc.CALLBACK_PATH,
        values=extra.pop("values", None) or provider,
        errors=extra.pop("errors", {}),
        **extra,
    )


@get("/admin/sso", name="sso", guards=[admin])
async def sso_page(request: AnyRequest) -> Response[str]:
    return await _page(request)


@post("/admin/sso/providers", status_code=200, name="sso_add", guards=[admin])
async def add_provider(request: AnyRequest, data: Form) -> Response[Any]:
    checked = oidc.check_provider(data)
    if not checked.ok:
        return await _page(request, status_code=422, values=checked.values, errors=checked.errors)
    settings = settings_of(request)
    provider_id = await oidc.save_provider(
        settings, checked.values, request.user.id, client_of(request), None
    )
    await oidc.check_connection(settings, provider_id, request.user.id, client_of(request))
    return see_other(request, f"/admin/sso/providers/{provider_id}?saved=1")


async def _provider_or_404(request: AnyRequest, provider_id: int) -> dict[str, Any] | Response[str]:
    provider = await oidc.provider(provider_id)
    if provider is None:
        return await _page(
            request, status_code=404, notice=_("This identity provider is no longer configured.")
        )
    return provider


@get("/admin/sso/providers/{provider_id:int}", name="sso_provider", guards=[admin])
async def provider_page(request: AnyRequest, provider_id: FromPath[int]) -> Response[str]:
    provider = await _provider_or_404(request, provider_id)
    if isinstance(provider, Response):
        return provider
    saved = request.query_params.get("saved") == "1"
    return await _edit_page(request, provider, notice=_("Saved.") if saved else None)


@post("/admin/sso/providers/{provider_id:int}", status_code=200, name="sso_change", guards=[admin])
async def change_provider(
    request: AnyRequest, provider_id: FromPath[int], data: Form
) -> Response[Any]:
    provider = await _provider_or_404(request, provider_id)
    if isinstance(provider, Response):
        return provider
    checked = oidc.check_provider(data, editing=True)
    if not checked.ok:
        return await _edit_page(
            request, provider, status_code=422, values=checked.values, errors=checked.errors
        )
    settings = settings_of(request)
    await oidc.save_provider(
        settings, checked.values, request.user.id, client_of(request), provider_id
    )
    await oidc.check_connection(settings, provider_id, request.user.id, client_of(request))
    return see_other(request, f"/admin/sso/providers/{provider_id}?saved=1")


@post(
    "/admin/sso/providers/{provider_id:int}/check",
    status_code=200,
    name="sso_check",
    guards=[admin],
)
async def check_provider(request: AnyRequest, provider_id: FromPath[int]) -> Response[str]:
    provider = await _provider_or_404(request, provider_id)
    if isinstance(provider, Response):
        return provider
    problem = await oidc.check_connection(
        settings_of(request), provider_id, request.user.id, client_of(request)
    )
    provider = await oidc.provider(provider_id) or provider
    return await _edit_page(
        request,
        provider,
        notice=None
        if problem
        else _("Relay reached the provider, read its keys, and the client secret was accepted."),
    )


@post(
    "/admin/sso/providers/{provider_id:int}/delete",
    status_code=200,
    name="sso_remove",
    guards=[admin],
)
async def remove_provider(request: AnyRequest, provider_id: FromPath[int]) -> Response[str]:
    removed = await oidc.remove_provider(provider_id, request.user.id, client_of(request))
    if not removed:
        return await _page(
            request, status_code=404, notice=_("This identity provider is no longer configured.")
        )
    return await _page(request, notice=_("Identity provider removed."))


@post("/admin/sso/policy", status_code=200, name="sso_policy", guards=[admin])
async def change_policy(request: AnyRequest, data: Form) -> Response[Any]:
    required = data.get("required") == "on"
    # The switch saves as soon as it is flipped: htmx gets its card back, a plain post the page.
    block: dict[str, Any] = {"block": "policy"} if request.htmx else {}
    if required and not await oidc.providers(enabled_only=True):
        return await _page(
            request,
            status_code=422,
            policy_error=_("Add an identity provider before requiring single sign-on."),
            **block,
        )
    await oidc.set_sso_required(required, request.user.id, client_of(request))
    if request.htmx:
        return await _page(request, policy_saved=True, **block)
    return see_other(request, "/admin/sso")


# --- Signing in -------------------------------------------------------------------------------


async def _signin_refused(
    request: AnyRequest, error: oidc.SsoError, status_code: int
) -> Response[str]:
    response = await render(
        request,
        "accounts/signin.html",
        status_code=status_code,
        next="/",
        signed_out=False,
        sso_error=error.sentence()
        if not error.is_problem
        else str(oidc.REFUSALS["unavailable"]) % {"provider": error.params.get("provider", "")},
        sso=await oidc.sign_in_choices(),
    )
    response.delete_cookie(_state_cookie(request), path="/")
    return response


@get("/signin/sso/{provider_id:int}", name="sso_start", guards=[anyone])
async def sso_start(request: AnyRequest, provider_id: FromPath[int]) -> Response[Any]:
    client = client_of(request)
    await limiter_of(request).hit(ratelimit.SIGNIN_PER_CLIENT, client)
    settings = settings_of(request)
    next_path = safe_next(request.query_params.get("next"))
    try:
        started = await oidc.start(settings, provider_id, next_path)
    except oidc.SsoError as exc:
        row = await oidc.provider(provider_id)
        if row is not None:
            exc.params.setdefault("provider", row["name"])
        await audit.record("signin_failed", client=client, reason=exc.code, via="sso")
        return await _signin_refused(request, exc, 503 if exc.is_problem else 404)
    response: Response[Any] = Response(
        content=b"", status_code=303, headers={"Location": started.url, "Cache-Control": "no-store"}
    )
    response.cookies.append(
        Cookie(
            key=_state_cookie(request),
            value=started.state,
            path="/",
            max_age=int(oidc.LOGIN_LIFETIME.total_seconds()),
            httponly=True,
            secure=settings.https,
            samesite="lax",
        )
    )
    return response


@get("/signin/sso/callback", name="sso_callback", guards=[anyone])
async def sso_callback(request: AnyRequest) -> Response[Any]:
    client = client_of(request)
    await limiter_of(request).hit(ratelimit.SIGNIN_PER_CLIENT, client)
    settings = settings_of(request)
    query = request.query_params

    def param(name: str) -> str:
        value = query.get(name) or ""
        return value[:4000] if isinstance(value, str) else ""

    try:
        signed_in_as = await oidc.finish(
            settings,
            state=param("state"),
            cookie_state=request.cookies.get(_state_cookie(request)),
            code=param("code"),
            error=param("error"),
            iss=param("iss"),
            client=client,
        )
    except oidc.SsoError as exc:
        await audit.record(
            "signin_failed",
            client=client,
            reason=exc.code,
            via="sso",
            **{k: v for k, v in exc.params.items() if k in {"email", "domain", "provider"}},
        )
        # 503: the provider's set-up; 400: a stale, replayed or forged answer; 403: this person.
        status = 503 if exc.is_problem else 400 if exc.code == "state" else 403
        return await _signin_refused(request, exc, status)
    token = await create_session(
        signed_in_as.member_id,
        request.headers.get("user-agent", ""),
        lifetime=settings.session_lifetime,
    )
    await audit.record(
        "signin",
        actor=signed_in_as.member_id,
        subject=signed_in_as.member_id,
        client=client,
        via=f"SSO · {signed_in_as.provider}",
    )
    target = safe_next(signed_in_as.next)
    if not signed_in_as.has_passkey:
        target = "/signin/sso/passkey?" + urlencode({"next": target})
    response = see_other(request, target)
    response.cookies.append(session_cookie(settings, token))
    response.delete_cookie(_state_cookie(request), path="/")
    return response


@get("/signin/sso/passkey", name="sso_passkey", guards=[signed_in])
async def passkey_offer(request: AnyRequest) -> Response[str]:
    return await render(
        request,
        "integrations/sso_passkey.html",
        next=safe_next(request.query_params.get("next")),
    )


ROUTES = [
    sso_page,
    add_provider,
    provider_page,
    change_provider,
    check_provider,
    remove_provider,
    change_policy,
    sso_start,
    sso_callback,
    passkey_offer,
]
