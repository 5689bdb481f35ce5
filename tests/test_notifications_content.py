"""Where notifications meet content: new-content nudges, "never shared", shares after a campaign."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.activity.service import record_activity
from app.activity.tables import ActivityKind
from app.content import editing
from app.notifications import campaigns, nudges
from app.notifications.campaigns import Audience, CampaignDraft
from app.notifications.jobs import announce_new_content, weekly_share_figures
from app.notifications.preferences import Preferences, save_preferences
from app.notifications.tables import Nudge
from app.sharing import service as sharing
from app.sharing.tables import Share
from tests.factories import make_item, make_member, make_site, make_team, subscribe
from tests.push_sink import fcm_browser


async def test_a_story_for_one_team_is_announced_to_that_team_once(database: str) -> None:
    sales, tech = await make_team("Sales"), await make_team("Tech")
    ana, ben = await make_member(team=sales), await make_member(team=sales)
    cleo = await make_member(team=tech)
    for member in (ana, ben, cleo):
        await subscribe(member.id, fcm_browser())
    now = editing.now()
    item = await make_item(
        title="Our new Lyon office", teams=[sales], published=now - timedelta(minutes=1)
    )
    await make_item(title="Next month", published=now + timedelta(days=30))

    assert await announce_new_content(now) == 2
    assert await announce_new_content(now + timedelta(minutes=1)) == 0
    nudged = await Nudge.select(Nudge.member, Nudge.url, Nudge.body).order_by(Nudge.member)
    assert [row["member"] for row in nudged] == [ana.id, ben.id]
    assert {row["url"] for row in nudged} == {f"/items/{item}"}
    assert {row["body"] for row in nudged} == {"Our new Lyon office"}


async def test_never_shared_and_the_shares_a_campaign_brought(database: str) -> None:
    sales = await make_team("Sales")
    ana, ben = await make_member(team=sales), await make_member(team=sales)
    for member in (ana, ben):
        await subscribe(member.id, fcm_browser())
    item = await make_item(title="We are hiring in Lyon")
    now = editing.now()

    assert await sharing.record_share(ana.id, item, "linkedin")
    await Share.update({Share.at: now - timedelta(hours=1)}).where(Share.member == ana.id)
    never_shared = Audience(team_ids=[sales], never_shared=True)
    assert await campaigns.audience_member_ids(never_shared, now) == [ben.id]

    campaign = await campaigns.create_campaign(
        CampaignDraft(
            title="Share our Lyon offer",
            body="It takes one tap",
            url=f"/items/{item}",
            image="",
            audience=Audience(team_ids=[sales]),
            scheduled_at=None,
        ),
        author_id=ana.id,
        now=now,
    )
    await sharing.record_share(ben.id, item, "whatsapp")
    await Share.update({Share.at: now + timedelta(hours=1)}).where(Share.member == ben.id)
    assert await campaigns.shares_after_campaign(campaign, now) == 1
    assert await campaigns.shares_after_campaign(campaign, now - timedelta(days=3)) == 0

    figures = await weekly_share_figures(now - timedelta(days=2))
    assert figures[ana.id].shares == 1 and figures[ben.id].shares == 1

    # Clicks on Ben's links and an application through them count in his week too.
    for n, kind in enumerate(["click", "click", "application"]):
        await record_activity(
            ActivityKind(kind), f"week-{n}", member=ben.id, item=item, at=now + timedelta(hours=2)
        )
    figures = await weekly_share_figures(now - timedelta(days=2))
    assert (figures[ben.id].shares, figures[ben.id].visits, figures[ben.id].applications) == (
        1,
        2,
        1,
    )
    assert (figures[ana.id].visits, figures[ana.id].applications) == (0, 0)


async def test_a_rounds_publications_reach_each_active_member_once_in_their_language(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Announced by statements over the audience (a few members per statement here): the
    round's two stories for everyone make one nudge per member that stands for both, the
    story for Lyon another; each title in its member's language; none for who turned
    content off or left."""
    lyon = await make_site("Lyon")
    monkeypatch.setattr(nudges, "AUDIENCE_BATCH", 2)
    ana, ben = await make_member(language="fr"), await make_member(site=lyon)
    quiet, gone = await make_member(), await make_member(active=False)
    cleo = await make_member()
    now = editing.now()
    await save_preferences(quiet.id, Preferences(content=False), now)
    await make_item(title="Our results", published=now - timedelta(minutes=3))
    await make_item(title="Our plans", published=now - timedelta(minutes=2))
    for_lyon = await make_item(
        title="Lyon news", sites=[lyon], published=now - timedelta(minutes=1)
    )

    assert await announce_new_content(now) == 4
    assert await announce_new_content(now + timedelta(minutes=1)) == 0
    nudged = await Nudge.select(
        Nudge.member, Nudge.title, Nudge.body, Nudge.url, Nudge.items, Nudge.due_at
    )
    assert sorted((r["member"], r["url"], r["title"], r["body"], r["items"]) for r in nudged) == [
        (ana.id, "/", "2 nouvelles publications à partager", "Our results · Our plans", 2),
        (ben.id, "/", "2 new posts to share", "Our results · Our plans", 2),
        (ben.id, f"/items/{for_lyon}", "New to share", "Lyon news", 1),
        (cleo.id, "/", "2 new posts to share", "Our results · Our plans", 2),
    ]
    assert {row["due_at"] for row in nudged} == {now + nudges.CONTENT_BATCH_WINDOW}
    assert quiet.id not in {r["member"] for r in nudged} and gone.id not in {
        r["member"] for r in nudged
    }
