"""The weekly digest: the week's overview by email, for the editors and admins who ask for it.

On Monday from 08:00 in the recipient's time zone (their notification preferences), the
figures of the week before (Monday to Sunday) against the week before that, queued in the
mail outbox like every mail (a row first; the sender delivers it). Once per member and week.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from app.accounts.tables import Member
from app.core import i18n
from app.core.i18n import _
from app.core.settings import Settings
from app.insights import service
from app.insights.tables import InsightDigest
from app.mail import service as mail
from app.notifications.preferences import preferences_of_members

DIGEST_HOUR = 8


async def wants_digest(member_id: int) -> bool:
    return await InsightDigest.exists().where(InsightDigest.member == member_id)


async def set_digest(member_id: int, wanted: bool) -> None:
    if wanted:
        await InsightDigest.insert(InsightDigest(member=member_id)).on_conflict(
            target=InsightDigest.member, action="DO NOTHING"
        )
    else:
        await InsightDigest.delete().where(InsightDigest.member == member_id)


def last_week(today: date) -> service.Period:
    monday = today - timedelta(days=today.weekday() + 7)
    return service.Period("custom", monday, monday + timedelta(days=6))


async def digest_text(settings: Settings, period: service.Period) -> tuple[str, str]:
    """The subject and text of the digest of a week, in the current language."""
    now, before = await service.compared(period, service.Filters())
    lines = []
    labels = {
        "active": _("Active ambassadors"),
        "shares": _("Shares"),
        "clicks": _("Genuine clicks"),
        "applications": _("Applications"),
        "hires": _("Hires"),
    }
    for key, label in labels.items():
        value, previous = now.figures[key] or 0, before.figures[key] or 0
        lines.append(f"{label}: {value} ({value - previous:+d})")
    subject = _("Relay: the week of %(start)s") % {"start": period.first}
    text = "\n".join(
        [
            _("The programme's week, %(start)s to %(end)s (against the week before):")
            % {"start": period.first, "end": period.last},
            "",
            *lines,
            "",
            _("Every figure, the funnel and the breakdowns: %(url)s")
            % {
                "url": f"{settings.public_url}/insights?period=custom&from={period.first}&to={period.last}"
            },
            _("You get this because you asked for it on the Insights page; turn it off there."),
        ]
    )
    return subject, text


async def send_weekly_digests(settings: Settings, now: datetime) -> int:
    """Queue the digest of every member who asked for it and whose Monday morning it is."""
    if not settings.smtp_url:
        return 0
    rows = await InsightDigest.select()
    if not rows:
        return 0
    members = {
        m["id"]: m
        for m in await Member.select(Member.id, Member.email, Member.language, Member.role).where(
            Member.id.is_in([r["member"] for r in rows]), Member.active.eq(True)
        )
    }
    preferences = await preferences_of_members(list(members))
    sent = 0
    for row in rows:
        member = members.get(row["member"])
        if member is None or member["role"] not in ("editor", "admin"):
            continue
        local = now.astimezone(preferences[member["id"]].zone)
        if local.weekday() != 0 or local.hour < DIGEST_HOUR:
            continue
        year, number, _day = local.date().isocalendar()
        week = f"{year}-W{number:02d}"
        if row["last_week"] == week:
            continue
        period = last_week(local.date())
        token = i18n.current_language.set(member["language"] or "en")
        try:
            subject, text = await digest_text(settings, period)
        finally:
            i18n.current_language.reset(token)
        await mail.enqueue(settings, member["email"], subject, text, about=f"digest:{member['id']}")
        await InsightDigest.update({InsightDigest.last_week: week}).where(
            InsightDigest.id == row["id"]
        )
        sent += 1
    if sent:
        mail.kick()
    return sent
