"""The employees' voice: telling a story, asking the team, the FAQ; the studio's moderation
queue and answers; the admin's contact address and review sites."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, MultipartBody, URLEncodedBody

from app.accounts.guards import admin, editor, signed_in
from app.content.markdown import render_markdown
from app.content.media import MAX_BYTES, image_url
from app.content.video import MAX_VIDEO_BYTES, ranged_file, video_file
from app.core.forms import FormResult
from app.voice import programme, questions, stories
from app.voice.tables import QuestionVisibility
from app.web.pages import SKIP_COMPRESSION, render, see_other
from app.web.requests import AnyRequest, settings_of

Form = URLEncodedBody[dict[str, str]]
FEED = {"tab": "feed"}
STUDIO = {"tab": "studio"}
# Four photos and a video at their largest, and the text.
FORM_MAX_BYTES = MAX_VIDEO_BYTES + stories.MAX_PHOTOS * MAX_BYTES + 1024 * 1024


def _markdown(text: str) -> Any:
    return render_markdown(text)


# ---------------------------------------------------------------- telling a story


async def _story_form(
    request: AnyRequest,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response[str]:
    return await render(
        request,
        "voice/story_form.html",
        status_code=status_code,
        values=values,
        errors=errors or {},
        about=await stories.about_choices(),
        max_photos=stories.MAX_PHOTOS,
        max_mb=MAX_BYTES // (1024 * 1024),
        max_video_mb=MAX_VIDEO_BYTES // (1024 * 1024),
    )


@get("/voice/stories/new", name="voice_story_new", guards=[signed_in], opt=FEED)
async def story_new(request: AnyRequest) -> Response[str]:
    return await _story_form(request, {"about": "", "public_credit": False})


def _uploads(data: dict[str, Any]) -> tuple[list[UploadFile], UploadFile | None]:
    photos = data.get("photos")
    photo_list = photos if isinstance(photos, list) else [photos]
    chosen = [p for p in photo_list if isinstance(p, UploadFile) and p.filename]
    video = data.get("video")
    return chosen, video if isinstance(video, UploadFile) and video.filename else None


@post(
    "/voice/stories/new",
    status_code=200,
    name="voice_story_create",
    guards=[signed_in],
    opt=FEED,
    request_max_body_size=FORM_MAX_BYTES,
)
async def story_create(request: AnyRequest, data: MultipartBody[dict[str, Any]]) -> Response[Any]:
    data = data if isinstance(data, dict) else {}
    checked = await stories.check_proposal(data)
    photo_files, video_file = _uploads(data)
    photos = [
        (await p.read(MAX_BYTES + 1), p.filename) for p in photo_files[: stories.MAX_PHOTOS + 1]
    ]
    video = await video_file.read(MAX_VIDEO_BYTES + 1) if video_file else None
    proposal_id = await stories.save_proposal(
        settings_of(request).data_dir,
        request.user.id,
        checked,
        stories.Uploads(photos, video),
    )
    if proposal_id is not None:
        return see_other(request, f"/voice/stories/{proposal_id}?sent=1")
    return await _story_form(request, checked.values, checked.errors, status_code=422)


async def _own_or_404(request: AnyRequest, proposal_id: int) -> dict[str, Any]:
    found = await stories.own_proposal(request.user.id, proposal_id)
    if found is None:
        raise NotFoundException()
    return found


@get("/voice/stories/{proposal_id:int}", name="voice_story", guards=[signed_in], opt=FEED)
async def story_page(request: AnyRequest, proposal_id: FromPath[int]) -> Response[str]:
    found = await _own_or_404(request, proposal_id)
    return await render(
        request,
        "voice/story.html",
        proposal=found,
        body_html=_markdown(found["body"]),
        photos=[image_url(p, 600) for p in found["photo_list"]],
        sent=request.query_params.get("sent") == "1",
        notice=request.query_params.get("notice", ""),
    )


@post(
    "/voice/stories/{proposal_id:int}/accept",
    status_code=200,
    name="voice_story_accept",
    guards=[signed_in],
)
async def story_accept(request: AnyRequest, proposal_id: FromPath[int]) -> Response[Any]:
    await _own_or_404(request, proposal_id)
    item_id = await stories.accept_edits(request.user.id, proposal_id)
    if item_id is None:
        return see_other(request, f"/voice/stories/{proposal_id}?notice=moved")
    return see_other(request, f"/items/{item_id}")


@post(
    "/voice/stories/{proposal_id:int}/withdraw",
    status_code=200,
    name="voice_story_withdraw",
    guards=[signed_in],
)
async def story_withdraw(request: AnyRequest, proposal_id: FromPath[int]) -> Response[Any]:
    await _own_or_404(request, proposal_id)
    done = await stories.withdraw(request.user.id, proposal_id)
    return see_other(request, f"/voice/stories/{proposal_id}?notice={'' if done else 'moved'}")


@post(
    "/voice/stories/{proposal_id:int}/remove",
    status_code=200,
    name="voice_story_remove",
    guards=[signed_in],
)
async def story_remove(request: AnyRequest, proposal_id: FromPath[int]) -> Response[Any]:
    await _own_or_404(request, proposal_id)
    done = await stories.remove(request.user.id, proposal_id, settings_of(request).data_dir)
    return see_other(request, f"/voice/stories/{proposal_id}?notice={'' if done else 'moved'}")


@get("/me/voice", name="my_voice", guards=[signed_in])
async def my_voice(request: AnyRequest) -> Response[str]:
    member_id = request.user.id
    mine = await stories.proposals_of(member_id)
    asked = await questions.questions_of(member_id)
    response = await render(
        request,
        "voice/mine.html",
        proposals=mine,
        questions=[{**q, "answer_html": _markdown(q["answer"])} for q in asked],
    )
    # Read now: the feed's notice of news goes.
    await stories.mark_read(member_id)
    await questions.mark_read(member_id)
    return response


# ---------------------------------------------------------------- asking the team


async def _ask_form(
    request: AnyRequest,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response[str]:
    return await render(
        request,
        "voice/ask.html",
        status_code=status_code,
        values=values,
        errors=errors or {},
        visibilities=questions.VISIBILITY_NAMES,
        contact=await programme.contact_email(),
    )


@get("/voice/ask", name="voice_ask", guards=[signed_in], opt=FEED)
async def ask_page(request: AnyRequest) -> Response[str]:
    return await _ask_form(request, {"visibility": QuestionVisibility.private.value})


@post("/voice/ask", status_code=200, name="voice_ask_send", guards=[signed_in], opt=FEED)
async def ask_send(request: AnyRequest, data: Form) -> Response[Any]:
    checked = questions.check_question(data or {})
    if not checked.ok:
        return await _ask_form(request, checked.values, checked.errors, status_code=422)
    await questions.ask(request.user.id, checked)
    return see_other(request, "/me/voice?asked=1#questions")


@get("/faq", name="faq", guards=[signed_in], opt=FEED)
async def faq_page(request: AnyRequest, q: FromQuery[str | None] = None) -> Response[str]:
    search = (q or "")[: questions.FAQ_SEARCH_MAX]
    entries = await questions.faq(search)
    return await render(
        request,
        "voice/faq.html",
        block="results" if request.htmx and request.htmx.target == "faq-results" else "app",
        entries=[{**e, "answer_html": _markdown(e["answer"])} for e in entries],
        search=search,
        contact=await programme.contact_email(),
    )


@get("/voice/guide", name="voice_kit", guards=[signed_in], opt=FEED)
async def kit_page(request: AnyRequest) -> Response[str]:
    return await render(
        request,
        "voice/kit.html",
        reasons=list(stories.KIT_REASONS.values()),
        contact=await programme.contact_email(),
    )


# ---------------------------------------------------------------- the studio


@get("/studio/voice", name="studio_voice", guards=[editor], opt=STUDIO)
async def studio_voice(request: AnyRequest) -> Response[str]:
    return await render(
        request,
        "voice/studio/queue.html",
        waiting=await stories.queue(),
        decided=await stories.decided(),
        open_questions=await questions.open_questions(),
        answered=await questions.answered_questions(),
    )


async def _proposal_or_404(proposal_id: int) -> dict[str, Any]:
    found = await stories.proposal(proposal_id)
    if found is None:
        raise NotFoundException()
    return found


async def _moderation_page(
    request: AnyRequest,
    found: dict[str, Any],
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    notice: str = "",
) -> Response[str]:
    return await render(
        request,
        "voice/studio/proposal.html",
        status_code=status_code,
        proposal=found,
        values=values or {"title": found["title"], "body": found["body"], "kit": ""},
        errors=errors or {},
        photos=[image_url(p, 600) for p in found["photo_list"]],
        body_html=_markdown(found["body"]),
        kit=stories.KIT_REASONS,
        notice=notice,
    )


@get("/studio/voice/stories/{proposal_id:int}", name="studio_proposal", guards=[editor], opt=STUDIO)
async def studio_proposal(request: AnyRequest, proposal_id: FromPath[int]) -> Response[str]:
    found = await _proposal_or_404(proposal_id)
    return await _moderation_page(request, found, notice=request.query_params.get("notice", ""))


@get(
    "/studio/voice/stories/{proposal_id:int}/video",
    name="studio_proposal_video",
    guards=[editor],
    opt={SKIP_COMPRESSION: True},
)
async def studio_proposal_video(request: AnyRequest, proposal_id: FromPath[int]) -> Response[Any]:
    """A proposal's video for the editors deciding on it (``/videos/`` serves only the
    videos of items; a proposal is not one yet), in byte ranges like any video."""
    found = await _proposal_or_404(proposal_id)
    located = video_file(settings_of(request).data_dir, found["video"] or "")
    if located is None:
        raise NotFoundException()
    path, media_type, _names = located
    return await ranged_file(request, path, media_type, "private")


@post(
    "/studio/voice/stories/{proposal_id:int}/approve",
    status_code=200,
    name="studio_proposal_approve",
    guards=[editor],
    opt=STUDIO,
)
async def studio_proposal_approve(
    request: AnyRequest, proposal_id: FromPath[int], data: Form
) -> Response[Any]:
    found = await _proposal_or_404(proposal_id)
    checked = stories.check_edit(data or {})
    if not checked.ok:
        return await _moderation_page(
            request, found, {**checked.values, "kit": ""}, checked.errors, status_code=422
        )
    state = await stories.approve(
        proposal_id, request.user.id, checked.values["title"], checked.values["body"]
    )
    return see_other(request, f"/studio/voice/stories/{proposal_id}?notice={state or 'moved'}")


@post(
    "/studio/voice/stories/{proposal_id:int}/decline",
    status_code=200,
    name="studio_proposal_decline",
    guards=[editor],
    opt=STUDIO,
)
async def studio_proposal_decline(
    request: AnyRequest, proposal_id: FromPath[int], data: Form
) -> Response[Any]:
    found = await _proposal_or_404(proposal_id)
    checked = stories.check_decline(data or {})
    if not checked.ok:
        values = {"title": found["title"], "body": found["body"], **checked.values}
        return await _moderation_page(request, found, values, checked.errors, status_code=422)
    done = await stories.decline(
        proposal_id, request.user.id, checked.values["reason"], checked.values["kit"] or ""
    )
    return see_other(
        request, f"/studio/voice/stories/{proposal_id}?notice={'declined' if done else 'moved'}"
    )


async def _question_or_404(question_id: int) -> dict[str, Any]:
    found = await questions.question(question_id)
    if found is None:
        raise NotFoundException()
    return found


async def _answer_page(
    request: AnyRequest,
    found: dict[str, Any],
    form: FormResult | None = None,
    status_code: int = 200,
) -> Response[str]:
    values = (
        form.values
        if form is not None
        else {
            "answer": found["answer"],
            "in_faq": found["in_faq"],
            "faq_text": found["faq_text"] or found["text"],
        }
    )
    return await render(
        request,
        "voice/studio/question.html",
        status_code=status_code,
        question=found,
        values=values,
        errors=form.errors if form is not None else {},
        saved=request.query_params.get("saved") == "1",
    )


@get(
    "/studio/voice/questions/{question_id:int}", name="studio_question", guards=[editor], opt=STUDIO
)
async def studio_question(request: AnyRequest, question_id: FromPath[int]) -> Response[str]:
    return await _answer_page(request, await _question_or_404(question_id))


@post(
    "/studio/voice/questions/{question_id:int}",
    status_code=200,
    name="studio_question_answer",
    guards=[editor],
    opt=STUDIO,
)
async def studio_question_answer(
    request: AnyRequest, question_id: FromPath[int], data: Form
) -> Response[Any]:
    found = await _question_or_404(question_id)
    checked = questions.check_answer(data or {}, found["may_publish"])
    if not checked.ok:
        return await _answer_page(request, found, checked, status_code=422)
    await questions.answer(question_id, request.user.id, checked)
    return see_other(request, f"/studio/voice/questions/{question_id}?saved=1")


# ---------------------------------------------------------------- the admin


async def _settings_page(
    request: AnyRequest,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    saved: bool = False,
) -> Response[str]:
    return await render(
        request,
        "voice/admin.html",
        block="settings_form" if request.htmx else "app",
        status_code=status_code,
        values=values,
        errors=errors or {},
        saved=saved,
    )


@get("/admin/voice", name="voice_settings", guards=[admin])
async def voice_settings(request: AnyRequest) -> Response[str]:
    values = {
        "contact_email": await programme.contact_email(),
        "review_sites": programme.sites_text(await programme.review_sites()),
    }
    return await _settings_page(request, values)


@post("/admin/voice", status_code=200, name="save_voice_settings", guards=[admin])
async def save_voice_settings(request: AnyRequest, data: Form) -> Response[str]:
    checked = programme.check_settings(data or {})
    if checked.ok:
        await programme.save_settings(checked)
    return await _settings_page(
        request,
        checked.values,
        checked.errors,
        status_code=200 if checked.ok else 422,
        saved=checked.ok,
    )


ROUTES = [
    story_new,
    story_create,
    story_page,
    story_accept,
    story_withdraw,
    story_remove,
    my_voice,
    ask_page,
    ask_send,
    faq_page,
    kit_page,
    studio_voice,
    studio_proposal,
    studio_proposal_video,
    studio_proposal_approve,
    studio_proposal_decline,
    studio_question,
    studio_question_answer,
    voice_settings,
    save_voice_settings,
]
