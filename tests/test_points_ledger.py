"""The points ledger: every event credits once, caps stop at the cap, stages reverse."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from app.activity.service import record_activity
from app.activity.tables import Activity, ActivityKind
from app.points import ledger
from app.points.awards import award
from app.points.tables import MemberBadge, PointsLine, PointsRule, PointsTotal
from app.sharing import service as sharing
from tests.factories import make_item, make_member

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


async def lines_of(member_id: int) -> list[tuple[str, int]]:
    rows = (
        await PointsLine.select(PointsLine.reason, PointsLine.points)
        .where(PointsLine.member == member_id)
        .order_by(PointsLine.id)
    )
    return [(r["reason"], r["points"]) for r in rows]


async def test_a_share_earns_its_points_and_the_weeks_first_share_a_bonus(database: str) -> None:
    member = await make_member()
    story = await make_item("story", "Our new office")
    other = await make_item("story", "Meet the team")
    assert await sharing.record_share(member.id, story, "linkedin")
    assert await sharing.record_share(member.id, other, "whatsapp")
    assert not await sharing.record_share(member.id, other, "whatsapp")  # already shared
    assert await lines_of(member.id) == [("share", 2), ("weekly_bonus", 5), ("share", 2)]
    assert await ledger.balance(member.id) == 9
    assert await ledger.earned(member.id) == 9
    badges = await MemberBadge.select(MemberBadge.badge).where(MemberBadge.member == member.id)
    assert [b["badge"] for b in badges] == ["first_share"]


async def test_the_same_event_processed_twice_or_concurrently_credits_once(database: str) -> None:
    member = await make_member()
    item = await make_item("offer", "Data engineer")
    assert await record_activity(
        ActivityKind.click, "link:visitor:day", member=member.id, item=item
    )
    row = await Activity.select().where(Activity.kind == "click").first()
    assert row is not None
    # Processed again, ten times at once: the line exists, nothing more is credited.
    results = await asyncio.gather(*(award(row) for _ in range(10)))
    assert all(r == [] for r in results)
    assert await lines_of(member.id) == [("click", 10)]
    # A fresh event processed concurrently by several "processes": one line.
    fresh = {**row, "id": 0, "key": "click:another:visitor:day"}
    results = await asyncio.gather(*(award(fresh) for _ in range(10)))
    assert sum(len(r) for r in results) == 1
    assert await ledger.balance(member.id) == 20
    assert await ledger.earned(member.id) == 20


async def test_caps_stop_at_the_cap_per_day_and_per_week(database: str) -> None:
    member = await make_member()
    item = await make_item("story", "A story")
    from app.points.rules import rules

    await rules()  # creates the defaults
    await PointsRule.update({PointsRule.daily_cap: 3, PointsRule.weekly_cap: 5}).where(
        PointsRule.action == "click"
    )

    async def click(n: int, at: datetime) -> None:
        await record_activity(ActivityKind.click, f"c{n}", member=member.id, item=item, at=at)

    await asyncio.gather(*(click(n, MONDAY) for n in range(6)))
    assert await ledger.balance(member.id) == 30  # three on Monday, concurrently or not
    await asyncio.gather(*(click(n, MONDAY + timedelta(days=1)) for n in range(10, 16)))
    assert await ledger.balance(member.id) == 50  # two more reach the weekly cap of five
    await click(20, MONDAY + timedelta(days=7))  # a new week
    assert await ledger.balance(member.id) == 60
    # Events over the cap are still recorded as activity: only their points are capped.
    assert await Activity.count().where(Activity.kind == "click") == 13


async def test_a_rule_switched_off_credits_nothing(database: str) -> None:
    member = await make_member()
    item = await make_item("story", "A story")
    from app.points.rules import rules

    await rules()
    await PointsRule.update({PointsRule.enabled: False}).where(PointsRule.action == "share")
    await sharing.record_share(member.id, item, "linkedin")
    assert await lines_of(member.id) == [("weekly_bonus", 5)]


async def stage(member_id: int, item: int, candidate: int, name: str, n: int) -> None:
    await record_activity(
        ActivityKind.stage,
        f"{candidate}:{name}:{n}",
        member=member_id,
        item=item,
        candidate=candidate,
        stage=name,
    )


async def test_a_stage_moved_back_reverses_its_points(database: str) -> None:
    member = await make_member()
    item = await make_item("offer", "Data engineer")
    await stage(member.id, item, 7, "interview", 1)  # contacted is passed on the way
    assert await lines_of(member.id) == [("contacted", 20), ("interview", 100)]
    await stage(member.id, item, 7, "contacted", 2)  # moved back: the interview is taken back
    assert await lines_of(member.id) == [("contacted", 20), ("interview", 100), ("reversal", -100)]
    assert await ledger.balance(member.id) == 20
    await stage(member.id, item, 7, "interview", 3)  # and forward again: credited once more
    await stage(member.id, item, 7, "not_selected", 4)  # keeps what was earned
    assert await ledger.balance(member.id) == 120
    await stage(member.id, item, 7, "hired", 5)
    assert await ledger.balance(member.id) == 120 + 150 + 500
    badges = await MemberBadge.select(MemberBadge.badge).where(MemberBadge.member == member.id)
    assert [b["badge"] for b in badges] == ["first_hire"]
    # Totals for leaderboards follow the ledger line by line, reversals included.
    total = await PointsTotal.select().where(PointsTotal.key == f"{member.id}:all").first()
    assert total is not None and total["points"] == 770


async def test_a_challenge_multiplies_the_points_of_its_items(database: str) -> None:
    from app.points.tables import Challenge, ChallengeItem

    member = await make_member()
    item = await make_item("offer", "Data engineer")
    other = await make_item("offer", "Designer")
    rows = await Challenge.insert(
        Challenge(
            name="Hiring sprint",
            multiplier=300,
            starts_at=MONDAY - timedelta(days=1),
            ends_at=MONDAY + timedelta(days=1),
        )
    ).returning(Challenge.id)
    await ChallengeItem.insert(ChallengeItem(challenge=rows[0]["id"], item=item))
    await record_activity(ActivityKind.application, "1", member=member.id, item=item, at=MONDAY)
    await record_activity(ActivityKind.application, "2", member=member.id, item=other, at=MONDAY)
    later = MONDAY + timedelta(days=2)
    await record_activity(ActivityKind.application, "3", member=member.id, item=item, at=later)
    assert await lines_of(member.id) == [
        ("application", 150),
        ("application", 50),
        ("application", 50),
    ]
