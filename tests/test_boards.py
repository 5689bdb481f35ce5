"""Leaderboards, levels and badges on the profile, the opt-out, the wall of fame."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient

from app.accounts.sessions import sessions_changed
from app.accounts.tables import AuditEvent, Member
from app.boards import service
from app.boards.service import Scope
from app.candidates.tables import Candidate
from app.core.clock import now
from app.org.tables import Site, Team
from app.points import ledger
from app.points.awards import grant_badge
from app.points.rules import rules_changed
from app.points.tables import (
    NOT_EARNED,
    Action,
    Badge,
    Level,
    MemberBadge,
    PointsLine,
    PointsTotal,
    Reason,
)
from app.sharing.tables import Share
from tests.factories import make_item, make_member, make_site, make_team
from tests.helpers import HTML, HTMX, as_member, form_token, sign_in

START = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)  # lines over 45 days: Oct, Nov, Dec 2026
REASONS = [a.value for a in Action] + [r.value for r in Reason]


# ---------------------------------------------------------------- the straightforward version


def expected_totals(lines: list[dict[str, Any]]) -> dict[str, dict[int, int]]:
    """Earned points per period and member, summed in Python from the ledger's lines."""
    totals: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for line in lines:
        if line["reason"] in NOT_EARNED:
            continue
        for period in ledger.periods(line["at"]):
            totals[period][line["member"]] += line["points"]
    return totals


def expected_board(
    totals: dict[int, int], members: dict[int, dict[str, Any]], scope: Scope
) -> dict[int, tuple[int, int]]:
    """member -> (rank, points) for the active members of the scope with points > 0."""
    ranked = {
        m: p
        for m, p in totals.items()
        if p > 0
        and members[m]["active"]
        and (scope.kind == "everyone" or members[m][scope.kind] == scope.id)
    }
    return {m: (1 + sum(1 for q in ranked.values() if q > p), p) for m, p in ranked.items()}


def expected_teams(
    totals: dict[int, int], members: dict[int, dict[str, Any]], by: str
) -> dict[int, tuple[int, int, int]]:
    """team -> (rank, active members, points) with competition ranking."""
    teams: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for m, row in members.items():
        if row["active"] and row["team"] is not None:
            teams[row["team"]][0] += 1
            teams[row["team"]][1] += totals.get(m, 0)

    def score(team: int) -> Fraction:
        count, points = teams[team]
        return Fraction(points, count) if by == "average" else Fraction(points)

    return {
        t: (1 + sum(1 for u in teams if score(u) > score(t)), count, points)
        for t, (count, points) in teams.items()
    }


member_spec = st.fixed_dictionaries(
    {
        "team": st.one_of(st.none(), st.integers(0, 2)),
        "site": st.one_of(st.none(), st.integers(0, 1)),
        "active": st.booleans(),
        "anonymous": st.booleans(),
    }
)
line_spec = st.tuples(
    st.integers(0, 9),  # which member (modulo how many there are)
    st.sampled_from(REASONS),
    st.integers(-200, 300),
    st.integers(0, 45 * 24),  # hours after START
)


async def _clear() -> None:
    for table in (PointsLine, PointsTotal, MemberBadge, Member, Team, Site):
        await table.delete(force=True)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    specs=st.lists(member_spec, min_size=1, max_size=10),
    lines=st.lists(line_spec, max_size=30),
    limit=st.integers(1, 6),
)
async def test_leaderboards_equal_a_recomputation_from_the_ledger_lines(
    database: str, specs: list[dict[str, Any]], lines: list[tuple[int, str, int, int]], limit: int
) -> None:
    await _clear()
    teams = [await make_team() for _ in range(3)]
    sites = [await make_site() for _ in range(2)]
    members: dict[int, dict[str, Any]] = {}
    for spec in specs:
        team = teams[spec["team"]] if spec["team"] is not None else None
        site = sites[spec["site"]] if spec["site"] is not None else None
        member = await make_member(team=team, site=site, active=spec["active"])
        await service.set_anonymous(member.id, spec["anonymous"])
        members[member.id] = {**spec, "team": team, "site": site}
    ids = list(members)
    for n, (who, reason, points, hours) in enumerate(lines):
        at = START + timedelta(hours=hours)
        await ledger.credit(ids[who % len(ids)], points, reason, f"line:{n}", at=at)

    recorded = await PointsLine.select(
        PointsLine.member, PointsLine.reason, PointsLine.points, PointsLine.at
    )
    expected = expected_totals(recorded)
    periods = [*expected, "2027-01", "2026-W02"]  # and periods nobody earned in
    scopes = [Scope()] + [Scope("team", t) for t in teams] + [Scope("site", s) for s in sites]
    for period in periods:
        totals = expected.get(period, {})
        for scope in scopes:
            want = expected_board(totals, members, scope)
            rows = await service.board(period, scope)
            assert {r["member"]: (r["rank"], r["points"]) for r in rows} == want
            assert [r["rank"] for r in rows] == sorted(r["rank"] for r in rows)
            for row in rows:
                assert row["anonymous"] == members[row["member"]]["anonymous"]
                assert row["lifetime"] == expected["all"].get(row["member"], 0)
            # The top of a longer board: the best ranks, each member at its true rank.
            cut = await service.board(period, scope, limit=limit)
            assert len(cut) == min(limit, len(want))
            assert [r["rank"] for r in cut] == sorted(rank for rank, _p in want.values())[:limit]
            assert all(want[r["member"]] == (r["rank"], r["points"]) for r in cut)
            # Each member's own rank, on the boards they would look at.
            for member in ids:
                row = members[member]
                if scope.kind != "everyone" and row[scope.kind] != scope.id:
                    continue
                mine = await service.rank_of(member, period, scope)
                if member in want:
                    assert mine == {"rank": want[member][0], "points": want[member][1]}
                else:
                    assert mine is None
        for by in ("total", "average"):
            want_teams = expected_teams(totals, members, by)
            got = service.rank_teams(await service.team_totals(period), by)
            assert {t["id"]: (t["rank"], t["members"], t["points"]) for t in got} == want_teams
            assert [t["rank"] for t in got] == sorted(t["rank"] for t in got)


async def test_ties_share_a_rank_and_spending_does_not_count(database: str) -> None:
    at = datetime(2026, 11, 24, 12, tzinfo=UTC)
    ana, ben, cleo, dan = [await make_member(name=n) for n in ("Ana", "Ben", "Cléo", "Dan")]
    for member, points in ((ana, 90), (ben, 50), (cleo, 50), (dan, 40)):
        await ledger.credit(member.id, points, Action.share.value, f"s:{member.id}", at=at)
    # Spending moves balances, not the board: Dan spends, Ana gets a refund.
    await ledger.credit(dan.id, -30, Reason.redemption.value, "r:1", at=at)
    await ledger.credit(ana.id, 500, Reason.refund.value, "r:2", at=at)
    rows = await service.board("2026-W48", Scope())
    assert [(r["name"], r["rank"], r["points"]) for r in rows] == [
        ("Ana", 1, 90),
        ("Ben", 2, 50),
        ("Cléo", 2, 50),
        ("Dan", 4, 40),
    ]


async def test_the_pages_team_ranking_is_at_most_a_minute_old(database: str) -> None:
    sales = await make_team("Sales")
    ana = await make_member(team=sales)
    await ledger.credit(ana.id, 10, Action.share.value, "s1")
    rankings = service.TeamRankings(ttl=60)
    assert [t["points"] for t in await rankings.get("all")] == [10]
    await ledger.credit(ana.id, 5, Action.share.value, "s2")
    assert [t["points"] for t in await rankings.get("all")] == [10]  # within the minute
    rankings.ttl = 0  # the minute has passed: the old ranking shows while a new one is made
    assert [t["points"] for t in await rankings.get("all")] == [10]
    await rankings.settle()
    assert [t["points"] for t in await rankings.get("all")] == [15]


# ---------------------------------------------------------------- the leaderboard page


async def test_the_leaderboard_shows_the_top_50_and_my_own_rank_below_it(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    at = now()
    team = await make_team("Sales")
    others = [await make_member(name=f"Ambassador {n:02d}", team=team) for n in range(55)]
    for n, member in enumerate(others):
        await ledger.credit(member.id, 1000 - n * 10, Action.share.value, f"s:{n}", at=at)
    hidden = others[0]
    await service.set_anonymous(hidden.id, True)
    await grant_badge(others[1].id, Badge.first_share, at)
    await grant_badge(others[1].id, Badge.streak_4, at)
    me = await sign_in(client, "employee", name="Zoé Last", team=team)
    await ledger.credit(me.id, 5, Action.share.value, "mine", at=at)

    page = await client.get("/leaderboard?period=week", headers=HTML)
    assert page.status_code == 200
    rows = re.findall(r'<li class="board__row[^"]*"', page.text)
    assert len(rows) == 51  # the top 50, then me
    assert "Anonymous ambassador" in page.text and "Ambassador 00" not in page.text
    assert "Ambassador 49" in page.text and "Ambassador 50" not in page.text
    mine = page.text[page.text.index('id="my-rank"') :]
    assert ">You<" in mine and "Rank </span>56" in mine and ">5<" in mine
    assert "Zoé Last" not in page.text
    assert 'aria-label="2 badges"' in page.text and "Four-week streak" in page.text
    assert "Influencer" in page.text  # 990 lifetime points: the default level from 500

    team_page = await client.get("/leaderboard?period=all&scope=team", headers=HTMX)
    assert team_page.status_code == 200 and "<html" not in team_page.text
    assert "Sales · All time" in team_page.text
    site_page = await client.get("/leaderboard?scope=site", headers=HTML)
    assert "You have no site yet" in site_page.text

    for n in range(55):  # more teams than are shown: mine still is, below the top 50
        await ledger.credit((await make_member(team=await make_team())).id, 99999, "share", f"t{n}")
    teams = await client.get("/leaderboard?period=month&scope=teams", headers=HTML)
    assert "Sales" in teams.text and "56 members" in teams.text
    assert teams.text.count('<li class="board__row') == 51 and "Rank </span>56" in teams.text
    per_member = await client.get("/leaderboard?scope=teams&by=average", headers=HTML)
    assert 'aria-current="true">Points per member' in per_member.text

    odd = await client.get("/leaderboard?period=year&scope=planet&by=x", headers=HTML)
    assert odd.status_code == 200 and 'aria-current="true">This week' in odd.text


async def test_a_board_row_follows_its_member_and_is_yours_only_on_your_screen(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    """Rows are rendered once and kept (boards.routes.BOARD_ROWS): whatever a row shows
    that changes shows at once, and the same row reads "You" only for its own member."""
    anna = await make_member(name="Anna Rossi")
    await ledger.credit(anna.id, 40, Action.share.value, "a1")
    ben = await sign_in(client, "employee", name="Ben Okafor")
    await ledger.credit(ben.id, 30, Action.share.value, "b1")

    def row_of(page: str, who: str) -> str:
        rows = re.findall(
            r'<li class="board__row.*?</li>(?=\s*(?:<li class="board__|</ol>))', page, re.S
        )
        found = [row for row in rows if who in row]
        assert len(found) == 1, (who, rows)
        return found[0]

    first = (await client.get("/leaderboard?period=all", headers=HTML)).text
    assert "Rank </span>1" in row_of(first, "Anna Rossi") and ">40<" in row_of(first, "Anna")
    assert ">You<" in row_of(first, "Rank </span>2") and "Ben Okafor" not in first

    await ledger.credit(anna.id, 500, Action.share.value, "a2")
    await grant_badge(anna.id, Badge.first_share, now())
    await Member.update({Member.name: "Anna Rossi-Bianchi"}).where(Member.id == anna.id)
    again = (await client.get("/leaderboard?period=all", headers=HTML)).text
    row = row_of(again, "Anna Rossi-Bianchi")
    assert ">540<" in row and "Influencer" in row and 'aria-label="1 badge"' in row
    await Level.update({Level.name: "Star voice"}).where(Level.name == "Influencer")
    rules_changed()  # as an admin's change of levels does
    renamed = (await client.get("/leaderboard?period=all", headers=HTML)).text
    assert "Star voice" in row_of(renamed, "Anna Rossi-Bianchi") and "Influencer" not in renamed

    await as_member(client, anna.id)
    hers = (await client.get("/leaderboard?period=all", headers=HTML)).text
    assert ">You<" in row_of(hers, "Rank </span>1") and 'id="my-rank"' in row_of(hers, ">540<")
    assert "Ben Okafor" in row_of(hers, "Rank </span>2") and hers.count('id="my-rank"') == 1

    await service.set_anonymous(anna.id, True)
    await Member.update({Member.language: "fr"}).where(Member.id == ben.id)
    await sessions_changed()
    await as_member(client, ben.id)
    french = (await client.get("/leaderboard?period=all", headers=HTML)).text
    assert "Ambassadeur anonyme" in row_of(french, "Rang </span>1")
    assert "Anna" not in french and '540<span class="board__unit"> pts' in french
    assert ">Vous<" in row_of(french, "Rang </span>2")


async def test_an_inactive_member_is_not_ranked(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    gone = await make_member(name="Gone Member", active=False)
    await ledger.credit(gone.id, 50, Action.share.value, "gone")
    await sign_in(client, "employee")
    page = await client.get("/leaderboard?period=all", headers=HTML)
    assert "Gone Member" not in page.text and "Nobody has earned points yet" in page.text


# ---------------------------------------------------------------- profile and opt-out


async def test_the_me_page_shows_my_level_progress_and_badges(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    member = await sign_in(client, "employee")
    await ledger.credit(member.id, 150, Action.share.value, "s1")
    await grant_badge(member.id, Badge.first_share, now())
    page = await client.get("/me", headers=HTML)
    assert "Your level: Ambassador" in page.text
    assert '<progress id="level-progress"' in page.text and 'value="12"' in page.text
    assert "350 more points to reach Influencer" in page.text
    earned = re.search(r'<li class="medal-card">.*?First share', page.text, re.S)
    assert earned
    assert re.search(r'medal-card--locked">.*?First hire', page.text, re.S)
    await Member.update({Member.language: "fr"}).where(Member.id == member.id)
    await sessions_changed()  # changed behind Relay's back: announced as Relay's changes are
    french = await client.get("/me", headers=HTML)
    assert "Premier partage" in french.text


async def test_a_member_opts_out_of_being_named_and_still_sees_their_rank(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    member = await sign_in(client, "employee", name="Discreet Dora")
    await ledger.credit(member.id, 40, Action.share.value, "s1")
    me = await client.get("/me", headers=HTML)
    assert 'name="anonymous" value="on" >' in me.text  # not checked
    saved = await client.post(
        "/me/leaderboard",
        data={"_csrf_token": form_token(me.text), "anonymous": "on"},
        headers=HTMX,
    )
    assert saved.status_code == 200 and "Saved." in saved.text
    assert 'value="on" checked' in saved.text and "<html" not in saved.text
    assert (await service.standing(member.id))["anonymous"]

    own = await client.get("/leaderboard?period=all", headers=HTML)
    assert "Rank </span>1" in own.text and ">You<" in own.text and "Discreet Dora" not in own.text

    await sign_in(client, "employee")
    other = await client.get("/leaderboard?period=all", headers=HTML)
    assert "Anonymous ambassador" in other.text and "Discreet Dora" not in other.text

    client.cookies.clear()
    from tests.factories import session_cookie

    name, value = await session_cookie(member)
    client.cookies.set(name, value)
    me = await client.get("/me", headers=HTML)
    back = await client.post(
        "/me/leaderboard",
        data={"_csrf_token": form_token(me.text)},
        headers=HTML,
        follow_redirects=False,
    )
    assert back.status_code == 303 and back.headers["location"] == "/me"
    assert not (await service.standing(member.id))["anonymous"]


# ---------------------------------------------------------------- the wall of fame


async def hired_candidate(name: str, item: int, referrer: int, stage: str = "hired") -> int:
    at = now()
    rows = await Candidate.insert(
        Candidate(
            kind="application",
            item=item,
            referrer=referrer,
            name=name,
            email=f"{name.split()[0].lower()}@example.com",
            consent_at=at,
            stage=stage,
            hired_at=at if stage == "hired" else None,
        )
    ).returning(Candidate.id)
    return int(rows[0]["id"])


async def test_the_wall_of_fame_shows_a_consented_hire_and_not_another(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    offer = await make_item("offer", "Data engineer")
    story = await make_item("story", "Our new office")
    referrer = await make_member(name="Léa Martin")
    agreed = await hired_candidate("Jeanne Durand", offer, referrer.id)
    await hired_candidate("Paul Secret", offer, referrer.id)  # never asked: not shown
    await ledger.credit(referrer.id, 500, Action.hired.value, "hire")
    for n, item in enumerate([story, story, story, offer]):
        await Share.insert(Share(key=f"{n}", member=referrer.id, item=item, network=f"n{n}"))

    editor = await sign_in(client, "editor")
    pipeline = await client.get(f"/pipeline/{offer}", headers=HTML)
    assert "Jeanne Durand agreed to appear on the wall of fame" in pipeline.text
    saved = await client.post(
        f"/pipeline/candidates/{agreed}/wall-of-fame",
        data={"_csrf_token": form_token(pipeline.text), "wall_of_fame": "on"},
        headers=HTMX,
    )
    assert saved.status_code == 200 and "Saved." in saved.text
    assert 'name="wall_of_fame" value="on" checked' in saved.text
    audit = await AuditEvent.select().where(AuditEvent.action == "wall_of_fame_consent").first()
    assert audit is not None and audit["actor"] == editor.id

    wall = await client.get("/wall-of-fame", headers=HTML)
    assert wall.status_code == 200
    assert "Jeanne" in wall.text and "Durand" not in wall.text
    assert "joined us as Data engineer" in wall.text and "referred by Léa Martin" in wall.text
    assert "Paul" not in wall.text
    top = wall.text[wall.text.index("Top ambassadors") : wall.text.index("Welcome aboard")]
    assert "Léa Martin" in top and "500" in top
    shared = wall.text[wall.text.index("Most shared") :]
    assert shared.index("Our new office") < shared.index("Data engineer")
    assert "3 shares" in shared and f'href="/items/{story}"' in shared

    await service.set_anonymous(referrer.id, True)
    wall = await client.get("/wall-of-fame", headers=HTML)
    assert "Léa Martin" not in wall.text and "thanks to an anonymous ambassador" in wall.text

    previous = service.shift_month(ledger.month_of(now()), -1)
    earlier = await client.get(f"/wall-of-fame?month={previous}", headers=HTMX)
    assert earlier.status_code == 200 and "No points earned this month yet." in earlier.text
    assert "Next month" in earlier.text
    future = await client.get("/wall-of-fame?month=2999-01", headers=HTML)
    assert "Next month" not in future.text and "Jeanne" in future.text

    # The lobby screen: this month whatever is asked, no navigation, reloading itself.
    screen = await client.get(f"/wall-of-fame?screen=tv&month={previous}", headers=HTML)
    assert "Jeanne" in screen.text and 'class="tabbar"' not in screen.text
    assert 'hx-trigger="every 300s"' in screen.text and "Previous month" not in screen.text


async def test_consent_is_for_hired_candidates_and_editors_only(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    offer = await make_item("offer", "Designer")
    referrer = await make_member()
    interviewing = await hired_candidate("Max Moreau", offer, referrer.id, stage="interview")
    hired = await hired_candidate("Nina Roy", offer, referrer.id)

    await sign_in(client, "employee")
    me = await client.get("/me", headers=HTML)
    refused = await client.post(
        f"/pipeline/candidates/{hired}/wall-of-fame",
        data={"_csrf_token": form_token(me.text), "wall_of_fame": "on"},
        headers=HTML,
    )
    assert refused.status_code == 403
    row = await Candidate.select(Candidate.wall_of_fame).where(Candidate.id == hired).first()
    assert row is not None and not row["wall_of_fame"]

    await sign_in(client, "editor")
    page = await client.get(f"/pipeline/{offer}", headers=HTML)
    assert "Max Moreau agreed" not in page.text  # asked only once hired
    early = await client.post(
        f"/pipeline/candidates/{interviewing}/wall-of-fame",
        data={"_csrf_token": form_token(page.text), "wall_of_fame": "on"},
        headers=HTMX,
    )
    assert early.status_code == 422
    assert "Only a hired candidate can appear on the wall of fame." in early.text
    missing = await client.post(
        "/pipeline/candidates/999999/wall-of-fame",
        data={"_csrf_token": form_token(page.text), "wall_of_fame": "on"},
        headers=HTMX,
    )
    assert missing.status_code == 404


async def test_moving_a_candidate_to_hired_dates_the_hire(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    from app.candidates import pipeline

    offer = await make_item("offer", "Designer")
    referrer = await make_member()
    candidate = await hired_candidate("Olga Petit", offer, referrer.id, stage="offer")
    editor = await make_member(role="editor")
    await pipeline.move(candidate, "hired", editor.id)
    row = await Candidate.select(Candidate.hired_at).where(Candidate.id == candidate).first()
    assert row is not None and row["hired_at"] is not None
