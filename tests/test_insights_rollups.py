"""Insights' daily rollups: which network a click came from, and rollups kept up to date
round after round that equal a rebuild from scratch."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from app.accounts.tables import Member
from app.activity.service import record_activity
from app.activity.tables import Activity, ActivityKind
from app.candidates.visits import network_of_referer
from app.insights import rollups
from app.insights.tables import InsightDay, InsightHeadcount, InsightState, InsightTotal
from app.sharing import service as sharing
from tests.factories import make_item, make_member, make_site, make_team, shared_offer
from tests.helpers import HTML, PHONE, all_recorded
from tests.reverse_proxy import client_behind_proxy

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def test_the_network_is_told_by_the_referer_host_and_is_unknown_otherwise() -> None:
    assert network_of_referer("https://lnkd.in/eXaMple") == "linkedin"
    assert network_of_referer("https://www.linkedin.com/feed/") == "linkedin"
    assert network_of_referer("https://t.co/abc") == "x"
    assert network_of_referer("https://l.instagram.com/?u=x") == "instagram"
    assert network_of_referer("https://m.facebook.com/") == "facebook"
    assert network_of_referer("https://www.tiktok.com/@someone") == "tiktok"
    assert network_of_referer("https://web.whatsapp.com/") == "whatsapp"
    assert network_of_referer("") == "unknown"
    assert network_of_referer("https://notlinkedin.com/") == "unknown"
    assert network_of_referer("https://linkedin.com.evil.example/") == "unknown"
    assert network_of_referer("garbage\x00") == "unknown"


async def test_a_click_records_the_network_its_landing_page_was_reached_from(
    env: dict[str, str],
) -> None:
    _, _, code = await shared_offer()

    async def visit(client: Any, address: str, referer: str | None, forge: bool = False) -> int:
        forwarded = {"x-forwarded-for": address, "user-agent": PHONE}
        headers = {**HTML, **forwarded, **({"referer": referer} if referer else {})}
        page = await client.get(f"/r/{code}", headers=headers)
        token = re.search(r'data-beacon-token="([^"]+)"', page.text)
        assert token is not None
        value = token.group(1)
        if forge:  # a beacon claiming another network than its page was given
            value = value.rsplit(".", 1)[0] + ".linkedin"
        seen = await client.post(
            f"/r/{code}/seen",
            data={"token": value},
            headers={**forwarded, "sec-fetch-site": "same-origin"},
        )
        return int(seen.status_code)

    async with client_behind_proxy(env) as client:
        assert await visit(client, "203.0.113.7", "https://lnkd.in/abc") == 204
        assert await visit(client, "198.51.100.4", None) == 204
        assert await visit(client, "192.0.2.9", None, forge=True) == 400
        await all_recorded(client)
    clicks = await Activity.select(Activity.detail).where(Activity.kind == "click")
    assert sorted(json.loads(c["detail"])["network"] for c in clicks) == ["linkedin", "unknown"]


async def rows_of_rollups() -> dict[str, list[tuple[Any, ...]]]:
    tables: list[Any] = [InsightDay, InsightTotal, InsightHeadcount]
    result = {}
    for table in tables:
        columns = [c for c in table._meta.columns if c._meta.name != "id"]
        rows = await table.select(*columns)
        result[table._meta.tablename] = sorted(tuple(r.values()) for r in rows)
    return result


async def indexes_of_rollups() -> list[str]:
    """The rollup tables' indexes as the database describes them."""
    from app.core import db

    if db.is_postgres():
        sql = (
            "SELECT indexdef AS sql FROM pg_indexes WHERE tablename IN "
            "('insight_day', 'insight_total', 'insight_headcount')"
        )
    else:
        sql = (
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND "
            "tbl_name IN ('insight_day', 'insight_total', 'insight_headcount')"
        )
    return sorted(row["sql"] for row in await InsightDay.raw(sql))


async def random_activity(
    rng: random.Random, members: list[Member], items: list[int], days: int
) -> None:
    for n in range(60):
        member = rng.choice([*members, None])
        kind = rng.choice(list(ActivityKind))
        at = NOW - timedelta(days=rng.randrange(days), minutes=rng.randrange(1440))
        detail: dict[str, Any] = {}
        if kind in (ActivityKind.share, ActivityKind.click):
            detail["network"] = rng.choice(["linkedin", "x", "unknown", "native"])
        if kind == ActivityKind.stage:
            detail["stage"] = rng.choice(["contacted", "interview", "offer", "hired"])
        await record_activity(
            kind,
            f"random:{rng.random()}:{n}",
            member=member.id if member else None,
            item=rng.choice(items),
            at=at,
            **detail,
        )


async def test_rollups_kept_up_round_after_round_equal_a_rebuild_from_scratch(
    database: str,
) -> None:
    rng = random.Random(11)
    teams = [await make_team(), await make_team()]
    sites = [await make_site()]
    members = [
        await make_member(team=rng.choice([*teams, None]), site=rng.choice([*sites, None]))
        for _ in range(6)
    ]
    await Member.update({Member.created_at: NOW - timedelta(days=20)}, force=True)
    items = [await make_item(title=f"Item {n}") for n in range(3)]
    await rollups.refresh(NOW - timedelta(days=3))
    for round_ in range(3):
        await random_activity(rng, members, items, days=10)
        await rollups.refresh(NOW + timedelta(minutes=round_))
    # Rows of today taken away again (a member's deletion takes their activity with it):
    # the week's, month's and year's figures go down, and a row left at zero goes.
    today = datetime.combine(NOW.date(), datetime.min.time(), UTC)
    await random_activity(rng, members, items, days=1)
    await rollups.refresh(NOW + timedelta(minutes=3))
    await Activity.delete().where(Activity.at >= today, Activity.kind.is_in(["share", "stage"]))
    await rollups.refresh(NOW + timedelta(minutes=4))
    kept = await rows_of_rollups()
    assert kept["insight_day"] and kept["insight_total"] and kept["insight_headcount"]
    # Every span's rows are there: days, weeks, months and years, of every dimension.
    assert {row[0][0] for row in kept["insight_total"]} == {"d", "w", "m", "y"}
    assert {row[1] for row in kept["insight_total"]} == set(rollups.DIMENSIONS)
    indexes = await indexes_of_rollups()
    await rollups.rebuild(NOW + timedelta(minutes=4))
    assert await rows_of_rollups() == kept
    # The indexes a rebuild drops while it writes are there again, as the migration made them.
    assert await indexes_of_rollups() == indexes

    # The rollups add up to the ledger.
    shares = await Activity.count().where(Activity.kind == "share")
    total = sum(r["shares"] for r in await InsightDay.select(InsightDay.shares))
    assert total == shares


async def test_the_headcount_counts_the_members_active_at_the_end_of_each_day(
    database: str,
) -> None:
    team = await make_team()
    stayed = await make_member(team=team)
    left = await make_member(team=team)
    await Member.update({Member.created_at: NOW - timedelta(days=5)}).where(
        Member.id.is_in([stayed.id, left.id])
    )
    await Member.update(
        {Member.active: False, Member.deactivated_at: NOW - timedelta(days=2)}
    ).where(Member.id == left.id)
    item = await make_item()
    await sharing.record_share(stayed.id, item, "linkedin")
    await rollups.refresh(NOW)
    counts = {
        r["day"]: r["members"]
        for r in await InsightHeadcount.select().where(
            InsightHeadcount.team == team, InsightHeadcount.site == -1
        )
    }
    assert counts[(NOW - timedelta(days=4)).date().isoformat()] == 2
    assert counts[(NOW - timedelta(days=1)).date().isoformat()] == 1


async def test_a_rebuild_commits_a_month_at_a_time_and_resumes_where_it_stopped(
    database: str, monkeypatch: Any
) -> None:
    rng = random.Random(12)
    team = await make_team()
    members = [await make_member(team=rng.choice([team, None])) for _ in range(5)]
    await Member.update({Member.created_at: NOW - timedelta(days=100)}, force=True)
    items = [await make_item(title=f"Item {n}") for n in range(2)]
    for _ in range(3):  # over three months and more: weeks across a month's end
        await random_activity(rng, members, items, days=95)
    await rollups.refresh(NOW - timedelta(days=1))  # the first round rebuilds
    await random_activity(rng, members, items, days=2)
    await rollups.refresh(NOW)
    kept = await rows_of_rollups()
    indexes = await indexes_of_rollups()

    # A rebuild that stops on its third month (a crash): two months are written and kept,
    # and the state says where to go on.
    months = []
    real = rollups.rebuild_month

    async def crashing(first: Any, last: Any, today: Any) -> int:
        months.append(first)
        if len(months) == 3:
            raise RuntimeError("the process died")
        return await real(first, last, today)

    monkeypatch.setattr(rollups, "rebuild_month", crashing)
    try:
        await rollups.rebuild(NOW)
    except RuntimeError:
        pass
    else:  # pragma: no cover
        raise AssertionError("the rebuild did not stop")
    state = await InsightState.select().first()
    assert state is not None and state["rebuild_next"] == months[2].isoformat()
    partial = await rows_of_rollups()
    assert partial["insight_day"] and partial != kept
    assert max(row[0] for row in partial["insight_day"]) < months[2].isoformat()

    # The next round of the periodic job goes on from there, a month per transaction, and
    # the rows equal those kept round after round (and so a rebuild from scratch).
    monkeypatch.setattr(rollups, "rebuild_month", real)
    await rollups.refresh(NOW)
    state = await InsightState.select().first()
    assert state is not None and state["rebuild_next"] == ""
    assert await rows_of_rollups() == kept
    assert await indexes_of_rollups() == indexes
    # It had begun on the first member's day, then went a calendar month at a time.
    assert months[0] == (NOW - timedelta(days=100)).date()
    assert [m.day for m in months[1:]] == [1, 1]


async def test_figures_kept_in_memory_change_with_the_rollups_and_names_show_at_once(
    database: str,
) -> None:
    from app.insights import service

    member = await make_member(name="Ada Example")
    item = await make_item(title="Kept item")
    await sharing.record_share(member.id, item, "linkedin")
    now = datetime.now(UTC)  # shares are recorded now
    await rollups.refresh(now)
    period = service.Period("custom", now.date() - timedelta(days=3), now.date())
    first = await service.breakdown_page("member", period, service.Filters())
    assert first is not None and [(r["name"], r["shares"]) for r in first[0]] == [
        ("Ada Example", 1)
    ]
    # A member who chooses not to be named is anonymous on the next read, kept figures or not.
    await Member.update({Member.leaderboard_anonymous: True}).where(Member.id == member.id)
    hidden = await service.breakdown_page("member", period, service.Filters())
    assert hidden is not None and hidden[0][0]["name"] == "Anonymous ambassador"
    # A round of the periodic job that changes the rollups drops what was kept.
    await sharing.record_share(member.id, item, "x")
    before = await service.figures(period, service.Filters())
    await rollups.refresh(now + timedelta(seconds=1))
    after = await service.figures(period, service.Filters())
    assert (before.figures["shares"], after.figures["shares"]) == (1, 2)
    again = await service.breakdown_page("member", period, service.Filters())
    assert again is not None and again[0][0]["shares"] == 2


async def test_a_round_reads_again_the_figures_pages_showed_before_anyone_asks(
    database: str,
) -> None:
    from app.insights import service

    member = await make_member(name="Warm Example")
    item = await make_item(title="Warm item")
    await sharing.record_share(member.id, item, "linkedin")
    now = datetime.now(UTC)
    await rollups.refresh(now)
    period = service.Period("custom", now.date() - timedelta(days=3), now.date())
    assert (await service.figures(period, service.Filters())).figures["shares"] == 1
    await sharing.record_share(member.id, item, "x")
    # The periodic job's round: the rollups, then what this process's pages showed, read
    # again under the new generation: the next page is served without reading the rollups.
    await service.roll_up(now + timedelta(seconds=1))

    async def not_read_again() -> Any:
        raise AssertionError("read on a page, not by the round")

    key = ("overview", (period,), service.Filters())
    warmed = await service.kept(key, not_read_again)
    assert warmed[0].figures["shares"] == 2


async def test_days_are_utc_days_for_the_rollups_and_the_live_tables_alike(
    database: str,
) -> None:
    """An event at 23:30 UTC on 29 November (00:30 on the 30th in Paris) is on the 29th for
    every viewer: the viewer's zone only says which dates "this week" or "today" are."""
    from zoneinfo import ZoneInfo

    from app.accounts.tables import Invitation
    from app.insights import service

    member = await make_member()
    await Member.update({Member.created_at: NOW - timedelta(days=5)}, force=True)
    item = await make_item()
    late = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
    paris = late.astimezone(ZoneInfo("Europe/Paris"))  # 00:30 on the 30th
    await record_activity(ActivityKind.share, "late", member=member.id, item=item, at=paris)
    await Invitation.insert(
        Invitation(
            member=member.id,
            token_hash="utc-days",
            purpose="invite",
            created_at=paris,
            expires_at=paris + timedelta(days=7),
        )
    )
    await rollups.refresh(NOW)
    day = {
        d: (await service.figures(service.Period("custom", d, d), service.Filters())).figures
        for d in (late.date(), late.date() + timedelta(days=1))
    }
    assert [day[d]["shares"] for d in sorted(day)] == [1, 0]
    assert [day[d]["invited"] for d in sorted(day)] == [1, 0]
    trend = await service.trends(
        service.Period("custom", late.date(), late.date() + timedelta(days=1)),
        service.Filters(),
    )
    assert [p["shares"] for p in trend["points"]] == [1, 0]


async def test_a_rebuild_counts_rows_at_a_month_s_end_on_their_utc_day_as_rounds_do(
    database: str,
) -> None:
    """A share a microsecond before 1 November (UTC), a click at midnight exactly (written
    with a Paris offset), and a day with only an application nobody referred: a rebuild, a
    month per transaction, gives the rows the rounds kept."""
    from zoneinfo import ZoneInfo

    member = await make_member(team=await make_team(), site=await make_site())
    await Member.update({Member.created_at: NOW - timedelta(days=40)}, force=True)
    item = await make_item()
    early = NOW - timedelta(days=39)  # 22 October
    await record_activity(ActivityKind.share, "a", member=member.id, item=item, at=early)
    await rollups.refresh(NOW)  # the first round on this database rebuilds
    boundary = datetime(2026, 11, 1, tzinfo=UTC)
    before = boundary - timedelta(microseconds=1)
    await record_activity(ActivityKind.share, "b", member=member.id, item=item, at=before)
    paris = boundary.astimezone(ZoneInfo("Europe/Paris"))
    await record_activity(ActivityKind.click, "c", member=member.id, item=item, at=paris)
    alone = NOW - timedelta(days=33)  # 28 October: nobody referred this candidate
    await record_activity(ActivityKind.application, "d", item=item, at=alone)
    await rollups.refresh(NOW + timedelta(minutes=1))
    kept = await rows_of_rollups()
    figures = {
        r["span"]: (r["shares"], r["clicks"], r["applications"], r["all_applications"])
        for r in await InsightTotal.select().where(InsightTotal.dim == "all")
    }
    assert figures["d2026-10-31"] == (1, 0, 0, 0)
    assert figures["d2026-11-01"] == (0, 1, 0, 0)
    assert figures["d2026-10-28"] == (0, 0, 0, 1)
    assert figures["w2026-10-26"] == (1, 1, 0, 1)  # Monday 26 October to Sunday 1 November
    assert figures["m2026-10"] == (2, 0, 0, 1)
    assert figures["m2026-11"] == (0, 1, 0, 0)
    assert figures["y2026"] == (2, 1, 0, 1)

    await rollups.rebuild(NOW + timedelta(minutes=1))
    assert await rows_of_rollups() == kept
