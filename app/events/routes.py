"""Events: the members' list and an event's public page (sign up, cancel, calendar file,
share, candidates' interest), and the editors' side under Studio (create, edit, sign-ups,
confirm, attendance, message the sign-ups)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody

from app.accounts.guards import anyone, editor, member_of, signed_in
from app.candidates.applications import REFERRAL_COOKIE, link_by_code, referrer_for
from app.content.markdown import plain_excerpt, render_markdown
from app.content.media import image_url
from app.core.i18n import LANGUAGES, _
from app.events import service
from app.events.service import OUTCOME_SENTENCES, SignupOutcome
from app.notifications.preferences import DEFAULT_TIME_ZONE, time_zones
from app.sharing.service import default_caption, link_code, share_url
from app.web.pages import render, see_other
from app.web.ratelimit import APPLY_PER_CLIENT
from app.web.requests import AnyRequest, client_of, limiter_of, settings_of, time_zone_of

Form = URLEncodedBody[dict[str, str]]


def _form(data: Any) -> dict[str, Any]:
    return data if isinstance(data, dict) else {}


# ---------------------------------------------------------------- members and the public


@get("/events", name="events", guards=[signed_in], opt={"tab": "feed"})
async def events_page(request: AnyRequest) -> Response[str]:
    events = await service.upcoming_events()
    mine = await service.my_signups(request.user.id)
    counts = await service.signup_counts([e["id"] for e in events])
    for event in events:
        event["signup"] = mine.get(event["id"])
        event["places_left"] = max(0, event["capacity"] - counts.get(event["id"], 0))
    return await render(request, "events/list.html", events=events, roles=service.ROLE_NAMES)


async def _public_or_404(event_id: int) -> dict[str, Any]:
    event = await service.public_event(event_id)
    if event is None:
        raise NotFoundException()
    return service.with_facts(event)


async def _event_page(
    request: AnyRequest,
    event: dict[str, Any],
    *,
    block: str = "app",
    status_code: int = 200,
    **context: Any,
) -> Response[str]:
    member = member_of(request)
    settings = settings_of(request)
    taken = (await service.signup_counts([event["id"]])).get(event["id"], 0)
    image = image_url(event["image"], 1200)
    extra: dict[str, Any] = {}
    if member is not None:
        code = await link_code(member.id, int(event["item"]))
        extra = {
            "signup": await service.signup_of(event["id"], member.id),
            "share_url": share_url(settings.public_url, code),
            "caption": default_caption({"kind": "event", "title": event["title"]}),
            "tab": "feed",
        }
    return await render(
        request,
        "events/page.html",
        block=block,
        status_code=status_code,
        event=event,
        body_html=render_markdown(event["body"]),
        places_left=max(0, event["capacity"] - taken),
        roles=service.ROLE_NAMES,
        canonical=f"{settings.public_url}/events/{event['id']}",
        description=plain_excerpt(event["body"], 200) or event["title"],
        image_absolute=f"{settings.public_url}{image}" if image else None,
        interest_action=f"/events/{event['id']}/interest",
        **extra,
        **context,
    )


@get("/events/{event_id:int}", name="event", guards=[anyone])
async def event_page(request: AnyRequest, event_id: FromPath[int]) -> Response[str]:
    """The event's page: public (Open Graph tags for link previews); a signed-in member signs
    up, cancels and shares it from here, a candidate registers their interest."""
    return await _event_page(request, await _public_or_404(event_id))


@post("/events/{event_id:int}/signup", status_code=200, name="event_signup", guards=[signed_in])
async def event_signup(request: AnyRequest, event_id: FromPath[int], data: Form) -> Response[str]:
    event = await _public_or_404(event_id)
    role = _form(data).get("role", "")
    if role not in service.ROLE_NAMES:
        return await _event_page(
            request,
            event,
            block="signup",
            status_code=422,
            signup_error=_("Choose whether you come as a volunteer or as an attendee."),
        )
    outcome = await service.sign_up(event_id, request.user.id, role)
    ok = outcome in (SignupOutcome.signed_up, SignupOutcome.already)
    return await _event_page(
        request,
        event,
        block="signup",
        status_code=200 if ok else 409,
        signup_notice=_(OUTCOME_SENTENCES[outcome]) if ok else None,
        signup_error=None if ok else _(OUTCOME_SENTENCES[outcome]),
    )


@post("/events/{event_id:int}/cancel", status_code=200, name="event_cancel", guards=[signed_in])
async def event_cancel(request: AnyRequest, event_id: FromPath[int]) -> Response[str]:
    event = await _public_or_404(event_id)
    cancelled = await service.cancel(event_id, request.user.id)
    return await _event_page(
        request,
        event,
        block="signup",
        signup_notice=_("Your sign-up is cancelled.") if cancelled else None,
        signup_error=None
        if cancelled
        else _("There is no sign-up to cancel, or the event has started."),
    )


@get("/events/{event_id:int}/calendar.ics", name="event_calendar", guards=[anyone])
async def event_calendar(request: AnyRequest, event_id: FromPath[int]) -> Response[bytes]:
    """The event for the phone's calendar, in its own time zone."""
    event = await _public_or_404(event_id)
    return Response(
        service.calendar_file(event, settings_of(request).public_url),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="event-{event_id}.ics"'},
    )


async def _interest(
    request: AnyRequest, event: dict[str, Any], data: Any, referrer: int | None, action: str
) -> Response[str]:
    await limiter_of(request).hit(APPLY_PER_CLIENT, client_of(request))
    form = service.check_interest(_form(data))
    member = member_of(request)
    if form.ok:
        await service.register_interest(event, referrer, form, member.id if member else None)
    return await render(
        request,
        "events/page.html",
        block="interest",
        status_code=200 if form.ok else 422,
        event=event,
        interest_form=None if form.ok else form,
        interested=form.ok,
        interest_action=action,
    )


@post("/events/{event_id:int}/interest", status_code=200, name="event_interest", guards=[anyone])
async def event_interest(request: AnyRequest, event_id: FromPath[int], data: Form) -> Response[str]:
    """A candidate's interest from the event's own page: credited to the last tracked link
    this browser followed, as an application is."""
    event = await _public_or_404(event_id)
    referrer = await referrer_for("", request.cookies.get(REFERRAL_COOKIE))
    return await _interest(request, event, data, referrer, f"/events/{event_id}/interest")


@post("/r/{code:str}/interest", status_code=200, name="link_interest", guards=[anyone])
async def link_interest(request: AnyRequest, code: FromPath[str], data: Form) -> Response[str]:
    """A candidate's interest from the page behind a member's tracked link to an event."""
    link = await link_by_code(code)
    event = await service.event_of_item(int(link["item"])) if link else None
    public = await service.public_event(int(event["id"])) if event else None
    if public is None:
        raise NotFoundException()
    referrer = await referrer_for(code, request.cookies.get(REFERRAL_COOKIE))
    return await _interest(
        request, service.with_facts(public), data, referrer, f"/r/{code}/interest"
    )


# ---------------------------------------------------------------- editors


async def _editor_choices(request: AnyRequest) -> dict[str, Any]:
    return {
        "kinds": service.KIND_NAMES,
        "languages": LANGUAGES,
        "time_zones": sorted(time_zones()),
    }


@get("/studio/events", name="studio_events", guards=[editor], opt={"tab": "studio"})
async def studio_events(request: AnyRequest) -> Response[str]:
    return await render(request, "events/studio/list.html", events=await service.studio_events())


async def _edit_page(
    request: AnyRequest,
    event: dict[str, Any] | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    *,
    status_code: int = 200,
    block: str = "app",
    **context: Any,
) -> Response[str]:
    extra: dict[str, Any] = {}
    if event is not None:
        extra = {
            "signups": await service.signups_of(event["id"]),
            "interested": await service.interested_candidates(event),
            "roles": service.ROLE_NAMES,
        }
    return await render(
        request,
        "events/studio/edit.html",
        block=block,
        status_code=status_code,
        event=event,
        values=values,
        errors=errors or {},
        **await _editor_choices(request),
        **extra,
        **context,
    )


@get("/studio/events/new", name="studio_event_new", guards=[editor], opt={"tab": "studio"})
async def studio_event_new(request: AnyRequest) -> Response[str]:
    zone = await time_zone_of(request)
    values = {
        "kind": "job_fair",
        "language": request.user.language if request.user.language in LANGUAGES else "en",
        "time_zone": zone or DEFAULT_TIME_ZONE,
        "capacity": "10",
    }
    return await _edit_page(request, None, values)


@post(
    "/studio/events/new",
    status_code=200,
    name="studio_event_create",
    guards=[editor],
    opt={"tab": "studio"},
)
async def studio_event_create(request: AnyRequest, data: Form) -> Response[Any]:
    form = service.check_event(_form(data))
    if not form.ok:
        return await _edit_page(request, None, form.values, form.errors, status_code=422)
    event_id = await service.save_event(None, form, request.user.id)
    return see_other(request, f"/studio/events/{event_id}?saved=1")


async def _event_or_404(event_id: int) -> dict[str, Any]:
    event = await service.event_by_id(event_id)
    if event is None:
        raise NotFoundException()
    return service.with_facts(event)


@get("/studio/events/{event_id:int}", name="studio_event", guards=[editor], opt={"tab": "studio"})
async def studio_event(request: AnyRequest, event_id: FromPath[int]) -> Response[str]:
    event = await _event_or_404(event_id)
    saved = request.query_params.get("saved") == "1"
    return await _edit_page(request, event, service.form_values(event), saved=saved)


@post(
    "/studio/events/{event_id:int}",
    status_code=200,
    name="studio_event_update",
    guards=[editor],
    opt={"tab": "studio"},
)
async def studio_event_update(
    request: AnyRequest, event_id: FromPath[int], data: Form
) -> Response[Any]:
    event = await _event_or_404(event_id)
    form = service.check_event(_form(data))
    if not form.ok:
        return await _edit_page(request, event, form.values, form.errors, status_code=422)
    await service.save_event(event_id, form, request.user.id)
    return see_other(request, f"/studio/events/{event_id}?saved=1")


async def _signups_block(
    request: AnyRequest, event: dict[str, Any], status_code: int = 200, **context: Any
) -> Response[str]:
    return await _edit_page(
        request,
        event,
        service.form_values(event),
        block="signups",
        status_code=status_code,
        **context,
    )


@post(
    "/studio/events/{event_id:int}/signups/{signup_id:int}/confirm",
    status_code=200,
    name="studio_event_confirm",
    guards=[editor],
)
async def studio_event_confirm(
    request: AnyRequest, event_id: FromPath[int], signup_id: FromPath[int], data: Form
) -> Response[str]:
    event = await _event_or_404(event_id)
    confirmed = _form(data).get("confirmed") != "no"
    done = await service.confirm_volunteer(event_id, signup_id, confirmed, service.now())
    return await _signups_block(
        request,
        event,
        status_code=200 if done else 409,
        signups_error=None
        if done
        else _("Only a volunteer not yet marked present can be confirmed."),
    )


@post(
    "/studio/events/{event_id:int}/signups/{signup_id:int}/attended",
    status_code=200,
    name="studio_event_attended",
    guards=[editor],
)
async def studio_event_attended(
    request: AnyRequest, event_id: FromPath[int], signup_id: FromPath[int]
) -> Response[str]:
    event = await _event_or_404(event_id)
    done = await service.mark_attended(event_id, signup_id)
    return await _signups_block(
        request,
        event,
        status_code=200 if done else 409,
        signups_error=None
        if done
        else _("Attendance is ticked for confirmed volunteers, once the event has started."),
    )


@post(
    "/studio/events/{event_id:int}/message",
    status_code=200,
    name="studio_event_message",
    guards=[editor],
)
async def studio_event_message(
    request: AnyRequest, event_id: FromPath[int], data: Form
) -> Response[Any]:
    """A push campaign to everyone signed up: the campaigns' form, report and delivery."""
    event = await _event_or_404(event_id)
    moment = service.now()
    form = service.check_message(_form(data), event, settings_of(request), moment)
    if form.ok:
        campaign_id = await service.message_signups(form, event, request.user.id, moment)
        if campaign_id is not None:
            return see_other(request, f"/campaigns/{campaign_id}")
        form.refuse(_("Nobody has signed up yet: there is nobody to write to."))
    return await _edit_page(
        request,
        event,
        service.form_values(event),
        block="message",
        status_code=422,
        message_values=form.values,
        message_errors=form.errors,
        message_error=form.error,
    )


ROUTES = [
    events_page,
    event_page,
    event_signup,
    event_cancel,
    event_calendar,
    event_interest,
    link_interest,
    studio_events,
    studio_event_new,
    studio_event_create,
    studio_event,
    studio_event_update,
    studio_event_confirm,
    studio_event_attended,
    studio_event_message,
]
