"""Every figure of the insights pages equals a recount from the ledger's raw rows, over
random activity, random periods and random filters (the rollups are read, never the ledger)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.accounts.tables import Member
from app.activity.tables import Activity
from app.insights import rollups, service
from app.insights.service import Filters, Period
from app.insights.tables import InsightDay, InsightHeadcount, InsightState, InsightTotal
from app.org.tables import Site, Team
from tests.factories import make_item, make_member, make_site, make_team

TODAY = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
KINDS = ["share", "click", "application", "recommendation", "stage", "apply_click"]
NETWORKS = ["linkedin", "x", "unknown", "native"]
STAGES = ["contacted", "interview", "offer", "hired"]

event = st.tuples(
    st.sampled_from(KINDS),
    st.one_of(st.none(), st.integers(0, 5)),  # the member (None: no referrer)
    st.integers(0, 2),  # the item
    st.integers(0, 40 * 24 - 1),  # hours before TODAY
    st.sampled_from(NETWORKS),
    st.sampled_from(STAGES),
)
member_spec = st.tuples(
    st.one_of(st.none(), st.integers(0, 1)), st.one_of(st.none(), st.integers(0, 1))
)


def recount(
    rows: list[dict[str, Any]], people: dict[int, tuple[int, int]], period: Period, filters: Filters
) -> dict[str, Any]:
    """The figures, counted in Python from the ledger's rows."""
    counts: Counter[str] = Counter()
    networks: dict[str, Counter[str]] = defaultdict(Counter)
    by: dict[str, dict[Any, Counter[str]]] = {b: defaultdict(Counter) for b in service.BREAKDOWNS}
    sharers = set()
    for row in rows:
        day = row["at"].astimezone(UTC).date()
        if not period.start <= day <= period.end:
            continue
        team, site = people.get(row["member"], (0, 0)) if row["member"] else (0, 0)
        if (filters.team and team != filters.team) or (filters.site and site != filters.site):
            continue
        if filters.item and row["item"] != filters.item:
            continue
        detail = json.loads(row["detail"])
        figure = {
            "share": "shares",
            "click": "clicks",
            "application": "applications",
            "recommendation": "recommendations",
            "apply_click": "apply_clicks",
        }.get(row["kind"])
        if row["kind"] == "stage":
            figure = {"interview": "interviews", "hired": "hires"}.get(detail["stage"])
        if figure is None:
            continue
        counts["all_" + figure] += 1
        if row["member"] is None:
            continue
        counts[figure] += 1
        if figure in ("shares", "clicks"):
            networks[detail["network"]][figure] += 1
            by["network"][detail["network"]][figure] += 1
        if figure == "shares":
            sharers.add(row["member"])
        if figure != "apply_clicks":
            by["team"][team][figure] += 1
            by["site"][site][figure] += 1
            by["item"][row["item"]][figure] += 1
            by["member"][row["member"]][figure] += 1
    return {"counts": counts, "networks": networks, "by": by, "active": len(sharers)}


async def _clear() -> None:
    for table in (InsightDay, InsightTotal, InsightHeadcount, InsightState, Activity, Member):
        await table.delete(force=True)
    for table in (Team, Site):
        await table.delete(force=True)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    specs=st.lists(member_spec, min_size=6, max_size=6),
    events=st.lists(event, max_size=40),
    split=st.integers(0, 40),
    span=st.tuples(st.integers(0, 45), st.integers(0, 45)),
    chosen=st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 3)),
)
async def test_every_figure_equals_a_recount_from_the_ledger(
    database: str,
    specs: list[tuple[int | None, int | None]],
    events: list[tuple[str, int | None, int, int, str, str]],
    split: int,
    span: tuple[int, int],
    chosen: tuple[int, int, int],
) -> None:
    await _clear()
    teams = [await make_team() for _ in range(2)]
    sites = [await make_site() for _ in range(2)]
    items = [await make_item(title=f"Item {n}") for n in range(3)]
    members = []
    for team, site in specs:
        member = await make_member(
            team=teams[team] if team is not None else None,
            site=sites[site] if site is not None else None,
        )
        members.append(member)
    people = {m.id: (m.team or 0, m.site or 0) for m in members}

    def row(n: int, spec: tuple[str, int | None, int, int, str, str]) -> Activity:
        kind, who, item, hours, network, stage = spec
        detail: dict[str, str] = {}
        if kind in ("share", "click"):
            detail["network"] = network
        if kind == "stage":
            detail["stage"] = stage
        return Activity(
            kind=kind,
            key=f"{kind}:{n}",
            member=members[who].id if who is not None else None,
            item=items[item],
            at=TODAY - timedelta(hours=hours),
            detail=json.dumps(detail),
        )

    # Two rounds of the periodic job, the ledger growing between them.
    if events[:split]:
        await Activity.insert(*(row(n, e) for n, e in enumerate(events[:split])))
    await rollups.refresh(TODAY)
    if events[split:]:
        await Activity.insert(*(row(n + split, e) for n, e in enumerate(events[split:])))
    await rollups.refresh(TODAY + timedelta(minutes=1))

    first, last = sorted(TODAY.date() - timedelta(days=d) for d in span)
    period = Period("custom", first, last)
    filters = Filters(
        team=[None, *teams][chosen[0]],
        site=[None, *sites][chosen[1]],
        item=[None, *items][chosen[2]],
    )
    ledger = await Activity.select()
    want = recount(ledger, people, period, filters)
    got = await service.figures(period, filters)
    for figure in ("shares", "clicks", "applications", "recommendations", "interviews", "hires"):
        assert got.figures[figure] == want["counts"][figure], figure
    assert got.figures["all_applications"] == want["counts"]["all_applications"]
    assert got.figures["all_hires"] == want["counts"]["all_hires"]
    assert got.figures["apply_clicks"] == want["counts"]["apply_clicks"]
    shares, clicks = want["counts"]["shares"], want["counts"]["clicks"]
    assert got.figures["clicks_per_share"] == (clicks / shares if shares else None)
    assert got.figures["active"] == (None if filters.item else want["active"])
    assert {k: v for k, v in got.networks.items()} == {
        k: {"shares": v["shares"], "clicks": v["clicks"]} for k, v in want["networks"].items()
    }
    for by in service.BREAKDOWNS:
        rows = await service.breakdown(by, period, filters, viewer_is_admin=True)
        if rows is None:
            assert by == "member" and filters.item
            continue
        expected = {
            key: {f: c[f] for f in ("shares", "clicks", "applications", "interviews", "hires")}
            for key, c in want["by"][by].items()
            if any(
                c[f]
                for f in (
                    "shares",
                    "clicks",
                    "applications",
                    "interviews",
                    "hires",
                    "recommendations",
                )
            )
        }
        assert {
            r["key"]: {f: r[f] for f in ("shares", "clicks", "applications", "interviews", "hires")}
            for r in rows
        } == expected, by
        # The page the browser gets (figures kept in memory, names looked up at once): the
        # same rows, read twice (the second time from memory).
        for _twice in range(2):
            page = await service.breakdown_page(by, period, filters, viewer_is_admin=True)
            assert page is not None and page[1] == len(rows)
            assert sorted(tuple(r.values()) for r in page[0]) == sorted(
                tuple(r.values()) for r in rows
            ), by
    trends = await service.trends(period, filters)
    for figure in service.TRENDS:
        assert sum(p[figure] for p in trends["points"]) == want["counts"][figure]
    # Each member's own impact, in the period (no filter) and all time.
    if not filters.query():
        for member in members:
            mine = await service.member_totals(member.id, period)
            assert mine == {
                f: want["by"]["member"].get(member.id, Counter())[f] for f in service.IMPACT
            }
    all_time = await service.member_totals(members[0].id, None)
    assert all_time["shares"] == sum(
        1 for r in ledger if r["member"] == members[0].id and r["kind"] == "share"
    )
