"""My security page: my passkeys (add, rename, remove), confirming it is me, signing out
everywhere."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from app.accounts import audit, passkeys
from app.accounts.guards import signed_in
from app.accounts.passkeys import PasskeyError
from app.accounts.routes_signin import Form, Json, JsonBody, _refused
from app.accounts.sessions import (
    cookie_name,
    end_all_sessions,
    mark_fresh,
)
from app.accounts.tables import Member, Passkey
from app.core.i18n import _
from app.web import ratelimit
from app.web.devices import device_name
from app.web.pages import render, see_other
from app.web.requests import AnyRequest, client_of, limiter_of, settings_of

# --- My security page --------------------------------------------------------------------


async def _my_passkeys(member_id: int) -> list[dict[str, Any]]:
    return (
        await Passkey.select(
            Passkey.id,
            Passkey.name,
            Passkey.created_at,
            Passkey.last_used_at,
            Passkey.backed_up,
            Passkey.device_type,
        )
        .where(Passkey.member == member_id)
        .order_by(Passkey.created_at)
    )


async def _security_page(
    request: AnyRequest, status_code: int = 200, **extra: Any
) -> Response[str]:
    member = request.user
    return await render(
        request,
        "accounts/security.html",
        block=extra.pop("block", "app"),
        status_code=status_code,
        passkeys=await _my_passkeys(member.id),
        **extra,
    )


@get("/me/security", name="security", guards=[signed_in])
async def security_page(request: AnyRequest) -> Response[str]:
    return await _security_page(request)


@post("/me/confirm/options", status_code=200, name="confirm_options", guards=[signed_in])
async def confirm_options(request: AnyRequest) -> Response[Json]:
    await limiter_of(request).hit(ratelimit.SIGNIN_PER_CLIENT, client_of(request))
    started = await passkeys.authentication_options(settings_of(request), "confirm", request.user)
    return Response(started.as_json())


@post("/me/confirm/verify", status_code=200, name="confirm_verify", guards=[signed_in])
async def confirm_verify(request: AnyRequest, data: JsonBody) -> Response[Json]:
    session = request.auth
    credential = data.get("credential")
    try:
        if not isinstance(credential, dict):
            raise PasskeyError(_("Your device's answer could not be read. Please try again."))
        ceremony = await passkeys.take_ceremony(str(data.get("ceremony", "")), "confirm")
        if ceremony["member"] != session.member.id:
            raise PasskeyError(_("Please confirm with one of your own passkeys."))
        await passkeys.finish_authentication(settings_of(request), ceremony, credential)
    except PasskeyError as exc:
        await audit.record(
            "signin_failed",
            subject=session.member.id,
            client=client_of(request),
            reason=str(exc),
            ceremony="confirm",
        )
        return _refused(str(exc))
    await mark_fresh(session.id)
    return Response({"confirmed": True})


NEEDS_CONFIRMATION = 428


@post("/me/passkeys/options", status_code=200, name="passkey_add_options", guards=[signed_in])
async def add_passkey_options(request: AnyRequest) -> Response[Json]:
    if not request.auth.fresh:
        return Response(
            {"confirm": True, "error": _("Confirm it's you with a passkey first.")},
            status_code=NEEDS_CONFIRMATION,
        )
    started = await passkeys.registration_options(settings_of(request), request.user, "add")
    return Response(started.as_json())


@post("/me/passkeys/verify", status_code=200, name="passkey_add_verify", guards=[signed_in])
async def add_passkey_verify(request: AnyRequest, data: JsonBody) -> Response[Json]:
    session = request.auth
    if not session.fresh:
        return Response(
            {"confirm": True, "error": _("Confirm it's you with a passkey first.")},
            status_code=NEEDS_CONFIRMATION,
        )
    credential = data.get("credential")
    try:
        if not isinstance(credential, dict):
            raise PasskeyError(_("Your device's answer could not be read. Please try again."))
        ceremony = await passkeys.take_ceremony(str(data.get("ceremony", "")), "add")
        if ceremony["member"] != session.member.id:
            raise PasskeyError(_("This sign-in attempt has expired. Please try again."))
        passkey_id = await passkeys.finish_registration(
            settings_of(request),
            ceremony,
            credential,
            device_name(request.headers.get("user-agent", "")),
        )
    except PasskeyError as exc:
        return _refused(str(exc))
    await audit.record(
        "passkey_added",
        actor=session.member.id,
        subject=session.member.id,
        client=client_of(request),
        passkey=passkey_id,
    )
    return Response({"redirect": "/me/security?added=1"})


async def _passkeys_changed(
    request: AnyRequest, member: Member, action: str, passkey_id: int
) -> Any:
    """Audit a change to one's passkeys, then show the list again (or the page without JS)."""
    await audit.record(
        action, actor=member.id, subject=member.id, client=client_of(request), passkey=passkey_id
    )
    if request.htmx:
        return await _security_page(request, block="passkeys")
    return see_other(request, "/me/security")


async def _own_passkey(member: Member, passkey_id: int) -> dict[str, Any]:
    row = (
        await Passkey.select(Passkey.id, Passkey.name)
        .where((Passkey.id == passkey_id) & (Passkey.member == member.id))
        .first()
    )
    if row is None:
        raise NotFoundException()
    return row


@post(
    "/me/passkeys/{passkey_id:int}/rename",
    status_code=200,
    name="passkey_rename",
    guards=[signed_in],
)
async def rename_passkey(request: AnyRequest, passkey_id: FromPath[int], data: Form) -> Any:
    member = request.user
    await _own_passkey(member, passkey_id)
    name = (data.get("name") or "").strip()
    if not name or len(name) > 60:
        return await _security_page(
            request,
            status_code=422,
            block="passkeys",
            rename_errors={passkey_id: _("Give the passkey a name of 1 to 60 characters.")},
        )
    await Passkey.update({Passkey.name: name}).where(Passkey.id == passkey_id)
    return await _passkeys_changed(request, member, "passkey_renamed", passkey_id)


@post(
    "/me/passkeys/{passkey_id:int}/delete",
    status_code=200,
    name="passkey_remove",
    guards=[signed_in],
)
async def remove_passkey(request: AnyRequest, passkey_id: FromPath[int]) -> Any:
    member = request.user
    await _own_passkey(member, passkey_id)
    if await Passkey.count().where(Passkey.member == member.id) <= 1:
        return await _security_page(
            request,
            status_code=422,
            block="passkeys",
            passkeys_error=_("This is your only passkey: add another one before removing it."),
        )
    await Passkey.delete().where(Passkey.id == passkey_id)
    return await _passkeys_changed(request, member, "passkey_removed", passkey_id)


@post("/me/signout-everywhere", status_code=200, name="signout_everywhere", guards=[signed_in])
async def signout_everywhere(request: AnyRequest) -> Response[Any]:
    member = request.user
    ended = await end_all_sessions(member.id)
    await audit.record(
        "signout_everywhere",
        actor=member.id,
        subject=member.id,
        client=client_of(request),
        sessions=ended,
    )
    response = see_other(request, "/signin?bye=1")
    response.delete_cookie(cookie_name(settings_of(request).https), path="/")
    return response


ROUTES = [
    security_page,
    confirm_options,
    confirm_verify,
    add_passkey_options,
    add_passkey_verify,
    rename_passkey,
    remove_passkey,
    signout_everywhere,
]
