"""Automatic nudges: rows first, sent by the job runner when due, respectfully.

Other parts of Relay call one function per event:

- :func:`nudge_new_content` when content is published for an audience (batched: what
  arrives for a member within ``CONTENT_BATCH_WINDOW`` goes out as one notification);
- :func:`nudge_referral_stage` when a member's referral moves to another stage (at once);
- :func:`nudge_reward_affordable` when a member's balance reaches a reward (once per reward),
  on :class:`~app.points.awards.PointsGained` (:func:`on_points_gained`);
- :func:`nudge_redemption_update` when an editor approves, delivers or rejects a redemption,
  on :class:`~app.rewards.service.RedemptionDecided` (:func:`on_redemption_decided`);
- :func:`nudge_voice_reply` when editors act on a member's own story or question (app.voice);
- :func:`nudge_weekly_summary` with the figures of a member's shares for a week;

and the job runner (``app.notifications.jobs``) calls :func:`nudge_inactive_members` and
:func:`send_due_nudges` every minute. Each nudge respects the member's switches, their quiet
hours (it waits for their end, it is not dropped) and a daily cap (``NUDGE_DAILY_CAP`` in any
24 hours; what exceeds it waits for a free slot). A nudge's ``key`` makes each event nudge once.

Each notification (one member's nudges of one kind) is queued in its own savepoint: one that
cannot be queued is rolled back alone, logged with its ids and kind, and tried again with
backoff; after ``MAX_ATTEMPTS`` it is marked failed. The others of the round go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.accounts.tables import Member, Session
from app.core import i18n
from app.core.db import write_transaction
from app.core.i18n import _, ngettext
from app.core.outbox import retry_delay, skip_locked
from app.notifications.campaigns import single_runner_lock
from app.notifications.devices import BADGE, ICON
from app.notifications.preferences import Preferences, preferences_of_members, quiet_until
from app.points.awards import PointsGained
from app.rewards.service import RedemptionDecided, rewards_within
from push import KINDS, PushMessage, enqueue, members_with_devices

from .tables import Nudge, NudgeState

log = logging.getLogger("relay.notifications")

CONTENT_BATCH_WINDOW = timedelta(minutes=10)
DAY = timedelta(hours=24)
# When several nudges wait for the same free slot, the more personal ones go first.
PRIORITY = {
    "referral": 0,
    "redemption": 0,
    "event": 0,
    "reward": 1,
    "content": 2,
    "summary": 3,
    "reengage": 4,
    "voice": 0,
}
# The weekly summary goes out on Monday morning (member's time zone, after quiet hours).
WEEKLY_SUMMARY_WEEKDAY = 0
WEEKLY_SUMMARY_HOUR = 9
CLAIM_LIMIT = 1000
# A notification that cannot be queued is tried again after 30 s, 1 min, 2 min, 4 min, then
# marked failed: about eight minutes of retries, enough to outlast a passing fault.
MAX_ATTEMPTS = 5


async def _language_of(member_ids: Sequence[int]) -> dict[int, str]:
    rows = await Member.select(Member.id, Member.language).where(Member.id.is_in(list(member_ids)))
    return {row["id"]: row["language"] for row in rows}


async def _write(
    kind: str,
    items: Sequence[tuple[int, str, str, str, str]],
    now: datetime,
    delay: timedelta = timedelta(0),
) -> int:
    """Write nudges (member, key, title, body, url) for members who want this kind.

    Titles are written in each member's language. Returns how many new nudges were written
    (a key already written is ignored: the event was nudged before).
    """
    if kind not in KINDS:
        # Refused here, where the mistake is, rather than later by the job that sends them.
        raise ValueError(f"unknown push kind {kind!r}; add it to push.outbox.KINDS")
    if not items:
        return 0
    member_ids = sorted({item[0] for item in items})
    preferences = await preferences_of_members(member_ids)
    written = 0
    async with write_transaction():
        for member_id, key, title, body, url in items:
            wanted = preferences[member_id]
            if not wanted.wants(kind):
                continue
            rows = await (
                Nudge.insert(
                    Nudge(
                        member=member_id,
                        kind=kind,
                        key=key[:120],
                        title=title[:200],
                        body=body[:400],
                        url=url,
                        due_at=now + delay,
                        created_at=now,
                    )
                )
                .on_conflict(target=Nudge.key, action="DO NOTHING")
                .returning(Nudge.id)
            )
            written += len(rows)
    return written


def _in_language(language: str, make: Any) -> Any:
    token = i18n.current_language.set(language)
    try:
        return make()
    finally:
        i18n.current_language.reset(token)


async def nudge_new_content(
    member_ids: Sequence[int], titles: Sequence[str], url: str, now: datetime, *, key: str
) -> int:
    """New stories or offers for these members; ``key`` names the publication (once each).

    Several publications reaching a member within ``CONTENT_BATCH_WINDOW`` are sent as one
    notification ("3 new posts to share") when the window closes.
    """
    if not titles:
        return 0
    languages = await _language_of(member_ids)
    items = []
    for member_id in member_ids:
        title = _in_language(languages.get(member_id, "en"), lambda: _("New to share"))
        items.append((member_id, f"content:{key}:{member_id}", title, " · ".join(titles), url))
    return await _write("content", items, now, delay=CONTENT_BATCH_WINDOW)


# Members per statement when an audience is nudged: each INSERT … SELECT writes at most this
# many rows, short enough that requests writing meanwhile wait little for SQLite's lock.
AUDIENCE_BATCH = 5_000

_AUDIENCE_NUDGES = """
INSERT INTO nudge (member, kind, key, title, body, url, state, due_at, created_at, attempts, items)
SELECT m.id, 'content', CAST({} AS TEXT) || CAST(m.id AS TEXT), TITLE, {}, {}, 'waiting', {}, {}, 0, {}
FROM member m
WHERE m.id > {} AND m.id <= {} AND AUDIENCE
  AND NOT EXISTS (
    SELECT 1 FROM notification_preference p WHERE p.member = m.id AND p.content = {}
  )
ON CONFLICT (key) DO NOTHING
RETURNING id
"""


async def nudge_audience(
    audience: tuple[str, Sequence[Any]], titles: Sequence[str], url: str, now: datetime, *, key: str
) -> int:
    """One nudge for these publications to every member an SQL condition on ``m`` selects
    (an audience: app.content.announcements), set-based: one INSERT … SELECT per
    :data:`AUDIENCE_BATCH` members, each in their language, skipping those who turned
    content nudges off; the loop yields between statements. Returns the nudges written."""
    if not titles:
        return 0
    condition, condition_args = audience
    languages = sorted(i18n.LANGUAGES)
    words = {
        language: _in_language(language, lambda: _new_to_share(len(titles)))
        for language in languages
    }
    title = "CASE m.language " + "WHEN {} THEN {} " * len(languages) + "ELSE {} END"
    title_args: list[Any] = [arg for language in languages for arg in (language, words[language])]
    title_args.append(words[i18n.DEFAULT_LANGUAGE])
    sql = _AUDIENCE_NUDGES.replace("TITLE", title).replace("AUDIENCE", condition)
    bounds = await Member.raw("SELECT MIN(id) AS low, MAX(id) AS high FROM member")
    low, high = bounds[0]["low"], bounds[0]["high"]
    if low is None:
        return 0
    written = 0
    for start in range(int(low) - 1, int(high), AUDIENCE_BATCH):
        rows = await Nudge.raw(
            sql,
            f"content:{key}:",
            *title_args,
            " · ".join(titles)[:400],
            url,
            now + CONTENT_BATCH_WINDOW,
            now,
            len(titles),
            start,
            start + AUDIENCE_BATCH,
            *condition_args,
            False,
        )
        written += len(rows)
        await asyncio.sleep(0)  # a long announcement lets requests through between batches
    return written


async def nudge_referral_stage(
    member_id: int, candidate_name: str, stage: str, url: str, now: datetime, *, key: str
) -> int:
    """A referral of this member moved to ``stage`` (already in the member's words); at once.

    ``key`` names the event (e.g. the stage history row's id), so a retry nudges once.
    """
    languages = await _language_of([member_id])
    title, body = _in_language(
        languages.get(member_id, "en"),
        lambda: (
            _("News of your referral"),
            _("{name}: {stage}").format(name=candidate_name, stage=stage),
        ),
    )
    return await _write("referral", [(member_id, f"referral:{key}", title, body, url)], now)


async def nudge_event_reminders(
    reminders: Sequence[tuple[int, str, str, str, str]], now: datetime
) -> int:
    """Reminders of events (member, key, title, body, url), written by app.events in each
    member's language; once per key (an event, a member and which reminder)."""
    return await _write("event", reminders, now)


async def nudge_reward_affordable(
    member_id: int, reward_id: int, reward_name: str, url: str, now: datetime
) -> int:
    """The member can now afford this reward: told once per reward, ever."""
    languages = await _language_of([member_id])
    title, body = _in_language(
        languages.get(member_id, "en"),
        lambda: (
            _("A reward is within reach"),
            _("You have enough points for {reward}.").format(reward=reward_name),
        ),
    )
    key = f"reward:{member_id}:{reward_id}"
    return await _write("reward", [(member_id, key, title, body, url)], now)


async def nudge_redemption_update(
    member_id: int, redemption_id: int, reward_name: str, state: str, now: datetime
) -> int:
    """An editor moved the member's redemption to ``state`` (approved, delivered, rejected);
    at once, once per redemption and state. A delivery note (a gift code) never goes in a
    push: the member reads it in Relay."""
    languages = await _language_of([member_id])

    def words() -> tuple[str, str]:
        if state == "approved":
            return _("Your reward is approved"), _("{reward}: it is on its way.").format(
                reward=reward_name
            )
        if state == "delivered":
            return _("Your reward is ready"), _("{reward}: see the details in Relay.").format(
                reward=reward_name
            )
        return _("Your reward request was declined"), _(
            "{reward}: your points are back. See why in Relay."
        ).format(reward=reward_name)

    title, body = _in_language(languages.get(member_id, "en"), words)
    key = f"redemption:{redemption_id}:{state}"
    return await _write("redemption", [(member_id, key, title, body, "/me/rewards")], now)


async def nudge_voice_reply(
    member_id: int, key: str, words: Callable[[], tuple[str, str]], url: str, now: datetime
) -> int:
    """The programme team did something with the member's own story or question (edited,
    published, declined it; answered it): at once, once per ``key``. ``words`` gives the
    title and body, called in the member's language."""
    languages = await _language_of([member_id])
    title, body = _in_language(languages.get(member_id, "en"), words)
    return await _write("voice", [(member_id, f"voice:{key}", title, body, url)], now)


async def on_points_gained(event: PointsGained) -> None:
    """Tell the member of the rewards they can now afford (once per reward, ever: the nudge's
    key says so). Runs in the transaction that credited the points, so the nudge is written
    with them or not at all; it is only queued here, the push goes out after commit."""
    for reward in await rewards_within(event.member, event.before, event.after, event.at):
        await nudge_reward_affordable(
            event.member, reward["id"], reward["name"], f"/rewards/{reward['id']}", event.at
        )


async def on_redemption_decided(event: RedemptionDecided) -> None:
    await nudge_redemption_update(
        event.member, event.redemption, event.reward_name, event.state, event.at
    )


@dataclass(frozen=True)
class WeeklyFigures:
    """What a member's shares did in a week: the shares data lands with the content issue."""

    shares: int
    visits: int
    applications: int


async def nudge_weekly_summary(
    member_id: int, figures: WeeklyFigures, week: str, now: datetime, url: str = "/me"
) -> int:
    """This week's figures of the member's shares; ``week`` is its ISO name (2026-W48).

    Call it on Mondays from ``WEEKLY_SUMMARY_HOUR`` (member's time zone) with the figures of
    the week before; a week with no share sends nothing. Once per member and week.
    """
    if figures.shares <= 0:
        return 0
    languages = await _language_of([member_id])

    def words() -> tuple[str, str]:
        shares = ngettext("%(num)d share", "%(num)d shares", figures.shares) % {
            "num": figures.shares
        }
        visits = ngettext("%(num)d visit", "%(num)d visits", figures.visits) % {
            "num": figures.visits
        }
        applications = ngettext(
            "%(num)d application", "%(num)d applications", figures.applications
        ) % {"num": figures.applications}
        return _("Your week on Relay"), f"{shares} · {visits} · {applications}"

    title, body = _in_language(languages.get(member_id, "en"), words)
    key = f"summary:{member_id}:{week}"
    return await _write("summary", [(member_id, key, title, body, url)], now)


async def nudge_inactive_members(now: datetime, after_days: int) -> int:
    """A nudge to members with a device who have not opened Relay for ``after_days`` days.

    Once per absence: the key holds the day they were last seen, so coming back and leaving
    again earns a new one.
    """
    since = now - timedelta(days=after_days)
    member_ids = await members_with_devices()
    if not member_ids:
        return 0
    last_seen: dict[int, datetime] = {}
    for start in range(0, len(member_ids), 500):
        rows = await Session.select(Session.member, Session.last_seen_at).where(
            Session.member.is_in(member_ids[start : start + 500])
        )
        for row in rows:
            seen = row["last_seen_at"]
            if row["member"] not in last_seen or seen > last_seen[row["member"]]:
                last_seen[row["member"]] = seen
    members = await Member.select(Member.id, Member.language, Member.created_at).where(
        Member.id.is_in(member_ids), Member.active.eq(True)
    )
    items = []
    for member in members:
        seen = last_seen.get(member["id"], member["created_at"])
        if seen > since:
            continue
        title, body = _in_language(
            member["language"],
            lambda: (
                _("We miss you on Relay"),
                _("See what's new to share and how your referrals are doing."),
            ),
        )
        key = f"reengage:{member['id']}:{seen.date().isoformat()}"
        items.append((member["id"], key, title, body, "/"))
    return await _write("reengage", items, now)


def _new_to_share(count: int) -> str:
    if count == 1:
        return _("New to share")
    return ngettext("%(num)d new post to share", "%(num)d new posts to share", count) % {
        "num": count
    }


def _message(kind: str, nudges: list[dict[str, Any]], language: str) -> PushMessage:
    """One notification for one member's nudges of one kind (several only for content; a
    content nudge may stand for several publications: its ``items``)."""
    first = nudges[0]
    count = sum(int(n.get("items") or 1) for n in nudges)
    if len(nudges) == 1:
        return PushMessage(
            title=first["title"],
            body=first["body"],
            url=first["url"],
            icon=ICON,
            badge=BADGE,
            tag=f"nudge-{kind}",
        )
    if kind == "voice":
        # Several replies about the member's own stories and questions: one notification
        # naming each, opening the page that lists them.
        title = _in_language(language, lambda: _("News from the programme team"))
        body = " · ".join(n["title"] for n in nudges)[:300]
        return PushMessage(
            title=title, body=body, url="/me/voice", icon=ICON, badge=BADGE, tag=f"nudge-{kind}"
        )
    titles = " · ".join(n["body"] for n in nudges)
    title = _in_language(
        language,
        lambda: _new_to_share(count),
    )
    return PushMessage(
        title=title, body=titles[:300], url="/", icon=ICON, badge=BADGE, tag=f"nudge-{kind}"
    )


async def send_due_nudges(now: datetime, daily_cap: int) -> int:
    """Queue the nudges due at ``now`` for push; returns how many notifications were queued.

    Runs in one transaction, by one process at a time (see ``single_runner_lock``): a nudge
    is marked sent in the same transaction that writes its deliveries, so it is never sent
    twice nor lost. Nudges in quiet hours or beyond the cap get a later ``due_at``. Each
    notification is queued in a savepoint, so one that fails leaves the others sent.
    """
    queued = 0
    async with write_transaction() as transaction:
        if not await single_runner_lock("send_due_nudges"):
            return 0
        due = await skip_locked(
            Nudge.select()
            .where(Nudge.state == NudgeState.waiting.value, Nudge.due_at <= now)
            .order_by(Nudge.due_at)
            .limit(CLAIM_LIMIT)
        )
        if not due:
            return 0
        by_member: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in due:
            by_member[row["member"]].append(row)
        member_ids = sorted(by_member)
        preferences = await preferences_of_members(member_ids)
        languages = await _language_of(member_ids)
        recent = await Nudge.select(Nudge.member, Nudge.sent_at).where(
            Nudge.member.is_in(member_ids),
            Nudge.state == NudgeState.sent.value,
            Nudge.sent_at > now - DAY,
        )
        # One notification = one sent_at per member (a batch marks its rows together).
        sent_times: dict[int, set[datetime]] = defaultdict(set)
        for row in recent:
            sent_times[row["member"]].add(row["sent_at"])
        for member_id, rows in by_member.items():
            queued += await _send_member_nudges(
                transaction,
                member_id,
                rows,
                preferences[member_id],
                languages.get(member_id, "en"),
                sorted(sent_times[member_id]),
                now,
                daily_cap,
            )
    return queued


async def _send_member_nudges(
    transaction: Any,
    member_id: int,
    rows: list[dict[str, Any]],
    preferences: Preferences,
    language: str,
    sent_times: list[datetime],
    now: datetime,
    daily_cap: int,
) -> int:
    dropped = [row["id"] for row in rows if not preferences.wants(row["kind"])]
    if dropped:
        await Nudge.update({Nudge.state: NudgeState.dropped.value}).where(Nudge.id.is_in(dropped))
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["id"] not in dropped:
            by_kind[row["kind"]].append(row)
    if not by_kind:
        return 0
    later = quiet_until(preferences, now)
    kinds = sorted(by_kind, key=lambda kind: PRIORITY.get(kind, 9))
    free = max(0, daily_cap - len(sent_times))
    sending, waiting = kinds[:free], kinds[free:]
    if later is not None:
        sending, waiting = [], kinds
    if waiting:
        if later is None:
            # The cap: wait until the oldest notification of the last 24 h leaves the window.
            later = sent_times[0] + DAY
            later = quiet_until(preferences, later) or later
        ids = [row["id"] for kind in waiting for row in by_kind[kind]]
        await Nudge.update({Nudge.due_at: later}).where(Nudge.id.is_in(ids))
    queued = 0
    for offset, kind in enumerate(sending):
        nudges = by_kind[kind]
        # Distinct times keep each notification countable against the cap.
        sent_at = now + timedelta(microseconds=offset)
        savepoint = await transaction.savepoint()
        try:
            await enqueue(
                _message(kind, nudges, language),
                kind=kind,
                member_ids=[member_id],
                topic=f"nudge-{kind}" if kind in {"content", "summary", "reengage"} else None,
                now=now,
            )
            await Nudge.update({Nudge.state: NudgeState.sent.value, Nudge.sent_at: sent_at}).where(
                Nudge.id.is_in([row["id"] for row in nudges])
            )
        except Exception:
            await savepoint.rollback_to()
            await _retry_later(nudges, kind, now)
            continue
        await savepoint.release()
        queued += 1
    return queued


async def _retry_later(nudges: list[dict[str, Any]], kind: str, now: datetime) -> None:
    """Count a failed attempt at these nudges: tried again with backoff, or marked failed.

    Called from an ``except`` block, so the log carries the exception that caused it.
    """
    ids = [row["id"] for row in nudges]
    attempts = max(row["attempts"] for row in nudges) + 1
    if attempts >= MAX_ATTEMPTS:
        log.exception(
            "Nudges %s (kind %r) could not be queued after %d attempts; marked failed",
            ids,
            kind,
            attempts,
        )
        await Nudge.update({Nudge.state: NudgeState.failed.value, Nudge.attempts: attempts}).where(
            Nudge.id.is_in(ids)
        )
        return
    delay = retry_delay(attempts, None)
    log.exception(
        "Nudges %s (kind %r) could not be queued (attempt %d of %d); trying again in %s",
        ids,
        kind,
        attempts,
        MAX_ATTEMPTS,
        delay,
    )
    await Nudge.update({Nudge.attempts: attempts, Nudge.due_at: now + delay}).where(
        Nudge.id.is_in(ids)
    )
