"""Stories employees propose: checking the form, the moderation queue, publishing as a story.

Plain functions, no HTTP. Every state change is one conditional ``UPDATE … WHERE state IN …``
in a write transaction, so two editors (or an editor and the author) acting at once change a
proposal once: the second finds it already moved and is told so.

A published proposal is an ordinary :class:`~app.content.tables.ContentItem` (kind story)
with the author's byline: targeting, captions, tracked links and points work on it as on any
story, and editors may go on editing it in the studio.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from app.accounts.tables import Member
from app.activity.service import record_activity
from app.activity.tables import ActivityKind
from app.content import editing
from app.content.media import ImageRefused, MediaInUse, check_upload, media_dir, save_upload
from app.content.tables import ContentItem, Kind, OfferStatus
from app.content.video import VideoRefused, check_video, save_video
from app.core import events
from app.core.db import write_transaction
from app.core.files import StorageUnavailable, staged, storage_unavailable_sentence
from app.core.forms import FormResult
from app.core.i18n import _, lazy
from app.notifications.nudges import nudge_voice_reply
from app.org.tables import Team
from app.voice.tables import Proposal, ProposalState

MAX_PHOTOS = 4
TITLE_MAX = 160
BODY_MAX = 10_000
REASON_MAX = 1_000

# What the best-practice kit says must stay out of a story; an editor declining a proposal
# may attach one of them, which the author reads in their own language.
KIT_REASONS = {
    "confidential": lazy(
        "It shows information that must stay confidential: clients, figures, projects "
        "not yet announced."
    ),
    "people": lazy("It shows or names colleagues who have not agreed to appear in it."),
    "screens": lazy("A photo shows screens, badges, documents or whiteboards."),
    "spokesperson": lazy("It speaks for the company on a subject only its spokespeople address."),
    "tone": lazy("It criticises clients, competitors or colleagues."),
}

STATE_NAMES = {
    ProposalState.submitted.value: lazy("Waiting for the programme team"),
    ProposalState.edited.value: lazy("Edited: waiting for your approval"),
    ProposalState.published.value: lazy("Published"),
    ProposalState.declined.value: lazy("Declined"),
    ProposalState.withdrawn.value: lazy("Withdrawn"),
    ProposalState.removed.value: lazy("Removed at your request"),
}

# States in which the author has news to read (the in-app notice).
NEWS_STATES = (
    ProposalState.edited.value,
    ProposalState.published.value,
    ProposalState.declined.value,
)


def now() -> datetime:
    return editing.now()


# ---------------------------------------------------------------- the form


async def about_choices() -> list[tuple[str, str]]:
    """What a story may be about: ("", nothing in particular), open offers, active teams."""
    offers = (
        await ContentItem.select(ContentItem.id, ContentItem.title)
        .where(
            (ContentItem.kind == Kind.offer.value)
            & (ContentItem.offer_status == OfferStatus.open.value)
            & ContentItem.publish_at.is_not_null()
            & ContentItem.archived_at.is_null()
        )
        .order_by(ContentItem.title)
        .limit(200)
    )
    teams = await Team.select(Team.id, Team.name).where(Team.active.eq(True)).order_by(Team.name)
    return (
        [("", _("Nothing in particular"))]
        + [(f"team:{t['id']}", _("Team: %(name)s") % {"name": t["name"]}) for t in teams]
        + [(f"offer:{o['id']}", _("Job: %(title)s") % {"title": o["title"]}) for o in offers]
    )


async def check_proposal(data: dict[str, Any]) -> FormResult:
    """The "Tell your story" form: title, text, what it is about, public credit."""
    form = FormResult.of(data)
    form.text(
        "title",
        max_length=TITLE_MAX,
        required=_("Give your story a title."),
        too_long=_("Keep the title under 160 characters."),
    )
    form.text(
        "body",
        max_length=BODY_MAX,
        required=_("Tell your story in a few sentences."),
        too_long=_("Your story is too long: at most 10,000 characters."),
    )
    about = form.raw("about")
    choices = {value for value, _label in await about_choices()}
    if about not in choices:
        form.fail("about", _("Choose a job or a team from the list, or nothing in particular."))
        about = ""
    form.values["about"] = about
    form.checkbox("public_credit")
    return form


@dataclass(frozen=True)
class Uploads:
    photos: list[tuple[bytes, str]]
    video: bytes | None


async def save_proposal(
    data_dir: Path, author: int, checked: FormResult, uploads: Uploads
) -> int | None:
    """Check the uploads (every one, even when a field is refused, so that every problem
    shows at once) and write the proposal with its files; None with the reasons in
    ``checked.errors`` (``photos``, ``video``)."""
    errors = checked.errors
    if len(uploads.photos) > MAX_PHOTOS:
        errors["photos"] = _("Choose at most 4 photos.")
    for content, filename in uploads.photos:
        try:
            await check_upload(content, filename)
        except ImageRefused as refused:
            errors.setdefault("photos", str(refused))
    if uploads.video is not None:
        try:
            await check_video(uploads.video)
        except VideoRefused as refused:
            errors["video"] = str(refused)
    if errors:
        return None
    about = str(checked.values.get("about") or "")
    kind, _sep, raw_id = about.partition(":")
    try:
        async with staged(media_dir(data_dir)) as files:
            keys = [(await save_upload(c, n, files)).key for c, n in uploads.photos]
            video = await save_video(uploads.video, files) if uploads.video is not None else None
            async with write_transaction():
                rows = await Proposal.insert(
                    Proposal(
                        author=author,
                        title=checked.values["title"],
                        body=checked.values["body"],
                        photos=" ".join(keys),
                        video=video,
                        about_offer=int(raw_id) if kind == "offer" else None,
                        about_team=int(raw_id) if kind == "team" else None,
                        public_credit=bool(checked.values.get("public_credit")),
                        created_at=now(),
                        changed_at=now(),
                    )
                ).returning(Proposal.id)
                proposal_id = int(rows[0]["id"])
                # Worth points only if the admin switched the rule on (off by default).
                await record_activity(
                    ActivityKind.story_proposed, f"proposal:{proposal_id}", member=author
                )
            return proposal_id
    except (ImageRefused, VideoRefused) as refused:
        errors["photos" if isinstance(refused, ImageRefused) else "video"] = str(refused)
    except StorageUnavailable:
        errors["photos"] = storage_unavailable_sentence()
    return None


# ---------------------------------------------------------------- reading


PROPOSAL_COLUMNS = (
    *Proposal.all_columns(),
    Proposal.author.name.as_alias("author_name"),
    Proposal.author.email.as_alias("author_email"),
    Proposal.author._.team._.name.as_alias("author_team"),
    Proposal.about_offer.title.as_alias("about_offer_title"),
    Proposal.about_team.name.as_alias("about_team_name"),
)


def view(row: dict[str, Any]) -> dict[str, Any]:
    """A proposal as pages show it: photos as a list, its state and kit reason in words."""
    kit = KIT_REASONS.get(row.get("decline_kit") or "")
    return {
        **row,
        "photo_list": [p for p in (row.get("photos") or "").split() if p],
        "state_name": _(STATE_NAMES[row["state"]]) if row["state"] in STATE_NAMES else "",
        "kit_reason": _(kit) if kit is not None else "",
    }


async def proposals_of(author: int) -> list[dict[str, Any]]:
    """The author's own proposals, newest first: nobody else's, ever."""
    rows = (
        await Proposal.select(*PROPOSAL_COLUMNS)
        .where(Proposal.author == author)
        .order_by(Proposal.id, ascending=False)
        .limit(100)
    )
    return [view(r) for r in rows]


async def own_proposal(author: int, proposal_id: int) -> dict[str, Any] | None:
    """The proposal if ``author`` wrote it; None otherwise (the page answers 404)."""
    row = (
        await Proposal.select(*PROPOSAL_COLUMNS)
        .where((Proposal.id == proposal_id) & (Proposal.author == author))
        .first()
    )
    return view(row) if row else None


async def proposal(proposal_id: int) -> dict[str, Any] | None:
    """For editors: any proposal."""
    row = await Proposal.select(*PROPOSAL_COLUMNS).where(Proposal.id == proposal_id).first()
    return view(row) if row else None


async def queue() -> list[dict[str, Any]]:
    """The studio's moderation queue: proposals waiting for an editor first, then those
    waiting for their author, oldest first; then the last 50 decided."""
    waiting = (
        await Proposal.select(*PROPOSAL_COLUMNS)
        .where(Proposal.state.is_in([ProposalState.submitted.value, ProposalState.edited.value]))
        .order_by(Proposal.id)
        .limit(500)
    )
    waiting.sort(key=lambda r: r["state"] != ProposalState.submitted.value)
    return [view(r) for r in waiting]


async def decided(limit: int = 50) -> list[dict[str, Any]]:
    rows = (
        await Proposal.select(*PROPOSAL_COLUMNS)
        .where(Proposal.state.not_in([ProposalState.submitted.value, ProposalState.edited.value]))
        .order_by(Proposal.changed_at, ascending=False)
        .limit(limit)
    )
    return [view(r) for r in rows]


async def waiting_count() -> int:
    return await Proposal.count().where(Proposal.state == ProposalState.submitted.value)


# ---------------------------------------------------------------- moderating


async def _move(
    proposal_id: int, from_states: list[str], values: dict[Any, Any], author: int | None = None
) -> dict[str, Any] | None:
    """Move the proposal if it is in one of ``from_states`` (and is ``author``'s when
    given); its row before the change, or None when it was not there to move."""
    query = Proposal.select(*Proposal.all_columns()).where(
        (Proposal.id == proposal_id) & Proposal.state.is_in(from_states)
    )
    if author is not None:
        query = query.where(Proposal.author == author)
    row = await query.first()
    if row is None:
        return None
    moved = (
        await Proposal.update(values)
        .where((Proposal.id == proposal_id) & Proposal.state.is_in(from_states))
        .returning(Proposal.id)
    )
    return row if moved else None


def byline_of(name: str, team: str | None) -> str:
    """ "Léa, Data team": the author's first name and team, as the feed credits them."""
    first = (name or "").split(" ")[0] or name
    return f"{first}, {team}" if team else first


async def _publish(row: dict[str, Any], editor: int | None) -> int:
    """The proposal as a published story (in the caller's transaction); the item's id."""
    author = (
        await Member.select(Member.name, Member.language, Member.team.name.as_alias("team"))
        .where(Member.id == row["author"])
        .first()
    )
    photos = [p for p in (row["photos"] or "").split() if p]
    checked = FormResult(
        values={
            "kind": Kind.story.value,
            "title": row["title"],
            "body": row["body"],
            "language": (author or {}).get("language") or "en",
            "tags": "",
            "captions": "{}",
            "image_alt": "",
            "video_url": "",
            "audience_all": True,
            "pinned": False,
            "expires_at": None,
            "gallery": " ".join(photos[1:]),
            "byline": byline_of((author or {}).get("name", ""), (author or {}).get("team")),
            "byline_public": bool(row["public_credit"]),
        }
    )
    item_id = await editing.save_item(
        None, checked, editor, image=photos[0] if photos else None, video=row["video"]
    )
    await editing.publish(item_id)
    await Proposal.update({Proposal.item: item_id}).where(Proposal.id == row["id"])
    # The byline's photo is the author's, read when the story is shown (it may change).
    await ContentItem.update({ContentItem.byline_member: row["author"]}).where(
        ContentItem.id == item_id
    )
    await record_activity(
        ActivityKind.story_published, f"proposal:{row['id']}", member=row["author"], item=item_id
    )
    return item_id


async def approve(
    proposal_id: int, editor: int, title: str, body: str, at: datetime | None = None
) -> str | None:
    """An editor approves, maybe with edits: unchanged, it is published at once; edited, it
    waits for the author's yes. The new state, or None when it was no longer waiting."""
    moment = at or now()
    async with write_transaction():
        current = (
            await Proposal.select(Proposal.title, Proposal.body, Proposal.state)
            .where(
                (Proposal.id == proposal_id)
                & Proposal.state.is_in([ProposalState.submitted.value, ProposalState.edited.value])
            )
            .first()
        )
        if current is None:
            return None
        # An edited version never goes out without its author's yes, even approved again.
        changed = (
            current["title"] != title
            or current["body"] != body
            or current["state"] == ProposalState.edited.value
        )
        state = ProposalState.edited if changed else ProposalState.published
        row = await _move(
            proposal_id,
            [ProposalState.submitted.value, ProposalState.edited.value],
            {
                Proposal.title: title,
                Proposal.body: body,
                Proposal.state: state.value,
                Proposal.decided_by: editor,
                Proposal.changed_at: moment,
            },
        )
        if row is None:
            return None
        if state is ProposalState.published:
            item_id = await _publish({**row, "title": title, "body": body}, editor)
    if state is ProposalState.published:
        await _tell_published(row["author"], proposal_id, item_id, moment)
    else:
        await nudge_voice_reply(
            row["author"],
            f"proposal:{proposal_id}:edited:{int(moment.timestamp())}",
            lambda: (
                _("Your story was edited"),
                _("Read the edited version and say if it may go out."),
            ),
            f"/voice/stories/{proposal_id}",
            moment,
        )
    return state.value


async def _tell_published(author: int, proposal_id: int, item_id: int, at: datetime) -> None:
    await nudge_voice_reply(
        author,
        f"proposal:{proposal_id}:published",
        lambda: (_("Your story is published"), _("Share it with your tracked link.")),
        f"/items/{item_id}",
        at,
    )


async def accept_edits(author: int, proposal_id: int, at: datetime | None = None) -> int | None:
    """The author agrees to the edited version: it is published. The item's id, or None."""
    moment = at or now()
    async with write_transaction():
        row = await _move(
            proposal_id,
            [ProposalState.edited.value],
            {Proposal.state: ProposalState.published.value, Proposal.changed_at: moment},
            author=author,
        )
        if row is None:
            return None
        item_id = await _publish(row, row["decided_by"])
    await _tell_published(author, proposal_id, item_id, moment)
    return item_id


async def decline(
    proposal_id: int, editor: int, reason: str, kit: str, at: datetime | None = None
) -> bool:
    """An editor declines, with their words and maybe a reason from the kit; the author is
    told. False when the proposal was no longer waiting."""
    moment = at or now()
    async with write_transaction():
        row = await _move(
            proposal_id,
            [ProposalState.submitted.value, ProposalState.edited.value],
            {
                Proposal.state: ProposalState.declined.value,
                Proposal.decline_reason: reason,
                Proposal.decline_kit: kit if kit in KIT_REASONS else "",
                Proposal.decided_by: editor,
                Proposal.changed_at: moment,
            },
        )
    if row is None:
        return False
    await nudge_voice_reply(
        row["author"],
        f"proposal:{proposal_id}:declined",
        lambda: (_("Your story was not published"), _("See why in Relay.")),
        f"/voice/stories/{proposal_id}",
        moment,
    )
    return True


def check_decline(data: dict[str, Any]) -> FormResult:
    form = FormResult.of(data)
    form.choice(
        "kit",
        ["", *KIT_REASONS],
        default="",
        message=_("Choose a reason from the list, or none."),
    )
    form.text(
        "reason",
        max_length=REASON_MAX,
        too_long=_("Keep the reason under 1,000 characters."),
    )
    if not form.raw("reason") and not form.raw("kit"):
        form.fail("reason", _("Tell the author why, in your words or with a reason from the kit."))
    return form


def check_edit(data: dict[str, Any]) -> FormResult:
    form = FormResult.of(data)
    form.text(
        "title",
        max_length=TITLE_MAX,
        required=_("Give the story a title."),
        too_long=_("Keep the title under 160 characters."),
    )
    form.text(
        "body",
        max_length=BODY_MAX,
        required=_("The story needs its text."),
        too_long=_("The text is too long: at most 10,000 characters."),
    )
    return form


async def withdraw(author: int, proposal_id: int, at: datetime | None = None) -> bool:
    """The author takes back a proposal that is not out yet."""
    async with write_transaction():
        row = await _move(
            proposal_id,
            [ProposalState.submitted.value, ProposalState.edited.value],
            {Proposal.state: ProposalState.withdrawn.value, Proposal.changed_at: at or now()},
            author=author,
        )
    return row is not None


async def remove(author: int, proposal_id: int, data_dir: Path, at: datetime | None = None) -> bool:
    """The author asks for their published story to be taken down: it leaves the feed and
    its public pages at once (archived, as an editor would)."""
    async with write_transaction():
        row = await _move(
            proposal_id,
            [ProposalState.published.value],
            {Proposal.state: ProposalState.removed.value, Proposal.changed_at: at or now()},
            author=author,
        )
        if row is None:
            return False
        item_id = row["item"]
        if item_id is not None:
            await editing.archive(item_id)
    if item_id is not None:
        await events.publish(editing.ItemWithdrawn(item_id, data_dir))
    return True


# ---------------------------------------------------------------- the in-app notice


async def mark_read(author: int, at: datetime | None = None) -> None:
    await Proposal.update({Proposal.author_seen_at: at or now()}).where(Proposal.author == author)


async def keep_proposal_media(asked: MediaInUse) -> None:
    """The photos and videos proposals hold: the sweep of unused files leaves them."""
    for row in await Proposal.select(Proposal.photos, Proposal.video):
        asked.images.update((row["photos"] or "").split())
        if row["video"]:
            asked.videos.add(row["video"])
