"""The periodic jobs keep going when one part fails: one bad nudge, one broken job.

Nudges are queued as push deliveries (rows) here; mail really leaves, to an SMTP server on
127.0.0.1. Times are real (the mail outbox dates its rows with the clock) and the members
have no quiet hours, so every nudge is due when the test says.
"""

from __future__ import annotations

import ast
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.core.settings import Settings
from app.mail.service import enqueue as enqueue_mail
from app.notifications import preferences
from app.notifications.jobs import JOBS, Job, run_jobs
from app.notifications.nudges import (
    CONTENT_BATCH_WINDOW,
    MAX_ATTEMPTS,
    PRIORITY,
    nudge_new_content,
    nudge_redemption_update,
    nudge_referral_stage,
    nudge_reward_affordable,
)
from app.notifications.preferences import SWITCH_OF_KIND, Preferences
from app.notifications.tables import Nudge, NudgeState
from push.outbox import KINDS
from push.tables import PushDelivery
from push.worker import retry_delay
from tests.databases import ROOT
from tests.factories import make_member, subscribe
from tests.helpers import mail_settings
from tests.push_sink import PushSink


async def member_with_a_device(push_sink: PushSink, now: datetime) -> int:
    member = await make_member()
    await subscribe(member.id, push_sink.new_browser())
    await preferences.save_preferences(member.id, Preferences(quiet_start=0, quiet_end=0), now)
    return member.id


async def nudge_states() -> dict[str, str]:
    rows = await Nudge.select(Nudge.key, Nudge.state)
    return {row["key"]: row["state"] for row in rows}


async def queued_kinds() -> list[tuple[int, str]]:
    rows = await PushDelivery.select(PushDelivery.subscription.member, PushDelivery.kind)
    return sorted((row["subscription.member"], row["kind"]) for row in rows)


async def test_a_nudge_that_cannot_be_sent_fails_alone_and_mail_still_leaves(
    env: dict[str, str],
    database: str,
    push_sink: PushSink,
    smtp_server: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port, mailbox = smtp_server
    settings = mail_settings(env, port)
    await enqueue_mail(settings, "friend@example.com", "Hello", "A mail waiting for a retry.")
    now = datetime.now(UTC)
    written = now - CONTENT_BATCH_WINDOW
    lea, paul, zoe = [await member_with_a_device(push_sink, now) for _ in range(3)]
    # Léa's reward request was approved: the nudge that stopped every job (issue 16).
    assert await nudge_redemption_update(lea, 7, "Gift card", "approved", written) == 1
    await nudge_new_content([lea, zoe], ["Data engineer in Lyon"], "/items/3", written, key="3")
    await nudge_referral_stage(paul, "Marc", "Interview", "/me", written, key="h1")
    await nudge_reward_affordable(paul, 4, "Day off", "/me/rewards", written)
    # And a nudge no push can carry: a kind this version does not send (say, left by an
    # older one). It must fail alone, not take Paul's other nudges nor anyone's with it.
    await Nudge.insert(
        Nudge(member=paul, kind="retired", key="retired:1", title="Old", due_at=written)
    )
    [bad] = await Nudge.select(Nudge.id).where(Nudge.key == "retired:1")

    with caplog.at_level(logging.ERROR, logger="relay.notifications"):
        assert await run_jobs(settings, now) == []

    assert await nudge_states() == {
        "redemption:7:approved": "sent",
        f"content:3:{lea}": "sent",
        f"content:3:{zoe}": "sent",
        "referral:h1": "sent",
        f"reward:{paul}:4": "sent",
        "retired:1": "waiting",
    }
    expected = [(lea, "redemption"), (lea, "content"), (zoe, "content"), (paul, "referral")]
    assert await queued_kinds() == sorted([*expected, (paul, "reward")])
    assert [mail["To"] for mail in mailbox.messages] == ["friend@example.com"]
    [record] = [r for r in caplog.records if "could not be queued" in r.getMessage()]
    assert str(bad["id"]) in record.getMessage() and "'retired'" in record.getMessage()
    assert record.exc_info is not None

    # It is tried again with backoff, then given up: never retried forever.
    at = now
    for attempt in range(1, MAX_ATTEMPTS):
        row = await Nudge.select().where(Nudge.id == bad["id"]).first()
        assert row is not None
        assert (row["state"], row["attempts"]) == ("waiting", attempt)
        assert row["due_at"] == at + retry_delay(attempt, None)
        # Not before it is due.
        await run_jobs(settings, row["due_at"] - timedelta(seconds=1))
        assert (await Nudge.select(Nudge.attempts).where(Nudge.id == bad["id"]))[0][
            "attempts"
        ] == attempt
        at = row["due_at"]
        assert await run_jobs(settings, at) == []
    row = await Nudge.select().where(Nudge.id == bad["id"]).first()
    assert row is not None
    assert (row["state"], row["attempts"]) == (NudgeState.failed.value, MAX_ATTEMPTS)
    assert any("marked failed" in r.getMessage() for r in caplog.records)
    assert await run_jobs(settings, at + timedelta(days=1)) == []
    assert (await Nudge.select(Nudge.attempts).where(Nudge.id == bad["id"]))[0][
        "attempts"
    ] == MAX_ATTEMPTS
    assert len(await queued_kinds()) == 5


async def test_a_job_that_fails_is_logged_and_the_jobs_after_it_still_run(
    env: dict[str, str],
    database: str,
    smtp_server: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port, mailbox = smtp_server
    settings = mail_settings(env, port)
    await enqueue_mail(settings, "friend@example.com", "Hello", "Still leaves.")

    async def broken(settings: Settings, now: datetime) -> None:
        raise RuntimeError("the rollup table is locked")

    with caplog.at_level(logging.ERROR, logger="relay.notifications"):
        failed = await run_jobs(settings, datetime.now(UTC), [Job("broken", broken), *JOBS])

    assert failed == ["broken"]
    [record] = [r for r in caplog.records if "'broken'" in r.getMessage()]
    assert record.exc_info is not None and "rollup table" in str(record.exc_info[1])
    assert [mail["Subject"] for mail in mailbox.messages] == ["Hello"]


def _kinds_written_in(source: str) -> set[str]:
    """The push kinds a module writes: ``_write("kind", …)`` and ``enqueue(…, kind="…")``."""
    kinds = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        if name == "_write" and node.args and isinstance(node.args[0], ast.Constant):
            kinds.add(node.args[0].value)
        if name in {"enqueue", "check_message"}:
            for keyword in node.keywords:
                if keyword.arg == "kind" and isinstance(keyword.value, ast.Constant):
                    kinds.add(keyword.value.value)
    return kinds


def test_every_kind_of_push_the_app_writes_is_one_the_outbox_accepts() -> None:
    written: set[str] = set()
    for path in (ROOT / "app").rglob("*.py"):
        written |= _kinds_written_in(Path(path).read_text())
    # The scan finds what it must (if it found nothing, it would prove nothing).
    assert {"content", "referral", "reward", "redemption", "campaign", "test"} <= written
    assert written <= KINDS, written - KINDS
    # Every kind a nudge can have is ranked and governed by a switch the member sets.
    nudge_kinds = written - {"campaign", "test"}
    assert nudge_kinds <= set(PRIORITY) and nudge_kinds <= set(SWITCH_OF_KIND)
    assert set(PRIORITY) <= KINDS and set(SWITCH_OF_KIND) <= KINDS


async def test_a_nudge_of_a_kind_push_does_not_know_is_refused_when_written(
    database: str,
) -> None:
    from app.notifications.nudges import _write

    member = await make_member()
    with pytest.raises(ValueError, match="unknown push kind"):
        await _write("retired", [(member.id, "retired:2", "Old", "", "/")], datetime.now(UTC))
    assert await Nudge.count() == 0
