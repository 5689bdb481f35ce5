"""The periodic jobs of notifications, run every minute by every worker process.

``run_jobs`` sends scheduled campaigns that are due, writes re-engagement and weekly summary
nudges, queues the nudges that are due, and sends the mail that is due. Several processes may run it at once (the app's
embedded worker, any number of ``relay worker``): campaigns change state with a conditional
update, nudges are claimed by one process at a time and marked sent with their deliveries,
and every nudge has a unique key, so nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from piccolo.query.functions.aggregate import Count

from app.core.settings import Settings

from .nudges import (
    WEEKLY_SUMMARY_HOUR,
    WEEKLY_SUMMARY_WEEKDAY,
    WeeklyFigures,
    nudge_inactive_members,
    nudge_new_content,
    nudge_weekly_summary,
    send_due_nudges,
)
from .service import send_due_campaigns

log = logging.getLogger("relay.notifications")

JOB_INTERVAL_S = 60.0
# Publications older than this when first seen are not announced (e.g. after a long outage).
NEW_CONTENT_LOOKBACK = timedelta(days=1)


async def weekly_share_figures(week_start: datetime) -> dict[int, WeeklyFigures]:
    """Each member's figures for the week from ``week_start`` (UTC, 7 days): their shares,
    the genuine clicks on their links and the applications that came through them, all read
    from the activity rows. Members who shared nothing that week get no summary."""
    from app.candidates.tables import Activity, ActivityKind

    kinds = {
        ActivityKind.share.value: "shares",
        ActivityKind.click.value: "visits",
        ActivityKind.application.value: "applications",
    }
    rows = (
        await Activity.select(Activity.member, Activity.kind, Count(Activity.id, alias="n"))
        .where(
            Activity.kind.is_in(list(kinds)),
            Activity.member.is_not_null(),
            Activity.at >= week_start,
            Activity.at < week_start + timedelta(days=7),
        )
        .group_by(Activity.member, Activity.kind)
    )
    counts: dict[int, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(int(row["member"]), {})[kinds[row["kind"]]] = int(row["n"])
    return {
        member: WeeklyFigures(
            shares=c.get("shares", 0),
            visits=c.get("visits", 0),
            applications=c.get("applications", 0),
        )
        for member, c in counts.items()
        if c.get("shares", 0) > 0
    }


async def send_weekly_summaries(now: datetime) -> int:
    """On Monday from 09:00 UTC, the summaries of the week before (once per member and week).

    Each summary is a nudge, so it also waits for the member's quiet hours to end.
    """
    if now.weekday() != WEEKLY_SUMMARY_WEEKDAY or now.hour < WEEKLY_SUMMARY_HOUR:
        return 0
    week_start = (now - timedelta(days=7)).replace(hour=0, minute=0, second=0, microsecond=0)
    year, number, _day = week_start.isocalendar()
    week = f"{year}-W{number:02d}"
    written = 0
    for member_id, figures in (await weekly_share_figures(week_start)).items():
        written += await nudge_weekly_summary(member_id, figures, week, now)
    return written


async def announce_new_content(now: datetime) -> int:
    """Nudge each newly visible story or offer's audience once (batched per member)."""
    from app.content.service import audience_member_ids, claim_unannounced

    announced = 0
    for item in await claim_unannounced(now - NEW_CONTENT_LOOKBACK, now):
        members = await audience_member_ids(item["id"])
        announced += await nudge_new_content(
            members, [item["title"]], f"/items/{item['id']}", now, key=f"item{item['id']}"
        )
    return announced


async def run_jobs(settings: Settings, now: datetime) -> None:
    from app.mail.service import deliver_due

    await announce_new_content(now)
    await send_due_campaigns(now)
    await nudge_inactive_members(now, settings.reengage_after_days)
    await send_weekly_summaries(now)
    await send_due_nudges(now, settings.nudge_daily_cap)
    # Mail waiting for a retry, or queued by a process that does not send (app.mail.service).
    await deliver_due(settings, now)


class NotificationJobs:
    """Runs :func:`run_jobs` every ``interval_s`` seconds in the background of a process."""

    def __init__(
        self,
        settings: Settings,
        interval_s: float = JOB_INTERVAL_S,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.interval_s = interval_s
        self.clock = clock or (lambda: datetime.now(UTC))
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                await run_jobs(self.settings, self.clock())
            except Exception:
                log.exception("Notification jobs failed; trying again at the next round")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.interval_s)

    async def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    def request_stop(self) -> None:
        self._stop.set()

    async def stop(self) -> None:
        self.request_stop()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
