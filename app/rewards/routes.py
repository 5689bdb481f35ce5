"""The shop and redeeming (members), managing rewards (admins), fulfilling them (editors)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, MultipartBody, URLEncodedBody

from app.accounts.guards import admin, editor, signed_in
from app.content.markdown import render_markdown
from app.content.media import (
    MAX_BYTES,
    image_url,
    save_with_image,
)
from app.rewards import service
from app.rewards.service import Refused
from app.web.pages import render, see_other
from app.web.ratelimit import REDEEM_PER_MEMBER
from app.web.requests import AnyRequest, client_of, limiter_of, settings_of

Form = URLEncodedBody[dict[str, str]]


# --- The shop -----------------------------------------------------------------------------


@get("/rewards", name="rewards", guards=[signed_in], opt={"tab": "rewards"})
async def shop(request: AnyRequest) -> Response[str]:
    member = request.user
    return await render(
        request,
        "rewards/shop.html",
        image_url=image_url,
        **await service.shop(member.id),
    )


async def _reward_page(
    request: AnyRequest,
    reward_id: int,
    step: str,
    *,
    status_code: int = 200,
    error: str | None = None,
    redemption_id: int | None = None,
) -> Response[str]:
    """The reward's page, or only its redeem box (the confirmation step) for htmx."""
    member = request.user
    reward = await service.reward_for_member(member.id, reward_id)
    if reward is None:
        status_code = 404
        block = "app"
    else:
        block = "redeem_box" if step != "start" else "app"
    return await render(
        request,
        "rewards/reward.html",
        block=block,
        status_code=status_code,
        reward=reward,
        description=render_markdown(reward["description"]) if reward else "",
        image=image_url(reward["image"], 1200) if reward else None,
        step=step,
        error=error,
        redemption_id=redemption_id,
    )


@get("/rewards/{reward_id:int}", name="reward", guards=[signed_in], opt={"tab": "rewards"})
async def reward(request: AnyRequest, reward_id: FromPath[int]) -> Response[str]:
    return await _reward_page(request, reward_id, "start")


@get(
    "/rewards/{reward_id:int}/redeem",
    name="reward_confirm",
    guards=[signed_in],
    opt={"tab": "rewards"},
)
async def reward_confirm(request: AnyRequest, reward_id: FromPath[int]) -> Response[str]:
    """The confirmation step: what it costs and what is left after."""
    return await _reward_page(request, reward_id, "confirm")


@post(
    "/rewards/{reward_id:int}/redeem",
    status_code=200,
    name="redeem",
    guards=[signed_in],
    opt={"tab": "rewards"},
)
async def redeem(request: AnyRequest, reward_id: FromPath[int]) -> Response[Any]:
    member = request.user
    await limiter_of(request).hit(REDEEM_PER_MEMBER, str(member.id))
    try:
        redemption_id = await service.redeem(member.id, reward_id)
    except Refused as refused:
        return await _reward_page(
            request, reward_id, "refused", status_code=422, error=refused.message
        )
    if not request.htmx:
        return see_other(request, f"/me/rewards#redemption-{redemption_id}")
    return await _reward_page(request, reward_id, "done", redemption_id=redemption_id)


@get("/me/rewards", name="my_rewards", guards=[signed_in], opt={"tab": "rewards"})
async def my_rewards(request: AnyRequest) -> Response[str]:
    member = request.user
    return await render(
        request,
        "rewards/mine.html",
        redemptions=await service.redemptions_of(member.id),
        states=service.state_names(),
    )


# --- Managing rewards (admins) ------------------------------------------------------------


@get("/admin/rewards", name="admin_rewards", guards=[admin])
async def admin_rewards(request: AnyRequest) -> Response[str]:
    return await render(
        request,
        "rewards/admin_list.html",
        rewards=await service.all_rewards(),
    )


def _form_values(reward: dict[str, Any]) -> dict[str, Any]:
    values = {k: ("" if v is None else v) for k, v in reward.items()}
    for name in ("starts_at", "ends_at"):
        values[name] = reward[name].strftime("%Y-%m-%dT%H:%M") if reward.get(name) else ""
    return values


async def _edit_page(
    request: AnyRequest,
    reward: dict[str, Any] | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    saved: bool = False,
) -> Response[str]:
    return await render(
        request,
        "rewards/admin_edit.html",
        status_code=status_code,
        reward=reward,
        values=values,
        errors=errors or {},
        saved=saved,
        image=image_url(reward["image"]) if reward else None,
        max_mb=MAX_BYTES // (1024 * 1024),
    )


@get("/admin/rewards/new", name="admin_reward_new", guards=[admin])
async def admin_reward_new(request: AnyRequest) -> Response[str]:
    return await _edit_page(request, None, {"active": True})


async def _save(
    request: AnyRequest, reward: dict[str, Any] | None, data: dict[str, Any]
) -> Response[Any]:
    checked = service.check_reward(data)
    errors = dict(checked.errors)
    upload = data.get("image")
    image = None
    if isinstance(upload, UploadFile) and upload.filename:
        image = (await upload.read(MAX_BYTES + 1), upload.filename)
    reward_id = await save_with_image(
        settings_of(request).data_dir,
        image,
        errors,
        lambda key: service.save_reward(
            reward["id"] if reward else None, checked, request.user.id, image=key
        ),
    )
    if reward_id is not None:
        return see_other(request, f"/admin/rewards/{reward_id}?saved=1")
    echo = {k: v for k, v in data.items() if not isinstance(v, UploadFile)}
    echo["active"] = data.get("active") == "on"
    return await _edit_page(request, reward, echo, errors, status_code=422)


@post("/admin/rewards/new", status_code=200, name="admin_reward_create", guards=[admin])
async def admin_reward_create(
    request: AnyRequest, data: MultipartBody[dict[str, Any]]
) -> Response[Any]:
    return await _save(request, None, data or {})


async def _reward_or_404(reward_id: int) -> dict[str, Any]:
    reward = await service.reward_by_id(reward_id)
    if reward is None:
        raise NotFoundException()
    return reward


@get("/admin/rewards/{reward_id:int}", name="admin_reward", guards=[admin])
async def admin_reward(request: AnyRequest, reward_id: FromPath[int]) -> Response[str]:
    reward = await _reward_or_404(reward_id)
    saved = request.query_params.get("saved") == "1"
    return await _edit_page(request, reward, _form_values(reward), saved=saved)


@post("/admin/rewards/{reward_id:int}", status_code=200, name="admin_reward_update", guards=[admin])
async def admin_reward_update(
    request: AnyRequest, reward_id: FromPath[int], data: MultipartBody[dict[str, Any]]
) -> Response[Any]:
    reward = await _reward_or_404(reward_id)
    return await _save(request, reward, data or {})


# --- Fulfilment (editors) -----------------------------------------------------------------


@get("/rewards/requests", name="reward_requests", guards=[editor])
async def reward_requests(request: AnyRequest) -> Response[str]:
    state = request.query_params.get("state")  # "state" is a name Litestar keeps for itself
    chosen = state if state in service.STATE_NAMES else ""
    return await render(
        request,
        "rewards/requests.html",
        requests=await service.requests(chosen or None),
        states=service.state_names(),
        chosen=chosen,
    )


async def _request_row(
    request: AnyRequest, redemption_id: int, *, error: tuple[str, str] | None = None
) -> Response[Any]:
    """After a move: the request's card again (htmx), or back to the list."""
    row = await service.redemption_by_id(redemption_id)
    if row is None:
        raise NotFoundException()
    if not request.htmx and error is None:
        return see_other(request, f"/rewards/requests#request-{redemption_id}")
    return await render(
        request,
        "rewards/requests.html",
        block="request",
        # A request of one's own shows no buttons: only a forged move is refused as "own".
        status_code=(403 if error[0] == "own" else 422) if error else 200,
        item=row,
        states=service.state_names(),
        error=error,
        requests=[row],
        chosen="",
    )


async def _move(request: AnyRequest, redemption_id: int, move: Any, *args: Any) -> Response[Any]:
    """Make the editor's move; a refusal is shown on the request, next to the field it
    concerns (the note, the reason) or above its buttons."""
    try:
        await move(redemption_id, request.user.id, *args, client=client_of(request))
    except Refused as refused:
        if refused.code == "unknown":
            raise NotFoundException() from None
        return await _request_row(request, redemption_id, error=(refused.code, refused.message))
    return await _request_row(request, redemption_id)


@post(
    "/rewards/requests/{redemption_id:int}/approve",
    status_code=200,
    name="approve_redemption",
    guards=[editor],
)
async def approve_redemption(request: AnyRequest, redemption_id: FromPath[int]) -> Response[Any]:
    return await _move(request, redemption_id, service.approve)


@post(
    "/rewards/requests/{redemption_id:int}/deliver",
    status_code=200,
    name="deliver_redemption",
    guards=[editor],
)
async def deliver_redemption(
    request: AnyRequest, redemption_id: FromPath[int], data: Form
) -> Response[Any]:
    note = (data or {}).get("note", "")
    return await _move(request, redemption_id, service.deliver, note)


@post(
    "/rewards/requests/{redemption_id:int}/reject",
    status_code=200,
    name="reject_redemption",
    guards=[editor],
)
async def reject_redemption(
    request: AnyRequest, redemption_id: FromPath[int], data: Form
) -> Response[Any]:
    reason = (data or {}).get("reason", "")
    return await _move(request, redemption_id, service.reject, reason)


ROUTES = [
    shop,
    reward_requests,
    reward,
    reward_confirm,
    redeem,
    my_rewards,
    admin_rewards,
    admin_reward_new,
    admin_reward_create,
    admin_reward,
    admin_reward_update,
    approve_redemption,
    deliver_redemption,
    reject_redemption,
]
