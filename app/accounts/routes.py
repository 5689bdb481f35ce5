"""Sign-in, enrolment, my security page, and the admin's people and audit pages."""

from __future__ import annotations

from typing import Any

import segno
from litestar import Response, get, post
from litestar.datastructures import Cookie, UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody, URLEncodedBody
from markupsafe import Markup

from app.accounts import audit, invitations, passkeys, people
from app.accounts.guards import admin, anyone, signed_in
from app.accounts.invitations import Invited
from app.accounts.passkeys import PasskeyError
from app.accounts.person_page import person_page
from app.accounts.sessions import (
    cookie_name,
    create_session,
    end_all_sessions,
    end_session,
    mark_fresh,
)
from app.accounts.tables import Member, Passkey, Role
from app.core.i18n import LANGUAGES, _
from app.org.service import organisation_name
from app.web import ratelimit
from app.web.devices import device_name
from app.web.pages import render, see_other
from app.web.requests import AnyRequest, client_of, limiter_of, safe_next, settings_of

Form = URLEncodedBody[dict[str, str]]
Json = dict[str, Any]
JsonBody = JSONBody[dict[str, Any]]


def _refused(message: str, status_code: int = 400) -> Response[Json]:
    return Response({"error": message}, status_code=status_code)


def _signed_in_response(request: AnyRequest, token: str, target: str) -> Response[Json]:
    settings = settings_of(request)
    response: Response[Json] = Response({"redirect": target})
    response.cookies.append(
        Cookie(
            key=cookie_name(settings.https),
            value=token,
            path="/",
            max_age=int(settings.session_lifetime.total_seconds()),
            httponly=True,
            secure=settings.https,
            samesite="lax",
        )
    )
    return response


def qr_svg(url: str) -> Markup:
    """The enrolment link as an inline SVG QR code, to scan from the admin's screen."""
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


# --- Admin: people -----------------------------------------------------------------------


async def _people_page(
    request: AnyRequest,
    status_code: int = 200,
    block: str = "app",
    **extra: Any,
) -> Response[str]:
    teams, sites = await invitations.teams_and_sites()
    search = request.query_params.get("q", "")
    status = request.query_params.get("status", "all")
    return await render(
        request,
        "admin/people.html",
        block=block,
        status_code=status_code,
        people=await people.directory(search, status),
        teams=teams,
        sites=sites,
        roles=[r.value for r in Role],
        languages=LANGUAGES,
        search=search,
        status=status,
        **extra,
    )


@get("/admin/people", name="people", guards=[admin])
async def people_page(request: AnyRequest) -> Response[str]:
    if request.htmx and request.headers.get("hx-target") == "people-list":
        return await _people_page(request, block="people_list")
    return await _people_page(request)


async def _link_mail(request: AnyRequest) -> invitations.LinkMail | None:
    """Enrolment links go out by email too when SMTP is configured (else: QR code, link)."""
    settings = settings_of(request)
    if not settings.smtp_url:
        return None
    return invitations.LinkMail(settings, await organisation_name())


async def _show_link(request: AnyRequest, invited: Invited, message: str) -> Response[str]:
    url = invitations.enrolment_url(settings_of(request), invited.token)
    return await person_page(
        request,
        invited.member_id,
        new_link={"url": url, "qr": qr_svg(url), "expires_at": invited.expires_at},
        notice=message,
        new_link_emailed=bool(settings_of(request).smtp_url),
    )


@post("/admin/people", status_code=200, name="invite", guards=[admin])
async def invite_person(request: AnyRequest, data: Form) -> Response[str]:
    me = request.user
    await limiter_of(request).hit(ratelimit.INVITES_PER_ADMIN, str(me.id))
    teams, sites = await invitations.teams_and_sites()
    checked = invitations.check_person(data, teams, sites, await invitations.taken_emails())
    if checked.person is None:
        return await _people_page(
            request,
            status_code=422,
            block="invite_form",
            invite_values=checked.values,
            invite_errors=checked.errors,
        )
    try:
        invited = await invitations.invite(
            checked.person,
            by=me.id,
            client=client_of(request),
            link_mail=await _link_mail(request),
            lifetime=settings_of(request).invitation_lifetime,
        )
    except ValueError:
        return await _people_page(
            request,
            status_code=422,
            block="invite_form",
            invite_values=checked.values,
            invite_errors={"email": _("Someone with this email address is already in Relay.")},
        )
    response = await _show_link(request, invited, _("Invitation created."))
    if request.htmx:
        response.headers["HX-Retarget"] = "#app"
        response.headers["HX-Reswap"] = "innerHTML"
        response.headers["HX-Push-Url"] = f"/admin/people/{invited.member_id}"
    return response


@post("/admin/people/import", status_code=200, name="import_people", guards=[admin])
async def import_people(
    request: AnyRequest,
    data: MultipartBody[dict[str, Any]],
) -> Response[str]:
    me = request.user
    upload = data.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _people_page(
            request,
            status_code=422,
            block="import_form",
            import_error=_("Choose a CSV file to import."),
        )
    content = await upload.read(invitations.MAX_CSV_BYTES + 1)
    teams, sites = await invitations.teams_and_sites()
    rows, error = invitations.parse_people_csv(
        content, teams, sites, await invitations.taken_emails()
    )
    if error is not None:
        return await _people_page(request, status_code=422, block="import_form", import_error=error)
    if any(row.person is None for row in rows):
        return await _people_page(
            request, status_code=422, block="import_form", import_rows=rows, imported=False
        )
    link_mail = await _link_mail(request)
    await invitations.import_people(
        [row.person for row in rows if row.person is not None],
        by=me.id,
        client=client_of(request),
        link_mail=link_mail,
        lifetime=settings_of(request).invitation_lifetime,
    )
    return await _people_page(
        request,
        block="import_form",
        import_rows=rows,
        imported=True,
        import_emailed=link_mail is not None,
    )


@get("/admin/people/{member_id:int}", name="person", guards=[admin])
async def show_person(request: AnyRequest, member_id: FromPath[int]) -> Response[str]:
    return await person_page(request, member_id)


@post("/admin/people/{member_id:int}/role", status_code=200, name="change_role", guards=[admin])
async def change_role(request: AnyRequest, member_id: FromPath[int], data: Form) -> Response[str]:
    session = request.auth
    if not session.fresh:
        return await person_page(
            request,
            member_id,
            status_code=422,
            role_error=_("Confirm it's you with a passkey first."),
        )
    try:
        await people.change_role(
            member_id, data.get("role", ""), by=session.member.id, client=client_of(request)
        )
    except people.PeopleError as exc:
        return await person_page(request, member_id, status_code=422, role_error=str(exc))
    return await person_page(request, member_id, notice=_("Role changed."))


@post(
    "/admin/people/{member_id:int}/deactivate", status_code=200, name="deactivate", guards=[admin]
)
async def deactivate(request: AnyRequest, member_id: FromPath[int]) -> Response[str]:
    try:
        await people.deactivate(member_id, by=request.user.id, client=client_of(request))
    except people.PeopleError as exc:
        return await person_page(request, member_id, status_code=422, status_error=str(exc))
    return await person_page(
        request,
        member_id,
        notice=_("Deactivated: their sessions have ended and their passkeys no longer work."),
    )


@post(
    "/admin/people/{member_id:int}/reactivate", status_code=200, name="reactivate", guards=[admin]
)
async def reactivate(request: AnyRequest, member_id: FromPath[int]) -> Response[str]:
    await people.reactivate(member_id, by=request.user.id, client=client_of(request))
    return await person_page(request, member_id, notice=_("Reactivated."))


@post("/admin/people/{member_id:int}/link", status_code=200, name="new_link", guards=[admin])
async def new_link(request: AnyRequest, member_id: FromPath[int], data: Form) -> Response[str]:
    me = request.user
    person = await people.person(member_id)
    if person is None:
        raise NotFoundException()
    if not person["active"]:
        return await person_page(
            request,
            member_id,
            status_code=422,
            status_error=_("Reactivate this person before sending a link."),
        )
    invited = await invitations.issue_link(
        member_id,
        by=me.id,
        revoke_passkeys=data.get("revoke_passkeys") == "on",
        client=client_of(request),
        link_mail=await _link_mail(request),
        lifetime=settings_of(request).invitation_lifetime,
    )
    return await _show_link(request, invited, _("New enrolment link created."))


@post(
    "/admin/invitations/{invitation_id:int}/revoke",
    status_code=200,
    name="revoke_invitation",
    guards=[admin],
)
async def revoke_invitation(request: AnyRequest, invitation_id: FromPath[int]) -> Response[str]:
    member_id = await invitations.revoke(
        invitation_id, by=request.user.id, client=client_of(request)
    )
    if member_id is None:
        raise NotFoundException()
    return await person_page(request, member_id, notice=_("Link revoked."))


@get("/admin/audit", name="audit", guards=[admin])
async def audit_page(request: AnyRequest, before: FromQuery[int | None] = None) -> Response[str]:
    events = await audit.recent(limit=50, before=before)
    return await render(
        request,
        "admin/audit.html",
        events=events,
        actions=audit.ACTIONS,
        next_before=events[-1]["id"] if len(events) == 50 else None,
    )


ROUTES = [
    signin_page,
    signin_options,
    signin_verify,
    signout,
    enrol_page,
    enrol_options,
    enrol_verify,
    security_page,
    confirm_options,
    confirm_verify,
    add_passkey_options,
    add_passkey_verify,
    rename_passkey,
    remove_passkey,
    signout_everywhere,
    people_page,
    invite_person,
    import_people,
    show_person,
    change_role,
    deactivate,
    reactivate,
    new_link,
    revoke_invitation,
    audit_page,
]
