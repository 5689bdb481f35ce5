"""Who listens to what: the one place where a domain's events reach the later domains.

:func:`wire` is called once per process by every entry point that runs Relay's services
(``create_app``, the CLI's commands, the worker) and by the test fixtures that call services
directly, so each of them reacts to an event in the same way.
"""

from __future__ import annotations

from app.activity.service import ActivityRecorded
from app.candidates.applications import refuse_offers_without_notice
from app.candidates.bonuses import on_activity_recorded as bonus_on_hire
from app.content.editing import ItemWithdrawn, OfferPublishing
from app.content.media import MediaInUse
from app.core.events import clear, subscribe
from app.events.service import remind_signups
from app.insights.digest import send_weekly_digests
from app.insights.service import roll_up as roll_up_insights
from app.integrations.webhooks import deliver_due as deliver_due_webhooks
from app.integrations.webhooks import on_activity_recorded as queue_webhooks
from app.notifications.jobs import JOBS as NOTIFICATION_JOBS
from app.notifications.jobs import Job
from app.notifications.nudges import on_points_gained, on_redemption_decided
from app.points.awards import PointsGained, on_activity_recorded
from app.rewards.service import RedemptionDecided
from app.sharing.images import forget_withdrawn_item
from app.voice.stories import keep_proposal_media


def wire() -> None:
    """Subscribe every handler, in the order they run (calling it again changes nothing)."""
    clear()
    subscribe(ActivityRecorded, on_activity_recorded)  # an activity earns its points
    subscribe(ActivityRecorded, queue_webhooks)  # … and is told to the ATS's endpoints
    subscribe(ActivityRecorded, bonus_on_hire)  # a hire's referral bonus, cancelled if undone
    subscribe(PointsGained, on_points_gained)  # … which may put a reward within reach
    subscribe(RedemptionDecided, on_redemption_decided)  # an editor's decision is told
    subscribe(ItemWithdrawn, forget_withdrawn_item)  # its share images are removed
    subscribe(OfferPublishing, refuse_offers_without_notice)  # candidates consent to a notice
    subscribe(MediaInUse, keep_proposal_media)  # proposed stories' photos are kept


# Every periodic job, in the order of a round: event reminders first (they are nudges, sent
# by the notifications' jobs that follow in the same round), the notifications' jobs, then
# the later domains' (they read what the earlier ones wrote).
JOBS: tuple[Job, ...] = (
    # First, so that the reminders it writes go out with this round's nudges.
    Job("remind event sign-ups", lambda settings, now: remind_signups(now)),
    *NOTIFICATION_JOBS,
    Job("roll up insights", lambda settings, now: roll_up_insights(now)),
    Job("send insights digests", send_weekly_digests),
    Job("deliver due webhooks", deliver_due_webhooks),
)
