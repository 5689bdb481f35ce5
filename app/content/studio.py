"""The editors' studio: lists, the story and offer forms, publishing, guides; the admin's hosts."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from litestar import Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, MultipartBody, URLEncodedBody

from app.accounts.guards import admin, editor
from app.content import apply_hosts as content_apply_hosts
from app.content import editing, feed
from app.content import guides as content_guides
from app.content.cards import member_bits
from app.content.markdown import render_markdown
from app.content.media import MAX_BYTES, image_url
from app.content.tables import OfferStatus
from app.content.video import MAX_VIDEO_BYTES, save_with_media, video_urls
from app.core import events
from app.core.forms import FormResult
from app.core.i18n import LANGUAGES, _
from app.core.validation import parse_id, parse_ids
from app.org.service import active_teams_and_sites
from app.web.pages import environment, render, see_other, wants_fragment
from app.web.requests import AnyRequest, settings_of, time_zone_of
from app.web.templating import KeptRows

Form = URLEncodedBody[dict[str, str]]


async def _choices() -> dict[str, Any]:
    teams, sites = await active_teams_and_sites()
    return {
        "teams": teams,
        "sites": sites,
        "languages": LANGUAGES,
        "contracts": editing.CONTRACTS,
        "remote": editing.REMOTE,
        "offer_statuses": editing.OFFER_STATUS_NAMES,
        "networks": editing.NETWORK_NAMES,
    }


def _studio_row_key(item: dict[str, Any]) -> tuple[Any, ...]:
    """Everything of an item that ``content/studio/_row.html`` prints."""
    return (
        item["id"], item["title"], item["kind"], item["status"], bool(item["pinned"]),
        item["language"], tuple(item["tag_list"]),
    )  # fmt: skip


STUDIO_ROWS = KeptRows(
    "content/studio/_row.html", _studio_row_key, {"statuses": editing.STATUS_NAMES}
)


@get("/studio", name="studio", guards=[editor], opt={"tab": "studio"})
async def studio(
    request: AnyRequest,
    kind: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
    tag: FromQuery[str | None] = None,
    before: FromQuery[str | None] = None,
) -> Response[str]:
    older = parse_id(before)
    items, next_before = await editing.studio_items(kind, status, tag, older)
    return await render(
        request,
        "content/studio/list.html",
        block="items" if older is not None and wants_fragment(request) else "app",
        items=items,
        items_html=STUDIO_ROWS.render(environment(request), items),
        next_before=next_before,
        filters={"kind": kind or "", "status": status or "", "tag": tag or ""},
        statuses=editing.STATUS_NAMES,
        tags=await feed.feed_tags(),
    )


def _form_values(
    item: dict[str, Any], teams: list[int], sites: list[int], zone: str
) -> dict[str, Any]:
    values = {k: ("" if v is None else v) for k, v in item.items()}
    values["tags"] = " ".join(editing.tags_of(item.get("tags", "")))
    for network, text in editing.captions_text(item.get("captions", "{}")).items():
        values[f"captions_{network}"] = text
    values["audience"] = "all" if item.get("audience_all", True) else "chosen"
    values["teams"] = teams
    values["sites"] = sites
    values["expires_at"] = (
        item["expires_at"].astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")
        if item.get("expires_at")
        else ""
    )
    values["site"] = str(item.get("site") or "")
    return values


def _preview_card(item: dict[str, Any]) -> dict[str, Any]:
    """The item's feed card as a member would first see it (the preview page's and the
    editor's phone preview)."""
    return feed.card_view(item) | member_bits(
        is_new=False, challenge=None, shared=False, clicks=0, share_url=""
    )


async def _editor_page(
    request: AnyRequest,
    kind: str,
    item: dict[str, Any] | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    saved: bool = False,
) -> Response[str]:
    refusals = await editing.publish_refusals(item) if item else []
    return await render(
        request,
        "content/studio/edit.html",
        zone=await time_zone_of(request),
        status_code=status_code,
        kind=kind,
        item=item,
        values=values,
        errors=errors or {},
        saved=saved,
        publish_refusals=refusals,
        status=editing.status_of(item) if item else "draft",
        statuses=editing.STATUS_NAMES,
        image=image_url(item["image"]) if item else None,
        video=video_urls(item.get("video")) if item else None,
        max_mb=MAX_BYTES // (1024 * 1024),
        max_video_mb=MAX_VIDEO_BYTES // (1024 * 1024),
        card=_preview_card(item) if item else None,
        **await _choices(),
    )


@get("/studio/new", name="studio_new", guards=[editor], opt={"tab": "studio"})
async def studio_new(request: AnyRequest, kind: FromQuery[str] = "story") -> Response[str]:
    kind = kind if kind in {"story", "offer"} else "story"
    values = {"language": "fr" if request.user.language == "fr" else "en"}
    values |= {
        "audience": "all",
        "contract": "permanent",
        "remote": "hybrid",
        "offer_status": "draft",
    }
    return await _editor_page(request, kind, None, values)


def _form_echo(data: dict[str, Any]) -> dict[str, Any]:
    values = {k: v for k, v in data.items() if not isinstance(v, UploadFile)}
    values["teams"] = parse_ids(data.get("teams"))
    values["sites"] = parse_ids(data.get("sites"))
    return values


async def _save(
    request: AnyRequest, kind: str, item: dict[str, Any] | None, data: dict[str, Any]
) -> Response[Any]:
    checked = await editing.check_item(kind, data, ZoneInfo(await time_zone_of(request)))
    errors = dict(checked.errors)
    upload = data.get("image")
    image = None
    if isinstance(upload, UploadFile) and upload.filename:
        image = (await upload.read(MAX_BYTES + 1), upload.filename)
    upload = data.get("video")
    video = None
    if isinstance(upload, UploadFile) and upload.filename:
        video = await upload.read(MAX_VIDEO_BYTES + 1)
    item_id = await save_with_media(
        settings_of(request).data_dir,
        image,
        video,
        errors,
        lambda key, name: editing.save_item(
            item["id"] if item else None, checked, request.user.id, image=key, video=name
        ),
    )
    if item_id is not None:
        return see_other(request, f"/studio/{item_id}?saved=1")
    return await _editor_page(request, kind, item, _form_echo(data), errors, status_code=422)


# A form may carry a video and an image at their largest, and its text.
FORM_MAX_BYTES = MAX_VIDEO_BYTES + MAX_BYTES + 1024 * 1024


@post(
    "/studio/new",
    status_code=200,
    name="studio_create",
    guards=[editor],
    opt={"tab": "studio"},
    request_max_body_size=FORM_MAX_BYTES,
)
async def studio_create(
    request: AnyRequest, data: MultipartBody[dict[str, Any]], kind: FromQuery[str] = "story"
) -> Response[Any]:
    kind = str(data.get("kind") or kind)
    if kind not in {"story", "offer"}:
        kind = "story"
    return await _save(request, kind, None, data or {})


async def _item_or_404(item_id: int) -> dict[str, Any]:
    item = await editing.item_by_id(item_id)
    if item is None:
        raise NotFoundException()
    return item


@get("/studio/{item_id:int}", name="studio_item", guards=[editor], opt={"tab": "studio"})
async def studio_item(request: AnyRequest, item_id: FromPath[int]) -> Response[str]:
    item = await _item_or_404(item_id)
    teams, sites = await editing.targets_of(item_id)
    saved = request.query_params.get("saved") == "1"
    values = _form_values(item, teams, sites, await time_zone_of(request))
    return await _editor_page(request, item["kind"], item, values, saved=saved)


@post(
    "/studio/{item_id:int}",
    status_code=200,
    name="studio_update",
    guards=[editor],
    opt={"tab": "studio"},
    request_max_body_size=FORM_MAX_BYTES,
)
async def studio_update(
    request: AnyRequest, item_id: FromPath[int], data: MultipartBody[dict[str, Any]]
) -> Response[Any]:
    item = await _item_or_404(item_id)
    return await _save(request, item["kind"], item, data or {})


@post(
    "/studio/{item_id:int}/publish",
    status_code=200,
    name="studio_publish",
    guards=[editor],
    opt={"tab": "studio"},
)
async def studio_publish(request: AnyRequest, item_id: FromPath[int], data: Form) -> Response[Any]:
    item = await _item_or_404(item_id)
    form = FormResult.of(data)
    zone = await time_zone_of(request)
    at = form.datetime(
        "publish_at", zone=ZoneInfo(zone), message=_("Enter a date and time for the schedule.")
    )
    for refusal in await editing.publish_refusals(item):
        form.fail("publish", refusal)
    if not form.ok:
        teams, sites = await editing.targets_of(item_id)
        return await _editor_page(
            request,
            item["kind"],
            item,
            _form_values(item, teams, sites, zone),
            form.errors,
            status_code=422,
        )
    await editing.publish(item_id, at)
    return see_other(request, f"/studio/{item_id}")


@post("/studio/{item_id:int}/unpublish", status_code=200, name="studio_unpublish", guards=[editor])
async def studio_unpublish(request: AnyRequest, item_id: FromPath[int]) -> Response[Any]:
    await _item_or_404(item_id)
    await editing.unpublish(item_id)
    await events.publish(editing.ItemWithdrawn(item_id, settings_of(request).data_dir))
    return see_other(request, f"/studio/{item_id}")


@post("/studio/{item_id:int}/archive", status_code=200, name="studio_archive", guards=[editor])
async def studio_archive(request: AnyRequest, item_id: FromPath[int]) -> Response[Any]:
    await _item_or_404(item_id)
    await editing.archive(item_id)
    await events.publish(editing.ItemWithdrawn(item_id, settings_of(request).data_dir))
    return see_other(request, f"/studio/{item_id}")


@post("/studio/{item_id:int}/pin", status_code=200, name="studio_pin", guards=[editor])
async def studio_pin(request: AnyRequest, item_id: FromPath[int], data: Form) -> Response[Any]:
    await _item_or_404(item_id)
    await editing.set_pinned(item_id, (data or {}).get("pinned") == "on")
    return see_other(request, f"/studio/{item_id}")


@post("/studio/{item_id:int}/close", status_code=200, name="studio_close", guards=[editor])
async def studio_close(request: AnyRequest, item_id: FromPath[int], data: Form) -> Response[Any]:
    await _item_or_404(item_id)
    status = (data or {}).get("offer_status", "closed")
    if status not in {s.value for s in OfferStatus}:
        status = "closed"
    await editing.set_offer_status(item_id, OfferStatus(status))
    return see_other(request, f"/studio/{item_id}")


@get("/studio/{item_id:int}/preview", name="studio_preview", guards=[editor], opt={"tab": "studio"})
async def studio_preview(request: AnyRequest, item_id: FromPath[int]) -> Response[str]:
    item = await _item_or_404(item_id)
    return await render(
        request,
        "content/studio/preview.html",
        item=item,
        card=_preview_card(item),
        body_html=render_markdown(item["body"]),
        image=image_url(item["image"], 1200),
        contracts=editing.CONTRACTS,
        remote=editing.REMOTE,
    )


@get("/studio/guides", name="studio_guides", guards=[editor], opt={"tab": "studio"})
async def studio_guides(request: AnyRequest) -> Response[str]:
    guides = {
        (network, language): await content_guides.guide_text(network, language)
        for network in editing.NETWORKS
        for language in LANGUAGES
    }
    return await render(
        request,
        "content/studio/guides.html",
        guides=guides,
        networks=editing.NETWORK_NAMES,
        languages=LANGUAGES,
        saved=request.query_params.get("saved", ""),
    )


@post(
    "/studio/guides/{network:str}",
    status_code=200,
    name="studio_guide_save",
    guards=[editor],
    opt={"tab": "studio"},
)
async def studio_guide_save(
    request: AnyRequest, network: FromPath[str], data: Form
) -> Response[Any]:
    if network not in editing.NETWORKS:
        raise NotFoundException()
    form = FormResult.of(data)
    refused = _("Choose one of the languages in the list.")
    language = form.choice("language", LANGUAGES, message=refused)
    body = form.text("body", max_length=20_000, too_long=refused)
    if language is None or not form.ok:
        return Response(refused, status_code=422, media_type="text/plain")
    await content_guides.save_guide(network, language, body)
    return see_other(
        request, f"/studio/guides?saved={network}-{language}#guide-{network}-{language}"
    )


@get("/admin/apply-hosts", name="apply_hosts", guards=[admin])
async def apply_hosts(request: AnyRequest) -> Response[str]:
    return await render(
        request,
        "content/studio/apply_hosts.html",
        hosts_text="\n".join(await content_apply_hosts.allowed_apply_hosts()),
        error=None,
        saved=False,
    )


@post("/admin/apply-hosts", status_code=200, name="save_apply_hosts", guards=[admin])
async def save_apply_hosts(request: AnyRequest, data: Form) -> Response[str]:
    form = content_apply_hosts.check_apply_hosts(data)
    if form.ok:
        await content_apply_hosts.save_apply_hosts(form.values["hosts"])
    return await render(
        request,
        "content/studio/apply_hosts.html",
        block="hosts_form",
        status_code=200 if form.ok else 422,
        hosts_text="\n".join(form.values["hosts"]) if form.ok else form.raw("hosts"),
        error=form.errors.get("hosts"),
        saved=form.ok,
    )


ROUTES = [
    studio,
    studio_new,
    studio_create,
    studio_guides,
    studio_guide_save,
    studio_item,
    studio_update,
    studio_publish,
    studio_unpublish,
    studio_archive,
    studio_pin,
    studio_close,
    studio_preview,
    apply_hosts,
    save_apply_hosts,
]
