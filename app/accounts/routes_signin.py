"""Signing in and out, and enrolment: the pages and the passkey ceremonies behind them."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, URLEncodedBody
from markupsafe import Markup

from app.accounts import audit, invitations, passkeys
from app.accounts.guards import anyone, signed_in
from app.accounts.passkeys import PasskeyError
from app.accounts.sessions import (
    cookie_name,
    create_session,
    end_session,
    session_cookie,
)
from app.accounts.tables import Member
from app.core.i18n import _
from app.web import ratelimit
from app.web.devices import device_name
from app.web.pages import render, see_other
from app.web.requests import (
    AnyRequest,
    client_of,
    limiter_of,
    safe_next,
    settings_of,
    sso_choices,
)

Form = URLEncodedBody[dict[str, str]]
Json = dict[str, Any]
JsonBody = JSONBody[dict[str, Any]]


def _refused(message: str, status_code: int = 400) -> Response[Json]:
    return Response({"error": message}, status_code=status_code)


def _signed_in_response(request: AnyRequest, token: str, target: str) -> Response[Json]:
    response: Response[Json] = Response({"redirect": target})
    response.cookies.append(session_cookie(settings_of(request), token))
    return response


def qr_svg(url: str) -> Markup:
    """The enrolment link as an inline SVG QR code, to scan from the admin's screen."""
    import segno  # here: 5 MB of a web process's memory, for a page admins rarely open

    svg = segno.make(url, error="m").svg_inline(scale=5, border=2, dark="#1c1b29", light="#ffffff")
    return Markup(svg)  # noqa: S704 - segno's own SVG, the URL is encoded as modules


# --- Sign-in -----------------------------------------------------------------------------


@get("/signin", name="signin", guards=[anyone])
async def signin_page(request: AnyRequest, next: FromQuery[str | None] = None) -> Any:
    if request.user is not None:
        return see_other(request, safe_next(next))
    return await render(
        request,
        "accounts/signin.html",
        next=safe_next(next),
        signed_out=request.query_params.get("bye") == "1",
        sso=await sso_choices(request),
    )


@post("/signin/options", status_code=200, name="signin_options", guards=[anyone])
async def signin_options(request: AnyRequest) -> Response[Json]:
    await limiter_of(request).hit(ratelimit.SIGNIN_PER_CLIENT, client_of(request))
    started = await passkeys.authentication_options(settings_of(request), "signin")
    return Response(started.as_json())


@post("/signin/verify", status_code=200, name="signin_verify", guards=[anyone])
async def signin_verify(request: AnyRequest, data: JsonBody) -> Response[Json]:
    client = client_of(request)
    await limiter_of(request).hit(ratelimit.SIGNIN_PER_CLIENT, client)
    credential = data.get("credential")
    try:
        if not isinstance(credential, dict):
            raise PasskeyError(_("Your device's answer could not be read. Please try again."))
        ceremony = await passkeys.take_ceremony(str(data.get("ceremony", "")), "signin")
        member_id, passkey_id = await passkeys.finish_authentication(
            settings_of(request), ceremony, credential
        )
    except PasskeyError as exc:
        await audit.record("signin_failed", client=client, reason=str(exc))
        credential_id = credential.get("id") if isinstance(credential, dict) else None
        if isinstance(credential_id, str):
            await limiter_of(request).hit(
                ratelimit.SIGNIN_FAILURES_PER_ACCOUNT, credential_id[:200]
            )
        return _refused(str(exc))
    token = await create_session(
        member_id,
        request.headers.get("user-agent", ""),
        lifetime=settings_of(request).session_lifetime,
    )
    await audit.record(
        "signin", actor=member_id, subject=member_id, client=client, passkey=passkey_id
    )
    return _signed_in_response(request, token, safe_next(str(data.get("next") or "/")))


@post("/signout", status_code=200, name="signout", guards=[signed_in])
async def signout(request: AnyRequest) -> Response[Any]:
    session = request.auth
    await end_session(session.id)
    await audit.record(
        "signout", actor=session.member.id, subject=session.member.id, client=client_of(request)
    )
    response = see_other(request, "/signin?bye=1")
    response.delete_cookie(cookie_name(settings_of(request).https), path="/")
    return response


# --- Enrolment ---------------------------------------------------------------------------


async def _enrolment_or_none(token: FromPath[str]) -> tuple[dict[str, Any], Member] | None:
    return await invitations.open_invitation(token)


@get("/enrol/{token:str}", name="enrol", guards=[anyone])
async def enrol_page(request: AnyRequest, token: FromPath[str]) -> Any:
    await limiter_of(request).hit(ratelimit.ENROL_PER_CLIENT, client_of(request))
    found = await _enrolment_or_none(token)
    if found is None:
        return await render(request, "accounts/link_invalid.html", status_code=404)
    invitation, member = found
    return await render(
        request,
        "accounts/enrol.html",
        person=member,
        recovery=invitation["purpose"] == "recovery",
        token=token,
    )


@post("/enrol/{token:str}/options", status_code=200, name="enrol_options", guards=[anyone])
async def enrol_options(request: AnyRequest, token: FromPath[str]) -> Response[Json]:
    await limiter_of(request).hit(ratelimit.ENROL_PER_CLIENT, client_of(request))
    await limiter_of(request).hit(ratelimit.ENROL_PER_LINK, token[:100])
    found = await _enrolment_or_none(token)
    if found is None:
        return _refused(
            _("This link can't be used any more. Ask your Relay admin for a new one."), 404
        )
    invitation, member = found
    started = await passkeys.registration_options(
        settings_of(request), member, "enrol", invitation=invitation["id"]
    )
    return Response(started.as_json())


@post("/enrol/{token:str}/verify", status_code=200, name="enrol_verify", guards=[anyone])
async def enrol_verify(request: AnyRequest, token: FromPath[str], data: JsonBody) -> Response[Json]:
    client = client_of(request)
    await limiter_of(request).hit(ratelimit.ENROL_PER_CLIENT, client)
    await limiter_of(request).hit(ratelimit.ENROL_PER_LINK, token[:100])
    found = await _enrolment_or_none(token)
    if found is None:
        return _refused(
            _("This link can't be used any more. Ask your Relay admin for a new one."), 404
        )
    invitation, member = found
    credential = data.get("credential")
    try:
        if not isinstance(credential, dict):
            raise PasskeyError(_("Your device's answer could not be read. Please try again."))
        ceremony = await passkeys.take_ceremony(str(data.get("ceremony", "")), "enrol")
        if ceremony["invitation"] != invitation["id"]:
            raise PasskeyError(_("This sign-in attempt has expired. Please try again."))
        passkey_id = await passkeys.finish_registration(
            settings_of(request),
            ceremony,
            credential,
            device_name(request.headers.get("user-agent", "")),
            use_invitation=invitation["id"],
        )
    except PasskeyError as exc:
        await audit.record("enrol_failed", subject=member.id, client=client, reason=str(exc))
        return _refused(str(exc))
    await audit.record(
        "passkey_added",
        actor=member.id,
        subject=member.id,
        client=client,
        passkey=passkey_id,
        via=invitation["purpose"],
    )
    token_value = await create_session(
        member.id,
        request.headers.get("user-agent", ""),
        lifetime=settings_of(request).session_lifetime,
    )
    await audit.record(
        "signin", actor=member.id, subject=member.id, client=client, passkey=passkey_id
    )
    return _signed_in_response(request, token_value, "/?welcome=1")


ROUTES = [
    signin_page,
    signin_options,
    signin_verify,
    signout,
    enrol_page,
    enrol_options,
    enrol_verify,
]
