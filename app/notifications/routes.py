"""Opting in to push, the Notifications page, notification opens, and HR campaigns."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Response, get, post
from litestar.exceptions import MethodNotAllowedException, NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, URLEncodedBody

from app.accounts.guards import anyone, editor, signed_in
from app.accounts.tables import Role
from app.core.clock import now
from app.core.i18n import _, ngettext
from app.core.validation import parse_id
from app.notifications import campaigns, devices
from app.notifications import preferences as notifications_preferences
from app.notifications.campaigns import CampaignDraft
from app.notifications.preferences import Preferences
from app.org.service import active_teams_and_sites
from app.web.pages import render, see_other, wants_fragment
from app.web.ratelimit import Limit
from app.web.requests import AnyRequest, client_of, limiter_of, settings_of
from push import (
    DeviceOfAnotherMember,
    PushMessageError,
    SubscriptionError,
    application_server_key,
    devices_of,
    remove_subscription,
    set_device_active,
)

Form = URLEncodedBody[dict[str, str]]
Json = dict[str, Any]
JsonBody = JSONBody[dict[str, Any]]

TESTS_PER_MEMBER = Limit("push-test-member", 5, 60)
SUBSCRIBE_PER_MEMBER = Limit("push-subscribe-member", 20, 600)
OPENS_PER_CLIENT = Limit("push-open-client", 120, 60)
CAMPAIGN_TESTS_PER_EDITOR = Limit("campaign-test-editor", 10, 60)


def _refused(message: str, status_code: int = 422) -> Response[Json]:
    return Response({"error": message}, status_code=status_code)


def _text(data: Any, name: str) -> str:
    value = data.get(name) if isinstance(data, dict) else None
    return value if isinstance(value, str) else ""


# --- Opting in ---------------------------------------------------------------------------


@get("/push/key", name="push_key", guards=[signed_in], cache=False)
async def push_key(request: AnyRequest) -> Json:
    """The VAPID application server key the browser subscribes with."""
    return {"key": application_server_key(settings_of(request))}


@post("/push/subscriptions", status_code=200, name="push_subscribe", guards=[signed_in])
async def push_subscribe(request: AnyRequest, data: JsonBody) -> Response[Json]:
    """Save what ``pushManager.subscribe()`` returned for this device."""
    member = request.user
    await limiter_of(request).hit(SUBSCRIBE_PER_MEMBER, str(member.id))
    keys = data.get("keys") if isinstance(data.get("keys"), dict) else {}
    try:
        subscription_id = await devices.opt_in(
            member.id,
            settings_of(request),
            _text(data, "endpoint"),
            _text(keys, "p256dh"),
            _text(keys, "auth"),
            request.headers.get("user-agent", ""),
        )
    except SubscriptionError as exc:
        return _refused(
            devices.subscription_refusal(exc),
            409 if isinstance(exc, DeviceOfAnotherMember) else 422,
        )
    await notifications_preferences.remember_time_zone(member.id, _text(data, "time_zone"), now())
    return Response({"id": subscription_id, "message": _("Notifications are on for this device.")})


@post("/push/subscriptions/remove", status_code=200, name="push_unsubscribe", guards=[signed_in])
async def push_unsubscribe(request: AnyRequest, data: JsonBody) -> Response[Json]:
    removed = await remove_subscription(request.user.id, _text(data, "endpoint"))
    return Response({"removed": removed})


# The service worker posts without a CSRF token: see the docstring.
@post(
    "/push/subscriptions/change",
    status_code=200,
    name="push_resubscribe",
    guards=[signed_in],
    opt={"exclude_from_csrf": True},
)
async def push_resubscribe(request: AnyRequest, data: JsonBody) -> Response[Json]:
    """The service worker's ``pushsubscriptionchange``: the old endpoint and the new one.

    The service worker cannot read the CSRF token, so this route is exempt from it; it takes
    JSON only (a cross-site form cannot send that without a CORS pre-flight Relay never
    grants), needs the session cookie, and only moves a device the member already had.
    """
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return _refused(_("This request must be JSON."), 415)
    subscription = data.get("subscription")
    subscription = subscription if isinstance(subscription, dict) else {}
    keys = subscription.get("keys") if isinstance(subscription.get("keys"), dict) else {}
    try:
        renewed = await devices.replace_subscription(
            request.user.id,
            settings_of(request),
            _text(data, "old_endpoint"),
            _text(subscription, "endpoint"),
            _text(keys, "p256dh"),
            _text(keys, "auth"),
            request.headers.get("user-agent", ""),
        )
    except SubscriptionError as exc:
        return _refused(
            devices.subscription_refusal(exc),
            409 if isinstance(exc, DeviceOfAnotherMember) else 422,
        )
    if renewed is None:
        return _refused(_("This device was not receiving notifications."), 404)
    return Response({"id": renewed})


@post(
    "/push/opened",
    status_code=200,
    name="push_opened",
    guards=[anyone],
    opt={"exclude_from_csrf": True},
)
async def push_opened(request: AnyRequest, data: JsonBody) -> Response[Json]:
    """The service worker reports a tapped notification (CSRF-exempt, JSON only, once each)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return _refused(_("This request must be JSON."), 415)
    await limiter_of(request).hit(OPENS_PER_CLIENT, client_of(request))
    counted = await devices.record_open(_text(data, "id"), now())
    return Response({"counted": counted})


# --- The Notifications page ----------------------------------------------------------------


async def _page(
    request: AnyRequest,
    *,
    block: str = "app",
    status_code: int = 200,
    preferences: Preferences | None = None,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    notice: str = "",
    find: str = "",
) -> Any:
    member = request.user
    preferences = preferences or await notifications_preferences.preferences_of(member.id)
    return await render(
        request,
        "notifications/page.html",
        block=block,
        status_code=status_code,
        preferences=preferences,
        stored=await notifications_preferences.preferences_stored(member.id),
        kinds=[
            ("content", _("New content to share"), _("Stories and job offers for you.")),
            (
                "referral",
                _("Referral progress"),
                _(
                    "When a friend you recommended moves on, and when the team replies "
                    "to your story or question."
                ),
            ),
            ("reward", _("Rewards"), _("When you have enough points for a reward.")),
            ("campaign", _("Company announcements"), _("Messages from HR and communication.")),
            (
                "event",
                _("Event reminders"),
                _("The day before and an hour before an event you signed up for."),
            ),
        ],
        zone_groups=notifications_preferences.zone_groups(find),
        zone_find=find,
        zone_label=notifications_preferences.zone_label,
        devices=await devices_of(member.id),
        errors=errors or {},
        form=form or {},
        notice=notice,
    )


@get("/notifications", name="notifications", guards=[signed_in])
async def notifications_page(request: AnyRequest, zone_find: FromQuery[str] = "") -> Any:
    """``zone_find``: the time zone picker's search, sent by its Find button without
    JavaScript (with it, the list filters as one types)."""
    return await _page(request, find=zone_find[:60])


@post("/notifications/preferences", status_code=200, name="save_notifications", guards=[signed_in])
async def save_notifications(request: AnyRequest, data: Form) -> Any:
    checked = notifications_preferences.parse_preferences(data)
    if not checked.ok:
        return await _page(
            request, block="preferences_form", status_code=422, errors=checked.errors, form=data
        )
    preferences = checked.values["preferences"]
    await notifications_preferences.save_preferences(request.user.id, preferences, now())
    if not request.htmx:
        return see_other(request, "/notifications")
    return await _page(
        request,
        block="preferences_form",
        preferences=preferences,
        notice=_("Your notification settings are saved."),
    )


@post("/notifications/test", status_code=200, name="test_notification", guards=[signed_in])
async def test_notification(request: AnyRequest) -> Any:
    member = request.user
    await limiter_of(request).hit(TESTS_PER_MEMBER, str(member.id))
    count = await devices.send_test(member.id, now())
    if count:
        notice = ngettext(
            "A test notification is on its way to your device.",
            "A test notification is on its way to your %(num)d devices.",
            count,
        ) % {"num": count}
    else:
        notice = _("No device receives notifications yet: turn them on first.")
    if not request.htmx:
        return see_other(request, "/notifications")
    return await _page(request, block="devices", notice=notice)


@post(
    "/notifications/devices/{subscription_id:int}",
    status_code=200,
    name="toggle_device",
    guards=[signed_in],
)
async def toggle_device(request: AnyRequest, subscription_id: FromPath[int], data: Form) -> Any:
    if not await set_device_active(request.user.id, subscription_id, data.get("active") == "on"):
        raise NotFoundException()
    if not request.htmx:
        return see_other(request, "/notifications")
    return await _page(request, block="devices")


# --- Campaigns ---------------------------------------------------------------------------


async def _choices() -> dict[str, Any]:
    teams, sites = await active_teams_and_sites()
    return {
        "teams": [(str(team["id"]), team["name"]) for team in teams],
        "sites": [(str(site["id"]), site["name"]) for site in sites],
        "roles": [
            (Role.employee.value, _("Employees")),
            (Role.editor.value, _("Editors")),
            (Role.admin.value, _("Admins")),
        ],
    }


async def _campaigns_page(
    request: AnyRequest,
    *,
    block: str = "app",
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    preview: CampaignDraft | None = None,
    notice: str = "",
    before: int | None = None,
) -> Any:
    listed, next_before = await campaigns.recent_campaigns(before)
    form = form or {"url": "/", "days": "30", "when": "now"}
    return await render(
        request,
        "notifications/campaigns/list.html",
        block=block,
        status_code=status_code,
        campaigns=listed,
        next_before=next_before,
        errors=errors or {},
        form=form,
        preview=preview,
        notice=notice,
        reach=await request.app.state.campaign_reach.of(campaigns.audience_of(form), now()),
        link_choices=await campaigns.link_choices(str(form.get("link_q") or "")),
        **(await _choices()),
    )


def _route_of(request: AnyRequest, path: str) -> tuple[str, dict[str, Any]] | None:
    """The page of this app a GET of ``path`` reaches: (its path template, its parameters)."""
    try:
        _app, _handler, _path, params, template = request.app.asgi_router.handle_routing(
            path=urlsplit(path).path, method="GET"
        )
    except (NotFoundException, MethodNotAllowedException):
        return None
    return template, dict(params)


@get("/campaigns", name="campaigns", guards=[editor], opt={"tab": "campaigns"})
async def campaigns_page(request: AnyRequest, before: FromQuery[str | None] = None) -> Any:
    older = parse_id(before)
    if older is not None and wants_fragment(request):
        return await _campaigns_page(request, block="campaign_items", before=older)
    return await _campaigns_page(request, before=older)


async def _compose_form(request: AnyRequest) -> dict[str, Any]:
    """The compose form with its multiple choices as lists."""
    form = await request.form()
    return _form_values(form)


def _form_values(form: Any) -> dict[str, Any]:
    return {
        key: (form.getall(key) if key in {"teams", "sites", "roles"} else form.get(key))
        for key in form
    }


@post(
    "/campaigns",
    status_code=200,
    name="compose_campaign",
    guards=[editor],
    opt={"tab": "campaigns"},
)
async def compose_campaign(request: AnyRequest) -> Any:
    """Preview, send a test to myself, send now or schedule: the button pressed says which."""
    member = request.user
    form = await _compose_form(request)
    picked = str(form.get("pick") or "")
    if picked or form.get("action") == "find":
        # A published item chosen in the picker: its page becomes the link, nothing is sent.
        is_id = picked.isascii() and picked.isdigit() and len(picked) < 10
        if is_id and await campaigns.is_published_item(int(picked)):
            form["url"] = f"/items/{picked}"
        return await _campaigns_page(request, block="compose", form=form)
    time_zone = (await notifications_preferences.preferences_of(member.id)).time_zone
    checked = campaigns.parse_campaign(form, settings_of(request), now(), time_zone)
    if checked.ok:
        path = checked.values["draft"].url
        problem = await campaigns.link_problem(path, _route_of(request, path))
        if problem:
            checked.fail("url", problem)
    if not checked.ok:
        return await _campaigns_page(
            request, block="compose", status_code=422, errors=checked.errors, form=form
        )
    draft: campaigns.CampaignDraft = checked.values["draft"]
    action = form.get("action")
    if action == "preview":
        return await _campaigns_page(request, block="compose", form=form, preview=draft)
    if action == "test":
        await limiter_of(request).hit(CAMPAIGN_TESTS_PER_EDITOR, str(member.id))
        count = await campaigns.send_campaign_test(draft, member.id, now())
        notice = (
            _("A test is on its way to your devices.")
            if count
            else _("You have no device with notifications on: turn them on first.")
        )
        return await _campaigns_page(request, block="compose", form=form, notice=notice)
    try:
        campaign_id = await campaigns.create_campaign(draft, member.id, now())
    except PushMessageError as exc:
        return await _campaigns_page(
            request,
            block="compose",
            status_code=422,
            errors={"body": devices.message_refusal(exc)},
            form=form,
        )
    target = f"/campaigns/{campaign_id}"
    return see_other(request, target)


@get("/campaigns/links", name="campaign_links", guards=[editor], opt={"tab": "campaigns"})
async def campaign_links(request: AnyRequest) -> Any:
    """The link picker's choices: published items whose title matches what the editor types."""
    search = request.query_params.get("link_q", "")[:100]
    form = {"url": "/", "days": "30", "when": "now", "link_q": search}
    return await _campaigns_page(request, block="link_choices", form=form)


@get("/campaigns/reach", name="campaign_reach", guards=[editor], opt={"tab": "campaigns"})
async def campaign_reach(request: AnyRequest) -> Any:
    """How many members and devices the audience being chosen reaches (htmx refreshes it)."""
    form = {"url": "/", "days": "30", "when": "now", **_form_values(request.query_params)}
    return await _campaigns_page(request, block="reach", form=form)


@get("/campaigns/{campaign_id:int}", name="campaign", guards=[editor], opt={"tab": "campaigns"})
async def campaign_page(request: AnyRequest, campaign_id: FromPath[int]) -> Any:
    report = await campaigns.campaign_report(campaign_id)
    if report is None:
        raise NotFoundException()
    return await render(
        request,
        "notifications/campaigns/campaign.html",
        report=report,
        audience_text=_describe(report.audience, await _choices()),
    )


def _describe(audience: campaigns.Audience, choices: dict[str, Any]) -> str:
    """The audience in words: "Sales, Paris · active in the last 30 days"."""
    names = [name for value, name in choices["teams"] if int(value) in audience.team_ids]
    names += [name for value, name in choices["sites"] if int(value) in audience.site_ids]
    names += [name for value, name in choices["roles"] if value in audience.roles]
    parts = [", ".join(names)] if names else []
    if audience.activity == "active":
        parts.append(_("active in the last {days} days").format(days=audience.days))
    elif audience.activity == "inactive":
        parts.append(_("inactive in the last {days} days").format(days=audience.days))
    if audience.never_shared:
        parts.append(_("never shared"))
    if audience.members is not None:
        parts.insert(0, audience.named or _("chosen members"))
    return " · ".join(parts) or _("everyone")


@post(
    "/campaigns/{campaign_id:int}/cancel",
    status_code=200,
    name="cancel_campaign",
    guards=[editor],
    opt={"tab": "campaigns"},
)
async def cancel_campaign(request: AnyRequest, campaign_id: FromPath[int]) -> Any:
    if await campaigns.campaign_report(campaign_id) is None:
        raise NotFoundException()
    await campaigns.cancel_campaign(campaign_id)
    target = f"/campaigns/{campaign_id}"
    return see_other(request, target)


ROUTES = [
    push_key,
    push_subscribe,
    push_unsubscribe,
    push_resubscribe,
    push_opened,
    notifications_page,
    save_notifications,
    test_notification,
    toggle_device,
    campaigns_page,
    compose_campaign,
    campaign_links,
    campaign_reach,
    campaign_page,
    cancel_campaign,
]
