"""Visits to tracked links, the daily visitor keys, candidates and the pipeline's policy."""

from __future__ import annotations

from enum import StrEnum

from piccolo.columns import Boolean, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import Member
from app.content.tables import ContentItem
from app.core.db import NeverReusedSerial
from app.sharing.tables import ShareLink


class VisitorKey(Table):
    """The HMAC key of one UTC day: visitors are known only by a keyed hash of address and
    user agent, and yesterday's hashes cannot be linked to today's once the key is gone."""

    id = NeverReusedSerial(primary_key=True)

    day = Varchar(length=10, unique=True)  # "2026-11-26"
    key = Varchar(length=64)


class Visit(Table):
    """One request to ``/r/{code}``: a preview (bot or HEAD) or a page view.

    Written in batches by :mod:`app.candidates.visits`, never on the page's path. ``own``
    marks a view by the signed-in sharer: that visitor's beacon is not a click that day.
    """

    id = NeverReusedSerial(primary_key=True)

    link = ForeignKey(references=ShareLink, on_delete=OnDelete.cascade, index=True)
    at = Timestamptz(default=TimestamptzNow())
    visitor = Varchar(length=32)  # keyed hash, hex; never the address
    preview = Boolean(default=False)
    own = Boolean(default=False)


class Stage(StrEnum):
    new = "new"
    contacted = "contacted"
    interview = "interview"
    offer = "offer"
    hired = "hired"
    not_selected = "not_selected"


# The way forward, in order (not_selected can end it at any stage): reaching a stage credits
# the referrer for it and for those before it.
STAGE_ORDER = tuple(
    stage.value for stage in (Stage.new, Stage.contacted, Stage.interview, Stage.offer, Stage.hired)
)


class CandidateKind(StrEnum):
    application = "application"  # the candidate applied on the offer's public page
    recommendation = "recommendation"  # an employee recommended a friend
    event_interest = "event_interest"  # a candidate registered interest in an event (app.events)


class Candidate(Table):
    """A person in an offer's pipeline: an application, or a friend an employee recommended.

    A recommendation is only ``pending`` (HR sees no details) until the friend accepts to be
    contacted through the emailed link (``token_hash``); without that by ``expires_at`` it is
    deleted. Candidates not hired are deleted after the policy's retention period.
    """

    id = NeverReusedSerial(primary_key=True)

    kind = Varchar(length=14, choices=CandidateKind)
    item = ForeignKey(references=ContentItem, on_delete=OnDelete.cascade, index=True)
    referrer = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null, index=True)
    name = Varchar(length=120)
    email = Varchar(length=254)
    phone = Varchar(length=40, default="")
    linkedin = Varchar(length=300, default="")
    message = Text(default="")  # the candidate's message, or why the employee recommends them
    cv = Varchar(length=40, null=True, default=None)  # a file under RELAY_DATA_DIR/cvs
    cv_name = Varchar(length=200, default="")
    cv_type = Varchar(length=4, default="")  # pdf, docx, doc
    consent_at = Timestamptz(null=True, default=None)  # null: a recommendation not yet accepted
    stage = Varchar(length=14, default=Stage.new.value, choices=Stage, index=True)
    notes = Text(default="")
    # When the candidate last reached "hired" (the wall of fame lists a month's hires).
    hired_at = Timestamptz(null=True, default=None)
    # The hired person agreed to appear on the wall of fame (an editor records it).
    wall_of_fame = Boolean(default=False)
    # Recommendations: "item:email" refuses the same person twice for one offer.
    dedupe = Varchar(length=300, null=True, default=None, unique=True)
    token_hash = Varchar(length=64, null=True, default=None, unique=True)
    expires_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    updated_at = Timestamptz(default=TimestamptzNow())
    # Who the person is across offers (app.candidates.duplicates): the mailbox their address
    # reaches and their phone number in E.164, written when their details are known.
    email_key = Varchar(length=254, default="", index=True)
    phone_key = Varchar(length=20, default="", index=True)
    # An earlier referral of the same person within the exclusivity window keeps the credit:
    # this one is a duplicate of it and earns its referrer nothing (no points, no bonus).
    duplicate_of = Integer(null=True, default=None, index=True)


class CandidatePolicy(Table):
    """What the admin decided for candidates: one row, created with defaults on first read."""

    id = NeverReusedSerial(primary_key=True)

    privacy_notice = Text(default="")  # in English (Markdown)
    privacy_notice_fr = Text(default="")  # in French (Markdown)
    # The organisation's careers site, linked from story pages (English, French), https.
    careers_url = Varchar(length=500, default="")
    careers_url_fr = Varchar(length=500, default="")
    referral_cookie_days = Integer(default=30)
    consent_days = Integer(default=30)  # a recommendation not accepted by then is deleted
    retention_days = Integer(default=180)  # a candidate not hired is deleted after this
    # The first referral of a person keeps the credit for this many days (duplicates).
    exclusivity_days = Integer(default=90)
    # The default referral bonus (0: none), paid once the hire's probation period is over.
    bonus_amount = Integer(default=0)
    bonus_currency = Varchar(length=3, default="EUR")
    probation_days = Integer(default=90)
    updated_at = Timestamptz(default=TimestamptzNow())


class OfferBonus(Table):
    """An offer's own referral bonus, instead of the policy's default."""

    id = NeverReusedSerial(primary_key=True)

    item = ForeignKey(references=ContentItem, on_delete=OnDelete.cascade, unique=True)
    amount = Integer(default=0)
    currency = Varchar(length=3, default="EUR")
    probation_days = Integer(default=90)
    updated_at = Timestamptz(default=TimestamptzNow())


class BonusStatus(StrEnum):
    due = "due"  # to pay once due_on has come
    paid = "paid"
    cancelled = "cancelled"  # the candidate left "hired" before it was paid


class ReferralBonus(Table):
    """A referral bonus a hire created: what payroll pays the referrer, and when.

    Names are copied at the hire: payroll's record stays whole if the candidate's data is
    deleted on request or the member leaves."""

    id = NeverReusedSerial(primary_key=True)

    # "candidate:hired_at": one bonus per hire, whichever process records it.
    key = Varchar(length=80, unique=True)
    candidate = ForeignKey(references=Candidate, null=True, on_delete=OnDelete.set_null, index=True)
    referrer = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null, index=True)
    item = ForeignKey(references=ContentItem, null=True, on_delete=OnDelete.set_null)
    referrer_name = Varchar(length=120, default="")
    candidate_name = Varchar(length=120, default="")
    offer_title = Varchar(length=300, default="")
    amount = Integer(default=0)
    currency = Varchar(length=3, default="EUR")
    hired_on = Date()
    due_on = Date(index=True)
    status = Varchar(length=10, default=BonusStatus.due.value, choices=BonusStatus, index=True)
    paid_at = Timestamptz(null=True, default=None)
    paid_by = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    cancelled_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
