"""The page behind a tracked link (/r/{code}): the page, its visits and beacon, applying; the
admin page on how clicks count; the editors' pipeline; recommending a friend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from litestar import Response, get, head, post
from litestar.datastructures import Cookie, UploadFile
from litestar.enums import MediaType, RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery, MultipartBody, URLEncodedBody
from litestar.response import Redirect
from litestar.utils.scope.state import ScopeState

from app.accounts import audit
from app.accounts.guards import admin, anyone, editor, signed_in
from app.activity.service import record_activity
from app.activity.tables import ActivityKind
from app.candidates import applications, cvs, pipeline, recommendations, service
from app.candidates.visits import (
    VIA,
    VisitRecorder,
    beacon_is_valid,
    beacon_issued,
    beacon_network,
    beacon_token,
    is_preview,
    network_of_referer,
)
from app.content import editing, feed
from app.content.markdown import plain_excerpt, render_markdown
from app.content.media import image_url
from app.content.video import video_urls
from app.core.clock import now
from app.core.files import StorageUnavailable, storage_unavailable_sentence
from app.core.forms import FormResult
from app.core.i18n import _
from app.core.i18n import current_language as language_var
from app.core.validation import parse_id
from app.mail.service import MailNotConfigured
from app.org.service import organisation_name
from app.sharing import service as sharing
from app.sharing.tables import ShareLink
from app.web.pagecache import RenderedPages, accepts_gzip, slot
from app.web.pages import (
    APP_BLOCK,
    SKIP_COMPRESSION,
    base_context,
    render,
    render_html,
    see_other,
    wants_fragment,
)
from app.web.ratelimit import APPLY_PER_CLIENT, RECOMMEND_PER_MEMBER
from app.web.requests import AnyRequest, client_of, event_of_item, limiter_of, settings_of

# One byte more than a CV may weigh: enough to tell it is too large without reading on.
MAX_UPLOAD_READ = cvs.MAX_CV_BYTES + 1


def recorder_of(request: AnyRequest) -> VisitRecorder:
    return request.app.state.visits


def _viewer(request: AnyRequest) -> int | None:
    member = request.user
    return member.id if member is not None else None


async def note_landing(request: AnyRequest, code: str, view: bool) -> str | None:
    """Buffer this request to ``/r/{code}`` (no write here); the beacon token for a view,
    None for a preview (``view`` is False: :func:`is_preview` said so)."""
    recorder = recorder_of(request)
    user_agent = request.headers.get("user-agent", "")
    visitor = await recorder.visitor(client_of(request), user_agent)
    if not view:
        recorder.note("preview", code, visitor)
        return None
    recorder.note("view", code, visitor, _viewer(request))
    network = network_of_referer(request.headers.get("referer", ""))
    return beacon_token(settings_of(request).secret_key, code, visitor, network=network)


async def landing_context(view: bool) -> dict[str, Any]:
    """What the public page needs from this package, the same for every visitor: where the
    beacon's token goes (a view's page has one: :func:`note_landing` gives it per request)
    and the candidate policy (the apply form's privacy notice)."""
    return {"beacon": slot("beacon") if view else None, "policy": await applications.policy()}


# The public page, rendered once per link, language and kind of visitor, then kept a few
# seconds: a request only fills in its CSRF token and its beacon token.
LANDING_PAGES = RenderedPages()


# Compressed here, from the cached page's compressed pieces (app.web.pagecache).
@get("/r/{code:str}", name="landing", guards=[anyone], opt={SKIP_COMPRESSION: True})
async def landing(request: AnyRequest, code: FromPath[str]) -> Response[Any]:
    """The public page behind a tracked link: no sign-in, rich previews, never a redirect."""
    view = not is_preview(request.method, request.headers.get("user-agent", ""))
    fragment = wants_fragment(request)
    key = (code, language_var.get(), fragment, view)
    page = LANDING_PAGES.get(key)
    if page is None:
        item = await sharing.landing(code)
        if item is None:
            return await render(
                request,
                "content/landing_missing.html",
                status_code=404,
                offers=await feed.open_offers(),
                careers_url=applications.careers_url(
                    await applications.policy(), language_var.get()
                ),
                contracts=editing.CONTRACTS,
            )
        page = LANDING_PAGES.put(key, await _landing_page(request, item, view, fragment))
    # The visit, buffered (no write on this path), and this visitor's tokens.
    beacon = await note_landing(request, code, view)
    csrf = ScopeState.from_scope(request.scope).csrf_token
    gzip = accepts_gzip(request.headers.get("accept-encoding", ""))
    return Response(
        page.body({"beacon": beacon or "", "csrf": csrf if isinstance(csrf, str) else ""}, gzip),
        media_type=MediaType.HTML,
        headers={
            "Vary": "HX-Request, Accept-Encoding",
            "Cache-Control": "no-cache",
            **({"Content-Encoding": "gzip"} if gzip else {}),
        },
    )


async def _landing_page(
    request: AnyRequest, item: dict[str, Any], view: bool, fragment: bool
) -> str:
    """The page as every such visitor gets it, with slots for the per-request tokens."""
    settings = settings_of(request)
    status = editing.status_of(item)
    closed = item["kind"] == "offer" and item["offer_status"] != "open"
    gone = status != "published"
    image = image_url(item["image"], 1200)
    return render_html(
        request,
        "content/landing.html",
        APP_BLOCK if fragment else None,
        fragment=fragment,
        **await base_context(request),
        # The same page for everyone: nothing of whoever happened to ask first.
        member=None,
        csrf_token=lambda: slot("csrf"),
        item=item,
        gone=gone,
        closed=closed,
        body_html=render_markdown(item["body"]),
        description=plain_excerpt(item["body"], 200) or item["title"],
        canonical=sharing.share_url(settings.public_url, item["code"]),
        image_absolute=f"{settings.public_url}{image}" if image else None,
        image=image,
        gallery=[image_url(key, 1200) for key in (item.get("gallery") or "").split()],
        video=video_urls(item["video"]),
        # A story, or an offer no longer open, leads on to the open offers: each through
        # the same sharer's tracked link, so whoever applies from there is credited to them.
        offers=await credited_offers(item, settings.public_url)
        if (closed or gone or item["kind"] == "story")
        else [],
        careers_url=applications.careers_url(
            await applications.policy(), item["language"] or language_var.get()
        )
        if (closed or gone or item["kind"] == "story")
        else "",
        contracts=editing.CONTRACTS,
        remote=editing.REMOTE,
        page_language=item["language"] or language_var.get(),
        event=await event_of_item(request, int(item["id"])) if item["kind"] == "event" else None,
        **await landing_context(view),
    )


async def credited_offers(item: dict[str, Any], public_url: str) -> list[dict[str, Any]]:
    """The open offers (the page's own aside), each with the sharer's tracked link to it."""
    offers = [offer for offer in await feed.open_offers() if offer["id"] != item["id"]]
    if offers and item.get("sharer_id") is not None:
        codes = await sharing.link_codes(int(item["sharer_id"]), [o["id"] for o in offers])
        for offer in offers:
            offer["url"] = sharing.share_url(public_url, codes[offer["id"]])
    return offers


@head("/r/{code:str}", name="landing_head", guards=[anyone])
async def landing_head(request: AnyRequest, code: FromPath[str]) -> Response[None]:
    """A HEAD on a tracked link (link checkers, some previewers): a preview, never a click."""
    if not code or len(code) > 16 or not await ShareLink.exists().where(ShareLink.code == code):
        return Response(None, status_code=404)
    await note_landing(request, code, view=False)
    return Response(None, media_type="text/html", headers={"Cache-Control": "no-cache"})


@post(
    "/r/{code:str}/seen",
    status_code=204,
    name="landing_beacon",
    guards=[anyone],
    # Safe without the CSRF cookie: the body must carry the page's signed, short-lived token,
    # bound to this link and to the visitor that loaded the page. It can only add a click.
    exclude_from_csrf=True,
)
async def landing_beacon(
    request: AnyRequest,
    code: FromPath[str],
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[None]:
    """``static/beacon.js`` reports that a real browser showed the page: a genuine click."""
    user_agent = request.headers.get("user-agent", "")
    token = data.get("token", "") if isinstance(data, dict) else ""
    fetch_site = request.headers.get("sec-fetch-site")
    if is_preview(request.method, user_agent) or fetch_site not in (None, "same-origin"):
        return Response(None, status_code=400)
    issued = beacon_issued(token)
    if issued is None:
        return Response(None, status_code=400)
    recorder = recorder_of(request)
    # The visitor as hashed when the page was served: with that day's key.
    issued_day = datetime.fromtimestamp(issued, UTC).date()
    client = client_of(request)
    visitor = await recorder.visitor(client, user_agent, issued_day)
    if not beacon_is_valid(settings_of(request).secret_key, code, visitor, token):
        return Response(None, status_code=400)
    via = data.get("via", "") if isinstance(data, dict) else ""
    recorder.note(
        "beacon",
        code,
        visitor,
        _viewer(request),
        await recorder.address(client),
        beacon_network(token),
        via if via in VIA else "",
    )
    return Response(None, status_code=204, cookies=[await referral_cookie(request, code)])


async def referral_cookie(request: AnyRequest, code: str) -> Cookie:
    """The last tracked link this browser followed: an application made within the policy's
    lifetime is credited to its sharer (last click wins: README)."""
    days = int((await applications.policy())["referral_cookie_days"])
    return Cookie(
        key=applications.REFERRAL_COOKIE,
        value=code,
        max_age=days * 86400,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings_of(request).https,
    )


@get("/admin/clicks", name="click_figures", guards=[admin])
async def click_figures(request: AnyRequest) -> Response[str]:
    """What Relay counts as a click, and the figures: over the insights overview's default
    period (the last 4 weeks, today included, in UTC days as its rollups) and all time."""
    today = datetime.combine(now().astimezone(UTC).date(), datetime.min.time(), UTC)
    return await render(
        request,
        "candidates/clicks.html",
        week=await service.click_figures(today - timedelta(days=27)),
        total=await service.click_figures(),
    )


async def open_offer(code: str) -> dict[str, Any]:
    """The offer behind a tracked link, if it takes applications now; else 404."""
    item = await sharing.landing(code)
    if (
        item is None
        or item["kind"] != "offer"
        or item["offer_status"] != "open"
        or editing.status_of(item) != "published"
    ):
        raise NotFoundException()
    return item


@post("/r/{code:str}/apply", status_code=200, name="apply", guards=[anyone])
async def apply(
    request: AnyRequest, code: FromPath[str], data: MultipartBody[dict[str, Any]]
) -> Response[str]:
    """The application form on an offer's public page."""
    item = await open_offer(code)
    await limiter_of(request).hit(APPLY_PER_CLIENT, client_of(request))
    fields = data if isinstance(data, dict) else {}
    upload = fields.get("cv")
    cv = None
    if isinstance(upload, UploadFile) and upload.filename:
        cv = (upload.filename, await upload.read(MAX_UPLOAD_READ))
    form = applications.check_candidate(fields, cv, consent_needed=True)
    policy = await applications.policy()
    if form.ok:
        referrer = await applications.referrer_for(
            code, request.cookies.get(applications.REFERRAL_COOKIE)
        )
        try:
            await applications.apply(
                settings_of(request).data_dir,
                int(item["id"]),
                referrer,
                form,
                signed_in=_viewer(request),
            )
        except StorageUnavailable:
            form.fail("cv", storage_unavailable_sentence())
    if not form.ok:
        return await render(
            request,
            "candidates/apply.html",
            block="apply_form",
            status_code=422,
            item=item,
            form=form,
            policy=policy,
        )
    return await render(
        request,
        "candidates/apply.html",
        block="apply_form",
        item=item,
        form=None,
        applied=True,
        policy=policy,
    )


@get("/r/{code:str}/apply", name="apply_elsewhere", guards=[anyone])
async def apply_elsewhere(request: AnyRequest, code: FromPath[str]) -> Response[Any]:
    """Off to the offer's own apply URL with UTM parameters, the click recorded first."""
    item = await open_offer(code)
    if not item["apply_url"]:
        raise NotFoundException()
    link = await applications.link_by_code(code)
    assert link is not None
    user_agent = request.headers.get("user-agent", "")
    visitor = await recorder_of(request).visitor(client_of(request), user_agent)
    if not is_preview(request.method, user_agent):
        await record_activity(
            ActivityKind.apply_click,
            f"{link['id']}:{visitor}:{now().date().isoformat()}",
            member=int(link["member"]),
            item=int(item["id"]),
        )
    return Redirect(applications.with_utm(str(item["apply_url"]), code), status_code=303)


@get("/privacy", name="privacy_notice", guards=[anyone])
async def privacy_notice(request: AnyRequest) -> Response[str]:
    """The privacy notice candidates consent to, a page of its own in the reader's language
    (else in the language the admin wrote it in)."""
    text, language = applications.privacy_notice(await applications.policy(), language_var.get())
    return await render(
        request,
        "candidates/privacy.html",
        status_code=200 if text else 404,
        notice=render_markdown(text) if text else "",
        notice_language=language,
    )


@get("/admin/candidates", name="candidate_policy", guards=[admin])
async def candidate_policy(request: AnyRequest) -> Response[str]:
    return await _policy_page(request, await applications.policy(), {})


async def _policy_page(
    request: AnyRequest, values: dict[str, Any], errors: dict[str, str], saved: bool = False
) -> Response[str]:
    return await render(
        request,
        "candidates/policy.html",
        status_code=422 if errors else 200,
        values=values,
        errors=errors,
        saved=saved,
    )


@post("/admin/candidates", status_code=200, name="save_candidate_policy", guards=[admin])
async def save_candidate_policy(
    request: AnyRequest, data: URLEncodedBody[dict[str, str]]
) -> Response[str]:
    form = applications.check_policy(data)
    if not form.ok:
        return await _policy_page(request, form.values, form.errors)
    await applications.save_policy(form.values)
    return await _policy_page(request, await applications.policy(), {}, saved=True)


# --- The editors' pipeline --------------------------------------------------------------


@get("/pipeline", name="pipeline_offers", guards=[editor], opt={"tab": "pipeline"})
async def pipeline_offers(
    request: AnyRequest, before: FromQuery[str | None] = None
) -> Response[str]:
    older = parse_id(before)
    offers, next_before = await pipeline.offers_with_candidates(older)
    return await render(
        request,
        "candidates/pipeline/list.html",
        block="offers" if older is not None and wants_fragment(request) else "app",
        offers=offers,
        next_before=next_before,
        offer_statuses=editing.OFFER_STATUS_NAMES,
    )


@get("/pipeline/{item_id:int}", name="pipeline_offer", guards=[editor], opt={"tab": "pipeline"})
async def pipeline_offer(request: AnyRequest, item_id: FromPath[int]) -> Response[str]:
    title = await pipeline.offer_title(item_id)
    if title is None:
        raise NotFoundException()
    return await render(
        request,
        "candidates/pipeline/offer.html",
        item_id=item_id,
        title=title,
        candidates=await pipeline.pipeline(item_id),
        stages=pipeline.stage_names(),
    )


async def _candidate_row(
    request: AnyRequest, row: dict[str, Any] | None, **extra: Any
) -> Response[str]:
    if row is None:
        raise NotFoundException()
    return await render(
        request,
        "candidates/pipeline/offer.html",
        block="candidate",
        item_id=row["item"],
        title="",
        candidates=[row],
        candidate=row,
        stages=pipeline.stage_names(),
        **extra,
    )


@post(
    "/pipeline/candidates/{candidate_id:int}/stage",
    status_code=200,
    name="move_candidate",
    guards=[editor],
    opt={"tab": "pipeline"},
)
async def move_candidate(
    request: AnyRequest, candidate_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Response[Any]:
    form = FormResult.of(data)
    stage = form.choice("stage", pipeline.STAGES, message=_("Choose a stage from the list."))
    if stage is None:
        row = await pipeline.candidate(candidate_id)
        if row is None:
            raise NotFoundException()
        return await _candidate_row(request, row, stage_error=form.errors["stage"])
    member = request.user
    try:
        row = await pipeline.move(candidate_id, stage, member.id, client_of(request))
    except pipeline.OwnReferral:
        # The row offers no stage to this member: only a forged request gets here.
        return await _candidate_row(
            request, await pipeline.candidate(candidate_id), status_code=403
        )
    if row is None or request.htmx:
        return await _candidate_row(request, row)
    return see_other(request, f"/pipeline/{row['item']}")


@post(
    "/pipeline/candidates/{candidate_id:int}/notes",
    status_code=200,
    name="candidate_notes",
    guards=[editor],
    opt={"tab": "pipeline"},
)
async def candidate_notes(
    request: AnyRequest, candidate_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Response[Any]:
    form = FormResult.of(data)
    notes = form.text("notes", max_length=10_000, too_long=_("Keep notes under 10,000 characters."))
    if not form.ok:
        row = await pipeline.candidate(candidate_id)
        return await _candidate_row(request, row, notes_error=form.errors["notes"])
    row = await pipeline.save_notes(candidate_id, notes)
    if row is None or request.htmx:
        return await _candidate_row(request, row, notes_saved=True)
    return see_other(request, f"/pipeline/{row['item']}")


@post(
    "/pipeline/candidates/{candidate_id:int}/wall-of-fame",
    status_code=200,
    name="candidate_wall_of_fame",
    guards=[editor],
    opt={"tab": "pipeline"},
)
async def candidate_wall_of_fame(
    request: AnyRequest, candidate_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Response[Any]:
    """An editor records that a hired candidate agreed to appear on the wall of fame."""
    agreed = FormResult.of(data).checkbox("wall_of_fame")
    row = await pipeline.candidate(candidate_id)
    if row is None or row["pending"]:
        raise NotFoundException()
    if row["stage"] != "hired":
        return await _candidate_row(
            request,
            row,
            status_code=422,
            fame_error=_("Only a hired candidate can appear on the wall of fame."),
        )
    member = request.user
    try:
        row = await pipeline.set_wall_of_fame(candidate_id, agreed, member.id, client_of(request))
    except pipeline.OwnReferral:
        return await _candidate_row(request, row, status_code=403)
    if row is None:  # moved away from "hired" meanwhile
        return await _candidate_row(
            request,
            await pipeline.candidate(candidate_id),
            status_code=422,
            fame_error=_("Only a hired candidate can appear on the wall of fame."),
        )
    await audit.record(
        "wall_of_fame_consent",
        actor=member.id,
        client=client_of(request),
        candidate=candidate_id,
        agreed=agreed,
    )
    if request.htmx:
        return await _candidate_row(request, row, fame_saved=True)
    return see_other(request, f"/pipeline/{row['item']}")


@get("/pipeline/candidates/{candidate_id:int}/cv", name="candidate_cv", guards=[editor])
async def candidate_cv(request: AnyRequest, candidate_id: FromPath[int]) -> Response[bytes]:
    """The CV, to editors and admins only, as a download (never rendered in the browser)."""
    row = await pipeline.candidate(candidate_id)
    path = cvs.cv_path(settings_of(request).data_dir, row["cv"] or "") if row else None
    if row is None or row["pending"] or path is None:
        raise NotFoundException()
    filename = f"cv-{candidate_id}.{row['cv_type']}"
    return Response(
        path.read_bytes(),
        media_type=cvs.MEDIA_TYPES[row["cv_type"]],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@post(
    "/pipeline/candidates/{candidate_id:int}/delete",
    status_code=200,
    name="delete_candidate",
    guards=[editor],
)
async def delete_candidate(request: AnyRequest, candidate_id: FromPath[int]) -> Response[Any]:
    """A candidate's data deleted on their request: the row and the CV."""
    row = await pipeline.candidate(candidate_id)
    if row is None:
        raise NotFoundException()
    member = request.user
    await pipeline.delete_candidate(
        settings_of(request).data_dir, candidate_id, by=member.id, client=client_of(request)
    )
    if request.htmx:
        return Response("", media_type="text/html")
    return see_other(request, f"/pipeline/{row['item']}")


@get("/pipeline/{item_id:int}/export.csv", name="pipeline_csv", guards=[editor])
async def pipeline_export(request: AnyRequest, item_id: FromPath[int]) -> Response[str]:
    title = await pipeline.offer_title(item_id)
    if title is None:
        raise NotFoundException()
    body = pipeline.pipeline_csv(title, await pipeline.pipeline(item_id))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="pipeline-{item_id}.csv"',
            "Cache-Control": "private, no-store",
        },
    )


# --- Recommending a friend ------------------------------------------------------------


async def _offer_to_recommend(request: AnyRequest, item_id: int) -> dict[str, Any]:
    member = request.user
    item = await feed.visible_item(member, item_id)
    if item is None or item["kind"] != "offer" or item["offer_status"] != "open":
        raise NotFoundException()
    return item


async def _recommend_page(
    request: AnyRequest, item: dict[str, Any], form: Any, **extra: Any
) -> Response[str]:
    return await render(
        request,
        "candidates/recommend.html",
        block="recommend_form" if extra.get("status_code") == 422 or extra.get("sent") else "app",
        item=item,
        form=form,
        can_email=bool(settings_of(request).smtp_url),
        **extra,
    )


@get(
    "/items/{item_id:int}/recommend", name="recommend_form", guards=[signed_in], opt={"tab": "feed"}
)
async def recommend_form(request: AnyRequest, item_id: FromPath[int]) -> Response[str]:
    item = await _offer_to_recommend(request, item_id)
    return await _recommend_page(request, item, None)


@post(
    "/items/{item_id:int}/recommend",
    status_code=200,
    name="recommend",
    guards=[signed_in],
    opt={"tab": "feed"},
)
async def recommend(
    request: AnyRequest,
    item_id: FromPath[int],
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[str]:
    """An employee recommends a friend: stored pending behind a single-use link, which the
    employee sends themselves (the share sheet) or Relay emails when it can and they asked."""
    item = await _offer_to_recommend(request, item_id)
    member = request.user
    settings = settings_of(request)
    await limiter_of(request).hit(RECOMMEND_PER_MEMBER, str(member.id))
    form = recommendations.check_recommendation(
        data if isinstance(data, dict) else {}, can_email=bool(settings.smtp_url)
    )
    org_name = await organisation_name()
    if form.ok:
        try:
            done = await recommendations.recommend(settings, item, member, org_name, form)
        except recommendations.OwnRecommendation:
            form.fail(
                "email",
                _("This is your own email address: enter the address of the person you recommend."),
            )
        except recommendations.AlreadyRecommended:
            form.fail(
                "email",
                _(
                    "This person has already been put forward for this offer: no need to do it again."
                ),
            )
        except MailNotConfigured:
            form.fail("email", _("We could not send the email right now. Please try again later."))
        else:
            return await _recommend_page(
                request,
                item,
                None,
                sent=done.name,
                link=_consent_link(done, org_name, item),
                headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
            )
    return await _recommend_page(request, item, form, status_code=422)


def _consent_link(done: recommendations.Recommended, org_name: str, item: dict[str, Any]) -> Any:
    """What the page needs to let the employee send the link themselves (None: emailed)."""
    if done.link is None:
        return None
    text = recommendations.consent_message(done.name, org_name, str(item["title"]))
    subject = str(item["title"])
    return {
        "url": done.link,
        "text": text,
        "title": subject,
        "networks": sharing.message_links(done.link, subject, text),
    }


async def _consent_page(
    request: AnyRequest, token: str, form: FormResult | None, **extra: Any
) -> Response[str]:
    row = extra.pop("recommendation", None)
    if row is None and not extra.get("accepted"):
        row = await recommendations.pending(token)
    expired = row is None and not extra.get("accepted") and await recommendations.expired(token)
    status = extra.pop("status_code", 200 if row or extra.get("accepted") else 404)
    return await render(
        request,
        "candidates/consent.html",
        block="consent_form" if request.htmx and form is not None else "app",
        status_code=status,
        recommendation=row,
        expired=expired,
        token=token,
        form=form,
        policy=await applications.policy(),
        headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"},
        **extra,
    )


@get("/recommendations/{token:str}", name="recommendation_consent", guards=[anyone])
async def recommendation_consent(request: AnyRequest, token: FromPath[str]) -> Response[str]:
    """What the consent link opens: the friend's own form, never an action (mail scanners
    and link previews open links)."""
    return await _consent_page(request, token, None)


@post(
    "/recommendations/{token:str}", status_code=200, name="accept_recommendation", guards=[anyone]
)
async def accept_recommendation(
    request: AnyRequest, token: FromPath[str], data: MultipartBody[dict[str, Any]]
) -> Response[str]:
    """The friend fills in their own details and agrees to be contacted: the link dies."""
    row = await recommendations.pending(token)
    if row is None:
        return await _consent_page(request, token, None)
    await limiter_of(request).hit(APPLY_PER_CLIENT, client_of(request))
    fields = data if isinstance(data, dict) else {}
    upload = fields.get("cv")
    cv = None
    if isinstance(upload, UploadFile) and upload.filename:
        cv = (upload.filename, await upload.read(MAX_UPLOAD_READ))
    form = applications.check_candidate(fields, cv, consent_needed=True)
    if form.ok:
        try:
            accepted = await recommendations.accept(settings_of(request), token, form)
        except recommendations.AlreadyRecommended:
            form.fail(
                "email",
                _("You are already among this offer's candidates: the team has your details."),
            )
        except StorageUnavailable:
            form.fail("cv", storage_unavailable_sentence())
        else:
            if accepted is None:
                return await _consent_page(request, token, None)
            return await _consent_page(
                request, "", form, recommendation=accepted, accepted=True, status_code=200
            )
    return await _consent_page(request, token, form, recommendation=row, status_code=422)


ROUTES = [
    landing,
    landing_head,
    landing_beacon,
    click_figures,
    apply,
    apply_elsewhere,
    privacy_notice,
    candidate_policy,
    save_candidate_policy,
    pipeline_offers,
    pipeline_offer,
    move_candidate,
    candidate_notes,
    candidate_wall_of_fame,
    candidate_cv,
    delete_candidate,
    pipeline_export,
    recommend_form,
    recommend,
    recommendation_consent,
    accept_recommendation,
]
