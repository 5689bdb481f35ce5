"""My points page, and the admin's points page: rules, levels, challenges, corrections."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody

from app.accounts.guards import admin, signed_in
from app.accounts.person_page import person_page
from app.accounts.tables import Member
from app.candidates.pipeline import stage_names
from app.core.clock import now
from app.core.forms import FormResult
from app.core.i18n import _
from app.points import challenges, corrections, history, rules_admin
from app.points.rules import ACTION_NAMES, levels, rules
from app.points.tables import Action
from app.web.pages import render, see_other, wants_fragment
from app.web.requests import AnyRequest, client_of, time_zone_of

Form = URLEncodedBody[dict[str, str]]


def _fields(data: Any) -> dict[str, str]:
    return data if isinstance(data, dict) else {}


# --- My points ---------------------------------------------------------------------------


@get("/me/points", name="my_points", guards=[signed_in], opt={"tab": "points"})
async def my_points(request: AnyRequest, before: FromQuery[int | None] = None) -> Response[str]:
    member = request.user
    lines, next_before = await history.history_page(member.id, before)
    if before is not None and wants_fragment(request):
        return await render(
            request,
            "points/me.html",
            block="history",
            lines=lines,
            next_before=next_before,
        )
    points, badges = await history.summary_and_badges(member.id)
    return await render(
        request,
        "points/me.html",
        points=points,
        badges=badges,
        lines=lines,
        next_before=next_before,
        earning=await rules_admin.earning_rules(),
    )


# --- My referrals, with the points each earned me -----------------------------------------


@get("/me/referrals", name="my_referrals", guards=[signed_in], opt={"tab": "me"})
async def my_referrals(request: AnyRequest) -> Response[str]:
    return await render(
        request,
        "candidates/referrals.html",
        referrals=await history.referrals_with_points(request.user.id),
        stages=stage_names(),
    )


# --- The admin's points page -------------------------------------------------------------


async def _admin_page(
    request: AnyRequest,
    *,
    status_code: int = 200,
    rules_form: FormResult | None = None,
    **extra: Any,
) -> Response[str]:
    zone = await time_zone_of(request)
    return await render(
        request,
        "points/admin.html",
        status_code=status_code,
        form=rules_form or rules_admin.rules_form(await rules()),
        actions=[(a.value, ACTION_NAMES[a.value]) for a in Action],
        levels=await levels(fresh=True),
        challenges=await challenges.challenges(now()),
        zone=zone,
        local_text=challenges.local_text,
        correction_key=corrections.correction_key(),
        **extra,
    )


@get("/admin/points", name="points_admin", guards=[admin])
async def points_admin(request: AnyRequest) -> Response[str]:
    return await _admin_page(request)


@post("/admin/points/rules", status_code=200, name="save_points_rules", guards=[admin])
async def save_points_rules(request: AnyRequest, data: Form) -> Response[str]:
    form = rules_admin.check_rules(_fields(data))
    if not form.ok:
        return await _admin_page(
            request,
            status_code=422,
            rules_form=form,
            rules_error=_("Nothing was saved: correct the fields marked below."),
        )
    changes = await rules_admin.save_rules(
        rules_admin.rules_of(form), by=request.user.id, client=client_of(request)
    )
    return await _admin_page(
        request, rules_notice=_("Rules saved.") if changes else _("Nothing changed.")
    )


@post("/admin/points/levels", status_code=200, name="add_level", guards=[admin])
async def add_level(request: AnyRequest, data: Form) -> Response[str]:
    fields = _fields(data)
    form = await rules_admin.save_level(
        None,
        fields.get("name", ""),
        fields.get("threshold", ""),
        by=request.user.id,
        client=client_of(request),
    )
    if not form.ok:
        return await _admin_page(
            request, status_code=422, new_level=form.values, new_level_errors=form.errors
        )
    return await _admin_page(request, levels_notice=_("Level added."))


@post("/admin/points/levels/{level_id:int}", status_code=200, name="save_level", guards=[admin])
async def save_level(request: AnyRequest, level_id: FromPath[int], data: Form) -> Response[str]:
    fields = _fields(data)
    try:
        form = await rules_admin.save_level(
            level_id,
            fields.get("name", ""),
            fields.get("threshold", ""),
            by=request.user.id,
            client=client_of(request),
        )
    except LookupError:
        raise NotFoundException() from None
    if not form.ok:
        return await _admin_page(
            request,
            status_code=422,
            level_values={level_id: form.values},
            level_errors={level_id: form.errors},
        )
    return await _admin_page(request, levels_notice=_("Level saved."))


@post(
    "/admin/points/levels/{level_id:int}/delete",
    status_code=200,
    name="remove_level",
    guards=[admin],
)
async def remove_level(request: AnyRequest, level_id: FromPath[int]) -> Response[str]:
    try:
        error = await rules_admin.remove_level(
            level_id, by=request.user.id, client=client_of(request)
        )
    except LookupError:
        raise NotFoundException() from None
    if error:
        return await _admin_page(request, status_code=422, level_errors={level_id: {"name": error}})
    return await _admin_page(request, levels_notice=_("Level removed."))


@post("/admin/points/corrections", status_code=200, name="correct_points", guards=[admin])
async def correct_points(request: AnyRequest, data: Form) -> Response[str]:
    """A correction for someone found by email, from the points admin page."""
    fields = _fields(data)
    member_id = await corrections.member_by_email(fields.get("email", ""))
    if member_id is None:
        # The other fields are checked too, so every mistake shows at once.
        form = corrections.check_correction(fields.get("points", ""), fields.get("reason", ""))
        form.fail("email", _("No one in Relay has this email address."))
    else:
        form = await corrections.correct(
            member_id,
            fields.get("points", ""),
            fields.get("reason", ""),
            fields.get("key", ""),
            by=request.user.id,
            client=client_of(request),
        )
    if not form.ok:
        return await _admin_page(
            request, status_code=422, correction=fields, correction_errors=form.errors
        )
    return await _admin_page(request, correction_notice=_("Points corrected."))


@post(
    "/admin/people/{member_id:int}/points",
    status_code=200,
    name="correct_member_points",
    guards=[admin],
)
async def correct_member_points(
    request: AnyRequest, member_id: FromPath[int], data: Form
) -> Response[str]:
    """A correction from the person's admin page."""
    if not await Member.exists().where(Member.id == member_id):
        raise NotFoundException()
    fields = _fields(data)
    form = await corrections.correct(
        member_id,
        fields.get("points", ""),
        fields.get("reason", ""),
        fields.get("key", ""),
        by=request.user.id,
        client=client_of(request),
    )
    if not form.ok:
        return await person_page(
            request, member_id, status_code=422, correction=fields, correction_errors=form.errors
        )
    return await person_page(request, member_id, correction_notice=_("Points corrected."))


# --- Challenges --------------------------------------------------------------------------


async def _challenge_page(
    request: AnyRequest,
    challenge: dict[str, Any] | None,
    form: FormResult | None = None,
    status_code: int = 200,
) -> Response[str]:
    zone = await time_zone_of(request)
    form = form or challenges.challenge_form(challenge, zone)
    return await render(
        request,
        "points/challenge.html",
        status_code=status_code,
        challenge=challenge,
        form=form,
        zone=zone,
        multipliers=[(m, rules_admin.multiplier_text(m)) for m in rules_admin.MULTIPLIERS],
        choices=await challenges.item_choices(now(), challenge["items"] if challenge else None),
        over=challenge is not None and challenge["ends_at"] <= now(),
    )


async def _challenge_or_404(challenge_id: int) -> dict[str, Any]:
    challenge = await challenges.challenge(challenge_id)
    if challenge is None:
        raise NotFoundException()
    return challenge


async def _checked_challenge(request: AnyRequest, challenge: dict[str, Any] | None) -> FormResult:
    form = await request.form()
    zone = await time_zone_of(request)
    at = now()
    choices = await challenges.item_choices(at, challenge["items"] if challenge else None)
    return challenges.check_challenge(
        {key: form.get(key) for key in form},
        [str(i) for i in form.getall("items")] if "items" in form else [],
        {int(c["id"]) for c in choices},
        zone,
        at,
    )


@get("/admin/points/challenges/new", name="new_challenge", guards=[admin])
async def new_challenge(request: AnyRequest) -> Response[str]:
    return await _challenge_page(request, None)


@post("/admin/points/challenges", status_code=200, name="create_challenge", guards=[admin])
async def create_challenge(request: AnyRequest) -> Response[Any]:
    form = await _checked_challenge(request, None)
    if not form.ok:
        return await _challenge_page(request, None, form, status_code=422)
    await challenges.save_challenge(None, form, by=request.user.id, client=client_of(request))
    return see_other(request, "/admin/points")


@get("/admin/points/challenges/{challenge_id:int}", name="challenge", guards=[admin])
async def challenge_page(request: AnyRequest, challenge_id: FromPath[int]) -> Response[str]:
    return await _challenge_page(request, await _challenge_or_404(challenge_id))


@post(
    "/admin/points/challenges/{challenge_id:int}",
    status_code=200,
    name="save_challenge",
    guards=[admin],
)
async def save_challenge(request: AnyRequest, challenge_id: FromPath[int]) -> Response[Any]:
    challenge = await _challenge_or_404(challenge_id)
    form = await _checked_challenge(request, challenge)
    if not form.ok:
        return await _challenge_page(request, challenge, form, status_code=422)
    await challenges.save_challenge(
        challenge_id, form, by=request.user.id, client=client_of(request)
    )
    return see_other(request, "/admin/points")


@post(
    "/admin/points/challenges/{challenge_id:int}/end",
    status_code=200,
    name="end_challenge",
    guards=[admin],
)
async def end_challenge(request: AnyRequest, challenge_id: FromPath[int]) -> Response[Any]:
    try:
        await challenges.end_challenge(challenge_id, by=request.user.id, client=client_of(request))
    except LookupError:
        raise NotFoundException() from None
    return see_other(request, "/admin/points")


ROUTES = [
    my_points,
    my_referrals,
    points_admin,
    save_points_rules,
    add_level,
    save_level,
    remove_level,
    correct_points,
    correct_member_points,
    new_challenge,
    create_challenge,
    challenge_page,
    save_challenge,
    end_challenge,
]
