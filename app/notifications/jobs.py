"""The periodic jobs, run every minute by every worker process.

``run_jobs`` runs each job of :data:`JOBS` in turn: it announces new content, sends scheduled
campaigns that are due, writes re-engagement and weekly summary nudges, queues the nudges
that are due, and sends the mail that is due. Each job fails alone: its exception is logged
with the job's name and the next job runs; the next round tries it again. Several processes
may run them at once (the app's embedded worker, any number of ``relay worker``): campaigns
change state with a conditional update, nudges are claimed by one process at a time and
marked sent with their deliveries, and every nudge has a unique key, so nothing is sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from piccolo.query.functions.aggregate import Count

from app.accounts.tables import Member
from app.activity.tables import Activity, ActivityKind
from app.candidates import cvs
from app.candidates.tables import Candidate
from app.content import media, video
from app.content.announcements import Audience, audiences, claim_unannounced
from app.content.tables import ContentItem
from app.core import events, files
from app.core.settings import Settings
from app.core.tasks import BackgroundTask
from app.mail.service import deliver_due
from app.notifications.campaigns import send_due_campaigns
from app.rewards.tables import Reward

from .nudges import (
    WEEKLY_SUMMARY_HOUR,
    WEEKLY_SUMMARY_WEEKDAY,
    WeeklyFigures,
    nudge_audience,
    nudge_inactive_members,
    nudge_weekly_summary,
    send_due_nudges,
)

log = logging.getLogger("relay.notifications")

JOB_INTERVAL_S = 60.0
# Publications older than this when first seen are not announced (e.g. after a long outage).
NEW_CONTENT_LOOKBACK = timedelta(days=1)


async def weekly_share_figures(week_start: datetime) -> dict[int, WeeklyFigures]:
    """Each member's figures for the week from ``week_start`` (UTC, 7 days): their shares,
    the genuine clicks on their links and the applications that came through them, all read
    from the activity rows. Members who shared nothing that week get no summary."""

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
    """Nudge the audience of each newly visible story or offer once, set-based: the round's
    publications with the same audience become one nudge per member of it (written by
    statements over the audience, never a loop over its members), standing for all of them.
    Returns the nudges written."""

    claimed = await claim_unannounced(now - NEW_CONTENT_LOOKBACK, now)
    found = await audiences([item["id"] for item in claimed])
    groups: dict[Audience, list[dict[str, Any]]] = {}
    for item in claimed:
        if item["id"] in found:
            groups.setdefault(found[item["id"]], []).append(item)
    announced = 0
    for audience, items in groups.items():
        first = items[0]["id"]
        url = f"/items/{first}" if len(items) == 1 else "/"
        key = f"item{first}" if len(items) == 1 else f"items{first}+{len(items) - 1}"
        announced += await nudge_audience(
            audience.condition(), [item["title"] for item in items], url, now, key=key
        )
    return announced


async def sweep_orphan_files(data_dir: Path, now: datetime) -> int:
    """Stored files no row names (older than an hour) and renames a crash interrupted, in
    the media folder (images and videos) and the CV folder: see :mod:`app.core.files`.
    The keys in use are read before the folders are listed, so an upload committing
    meanwhile has young files the sweep leaves alone. Returns the files removed."""
    import anyio.to_thread

    images = {
        row["image"]
        for table in (ContentItem, Reward)
        for row in await table.select(table.image).where(table.image.is_not_null())
    }
    for row in await ContentItem.select(ContentItem.gallery).where(ContentItem.gallery != ""):
        images.update(row["gallery"].split())
    # Members' profile photos: a replaced or removed one is no longer named, and goes.
    images.update(
        row["photo"] for row in await Member.select(Member.photo).where(Member.photo.is_not_null())
    )
    in_use = media.MediaInUse(set(), set())
    await events.publish(in_use)  # later domains' rows (proposed stories) name files too
    images |= in_use.images
    videos = {
        video.video_key(name)
        for name in {
            row["video"]
            for row in await ContentItem.select(ContentItem.video).where(
                ContentItem.video.is_not_null()
            )
        }
        | in_use.videos
    }
    cv_keys = {
        row["cv"] for row in await Candidate.select(Candidate.cv).where(Candidate.cv.is_not_null())
    }
    removed = await anyio.to_thread.run_sync(
        files.sweep,
        media.media_dir(data_dir),
        lambda name: media.key_of_file(name) or video.key_of_file(name),
        images | {key for key in videos if key},
        now,
    )
    removed += await anyio.to_thread.run_sync(
        files.sweep, data_dir / "cvs", cvs.key_of_file, cv_keys, now
    )
    if removed:
        log.info("Removed %d stored file(s) no row named", removed)
    return removed


async def deliver_due_mail(settings: Settings, now: datetime) -> int:
    """Mail waiting for a retry, or queued by a process that does not send (app.mail.service)."""

    return await deliver_due(settings, now)


async def sweep_orphan_files_every_ten_minutes(settings: Settings, now: datetime) -> int:
    """The sweep reads every key in use, so every ten minutes; an orphan may wait an hour anyway."""
    return await sweep_orphan_files(settings.data_dir, now) if now.minute % 10 == 0 else 0


@dataclass(frozen=True)
class Job:
    """One periodic job: its name (in the logs) and what it runs."""

    name: str
    run: Callable[[Settings, datetime], Awaitable[object]]


# In this order every round; adding a job is adding a line.
JOBS: tuple[Job, ...] = (
    Job("announce new content", lambda settings, now: announce_new_content(now)),
    Job("send due campaigns", lambda settings, now: send_due_campaigns(now)),
    Job(
        "nudge inactive members",
        lambda settings, now: nudge_inactive_members(now, settings.reengage_after_days),
    ),
    Job("write weekly summaries", lambda settings, now: send_weekly_summaries(now)),
    Job(
        "send due nudges",
        lambda settings, now: send_due_nudges(now, settings.nudge_daily_cap),
    ),
    Job("deliver due mail", deliver_due_mail),
    Job("sweep orphan files", sweep_orphan_files_every_ten_minutes),
)


async def run_jobs(settings: Settings, now: datetime, jobs: Sequence[Job] = JOBS) -> list[str]:
    """Run every job once; returns the names of those that failed (each one is logged)."""
    failed = []
    for job in jobs:
        try:
            await job.run(settings, now)
        except Exception:
            log.exception(
                "Periodic job %r failed; the others go on, it runs again next round", job.name
            )
            failed.append(job.name)
    return failed


class NotificationJobs(BackgroundTask):
    """Runs :func:`run_jobs` every ``interval_s`` seconds in the background of a process."""

    description = "notification jobs"
    log = log

    def __init__(
        self,
        settings: Settings,
        interval_s: float = JOB_INTERVAL_S,
        clock: Callable[[], datetime] | None = None,
        jobs: Sequence[Job] = JOBS,
    ) -> None:
        super().__init__()
        self.settings = settings
        # Later domains' jobs too, given by the entry point (app.wiring.JOBS).
        self.jobs = jobs
        self.interval_s = interval_s
        self.clock = clock or (lambda: datetime.now(UTC))

    async def round(self) -> None:
        await run_jobs(self.settings, self.clock(), self.jobs)
