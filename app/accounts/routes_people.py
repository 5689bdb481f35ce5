"""The admin's people pages (invite, import, a person, their role and links) and the audit log."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, MultipartBody

from app.accounts import audit, invitations, people
from app.accounts.guards import admin
from app.accounts.invitations import Invited
from app.accounts.person_page import person_page
from app.accounts.routes_signin import (
    Form,
    qr_svg,
)
from app.accounts.tables import Role
from app.core.i18n import LANGUAGES, _
from app.org.service import organisation_name
from app.web import ratelimit
from app.web.pages import render
from app.web.requests import AnyRequest, client_of, limiter_of, settings_of, sso_required

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
        "accounts/people.html",
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
    """Enrolment links go out by email too when SMTP is configured (else: QR code, link),
    unless an admin requires single sign-on: people then sign in with their company account."""
    settings = settings_of(request)
    if not settings.smtp_url or await sso_required(request):
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
    if not checked.ok:
        return await _people_page(
            request,
            status_code=422,
            block="invite_form",
            invite_values=checked.values,
            invite_errors=checked.errors,
        )
    try:
        invited = await invitations.invite(
            checked.values["person"],
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
    if any(not row.ok for row in rows):
        return await _people_page(
            request, status_code=422, block="import_form", import_rows=rows, imported=False
        )
    link_mail = await _link_mail(request)
    await invitations.import_people(
        [row.values["person"] for row in rows],
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
        "accounts/audit.html",
        events=events,
        actions=audit.ACTIONS,
        next_before=events[-1]["id"] if len(events) == 50 else None,
    )


ROUTES = [
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
