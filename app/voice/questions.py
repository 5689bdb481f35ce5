"""Questions to the programme team, their answers, and the FAQ made of those the askers let
others read (anonymised: the FAQ never says who asked).

Plain functions, no HTTP. A member reads only their own questions; the FAQ holds only
questions whose asker chose "others may see it anonymously", once answered and published.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.content import editing
from app.core.db import write_transaction
from app.core.forms import FormResult
from app.core.i18n import _, lazy
from app.core.search import folded
from app.notifications.nudges import nudge_voice_reply
from app.voice.tables import Question, QuestionVisibility

TEXT_MAX = 2_000
ANSWER_MAX = 10_000
FAQ_SEARCH_MAX = 100

VISIBILITY_NAMES = {
    QuestionVisibility.private.value: lazy("Only the programme team sees it"),
    QuestionVisibility.anonymous.value: lazy(
        "Others may see it, without my name, once it is answered"
    ),
}


def now() -> datetime:
    return editing.now()


def check_question(data: dict[str, Any]) -> FormResult:
    form = FormResult.of(data)
    form.text(
        "text",
        max_length=TEXT_MAX,
        required=_("Write your question."),
        too_long=_("Keep your question under 2,000 characters."),
    )
    form.choice(
        "visibility",
        VISIBILITY_NAMES,
        default=QuestionVisibility.private.value,
        message=_("Choose who may see your question."),
    )
    return form


async def ask(asker: int, checked: FormResult, at: datetime | None = None) -> int:
    rows = await Question.insert(
        Question(
            asker=asker,
            text=checked.values["text"],
            visibility=checked.values["visibility"],
            created_at=at or now(),
        )
    ).returning(Question.id)
    return int(rows[0]["id"])


def view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "visibility_name": _(VISIBILITY_NAMES.get(row["visibility"], "")),
        "may_publish": row["visibility"] == QuestionVisibility.anonymous.value,
    }


async def questions_of(asker: int) -> list[dict[str, Any]]:
    """The asker's own questions, newest first: nobody else's, ever."""
    rows = (
        await Question.select(*Question.all_columns())
        .where(Question.asker == asker)
        .order_by(Question.id, ascending=False)
        .limit(100)
    )
    return [view(r) for r in rows]


QUESTION_COLUMNS = (
    *Question.all_columns(),
    Question.asker.name.as_alias("asker_name"),
    Question.asker._.team._.name.as_alias("asker_team"),
)


async def question(question_id: int) -> dict[str, Any] | None:
    """For editors: any question, with who asked."""
    row = await Question.select(*QUESTION_COLUMNS).where(Question.id == question_id).first()
    return view(row) if row else None


async def open_questions() -> list[dict[str, Any]]:
    rows = (
        await Question.select(*QUESTION_COLUMNS)
        .where(Question.answered_at.is_null())
        .order_by(Question.id)
        .limit(500)
    )
    return [view(r) for r in rows]


async def answered_questions(limit: int = 50) -> list[dict[str, Any]]:
    rows = (
        await Question.select(*QUESTION_COLUMNS)
        .where(Question.answered_at.is_not_null())
        .order_by(Question.answered_at, ascending=False)
        .limit(limit)
    )
    return [view(r) for r in rows]


async def open_count() -> int:
    return await Question.count().where(Question.answered_at.is_null())


def check_answer(data: dict[str, Any], may_publish: bool) -> FormResult:
    """The editor's answer and, for a question its asker let others see, whether and how it
    goes in the FAQ (the wording may be changed to take out what would identify them)."""
    form = FormResult.of(data)
    form.text(
        "answer",
        max_length=ANSWER_MAX,
        required=_("Write the answer."),
        too_long=_("The answer is too long: at most 10,000 characters."),
    )
    in_faq = form.checkbox("in_faq")
    form.text(
        "faq_text",
        max_length=TEXT_MAX,
        too_long=_("Keep the question under 2,000 characters."),
    )
    if in_faq and not may_publish:
        form.fail("in_faq", _("The asker wanted this question kept private."))
    if in_faq and not form.raw("faq_text"):
        form.fail("faq_text", _("Write the question as the FAQ will show it."))
    return form


async def answer(
    question_id: int, editor: int, checked: FormResult, at: datetime | None = None
) -> bool:
    """Answer (or correct the answer); the asker is told the first time, and again when the
    answer changes. False for an unknown question."""
    moment = at or now()
    values = checked.values
    async with write_transaction():
        row = (
            await Question.select(*Question.all_columns()).where(Question.id == question_id).first()
        )
        if row is None:
            return False
        in_faq = bool(values.get("in_faq")) and (
            row["visibility"] == QuestionVisibility.anonymous.value
        )
        await Question.update(
            {
                Question.answer: values["answer"],
                Question.answered_by: editor,
                Question.answered_at: moment,
                Question.in_faq: in_faq,
                Question.faq_text: values.get("faq_text") or "",
            }
        ).where(Question.id == question_id)
    if row["answer"] != values["answer"]:
        await nudge_voice_reply(
            row["asker"],
            f"question:{question_id}:{int(moment.timestamp())}",
            lambda: (_("The programme team answered you"), _("Read the answer in Relay.")),
            "/me/voice#questions",
            moment,
        )
    return True


async def faq(search: str = "") -> list[dict[str, Any]]:
    """The published questions and answers, newest first, filtered by words (all of them
    must appear, in the question or the answer, whatever the case). Never who asked."""
    query = (
        Question.select(Question.id, Question.faq_text, Question.answer, Question.answered_at)
        .where(Question.in_faq.eq(True))
        .order_by(Question.answered_at, ascending=False)
        .limit(200)
    )
    rows = await query
    # Folded like every search of Relay (app.core.search): `reseau` finds "réseau".
    words = folded(search[:FAQ_SEARCH_MAX]).split()[:10]
    if words:
        rows = [
            r for r in rows if all(w in folded(r["faq_text"] + " " + r["answer"]) for w in words)
        ]
    return rows


async def mark_read(asker: int, at: datetime | None = None) -> None:
    await Question.update({Question.asker_seen_at: at or now()}).where(Question.asker == asker)
