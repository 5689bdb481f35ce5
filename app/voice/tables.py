"""The employees' own voice: the stories they propose, their questions to the programme team,
the review sites the company is on and the programme's contact address."""

from __future__ import annotations

from enum import StrEnum

from piccolo.columns import Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import Member
from app.content.tables import ContentItem
from app.core.db import NeverReusedSerial
from app.org.tables import Team


class ProposalState(StrEnum):
    submitted = "submitted"  # waiting for an editor
    edited = "edited"  # an editor approved an edited version: waiting for the author's yes
    published = "published"  # a story in the feed (``item``)
    declined = "declined"  # with ``decline_reason``, which the author reads
    withdrawn = "withdrawn"  # the author took it back before it went out
    removed = "removed"  # published, then taken down at the author's request


class Proposal(Table):
    """A story an employee proposes; published as a :class:`ContentItem` with their byline.

    Only its author and editors ever read it. ``photos`` are media keys, space-separated,
    up to four; ``video`` an uploaded video's file name, as on an item.
    """

    id = NeverReusedSerial(primary_key=True)

    author = ForeignKey(references=Member, on_delete=OnDelete.cascade, index=True)
    title = Varchar(length=160)
    body = Text(default="")  # Markdown, rendered through app.content.markdown
    photos = Varchar(length=200, default="")
    video = Varchar(length=30, null=True, default=None)
    about_offer = ForeignKey(references=ContentItem, null=True, on_delete=OnDelete.set_null)
    about_team = ForeignKey(references=Team, null=True, on_delete=OnDelete.set_null)
    # The author agreed to be named on the public page of the story.
    public_credit = Boolean(default=False)
    state = Varchar(
        length=10, default=ProposalState.submitted.value, choices=ProposalState, index=True
    )
    decline_reason = Text(default="")  # the editor's own words
    # A reason from the best-practice kit (app.voice.stories.KIT_REASONS), shown in the
    # reader's language.
    decline_kit = Varchar(length=20, default="")
    item = ForeignKey(references=ContentItem, null=True, on_delete=OnDelete.set_null)
    decided_by = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    # When something the author should hear of happened, and when they last read it: the
    # in-app notice shows while the first is later.
    changed_at = Timestamptz(default=TimestamptzNow())
    author_seen_at = Timestamptz(null=True, default=None)


class QuestionVisibility(StrEnum):
    private = "private"  # between the asker and the programme team
    anonymous = "anonymous"  # may be published to the FAQ, without the asker's name


class Question(Table):
    """A member's question to the programme team, its answer, and its FAQ entry if any."""

    id = NeverReusedSerial(primary_key=True)

    asker = ForeignKey(references=Member, on_delete=OnDelete.cascade, index=True)
    text = Text()
    visibility = Varchar(
        length=9, default=QuestionVisibility.private.value, choices=QuestionVisibility
    )
    answer = Text(default="")  # Markdown
    answered_by = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    answered_at = Timestamptz(null=True, default=None, index=True)
    # The FAQ's wording of the question (an editor may take out what would identify the
    # asker), shown once ``in_faq``.
    faq_text = Text(default="")
    in_faq = Boolean(default=False, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    asker_seen_at = Timestamptz(null=True, default=None)


class ReviewSite(Table):
    """An employer-review site the company is on (Glassdoor, Indeed…): a link, nothing more."""

    id = NeverReusedSerial(primary_key=True)

    name = Varchar(length=80)
    url = Varchar(length=500)
    position = Integer(default=0)


class ProgrammeContact(Table):
    """The programme team's address for people who prefer email (one row, set by the admin)."""

    id = NeverReusedSerial(primary_key=True)

    email = Varchar(length=254, default="")
    updated_at = Timestamptz(default=TimestamptzNow())
