"""The insights' figures kept between rounds: computed once however many ask at the same
moment, and shared by every process through the table the round writes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from app.insights import rollups, service
from app.insights.tables import InsightKept
from app.sharing import service as sharing
from tests.factories import make_item, make_member, make_team
from tests.helpers import HTML, figure, sign_in


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    """A web process that does not run the periodic jobs: a worker process runs them."""
    return {**env, "RELAY_EMBEDDED_WORKER": "off"}


def never_computed(*_args: Any) -> Any:
    raise AssertionError("computed by the page: the round's figures were not read")


async def test_a_web_process_that_did_not_run_the_round_reads_its_figures_from_the_table(
    client: AsyncTestClient,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    team = await make_team("Sales")
    member = await make_member(name="Shared Example", team=team)
    item = await make_item(title="Shared item")
    await sharing.record_share(member.id, item, "linkedin")
    # The round, in the worker process: the rollups, then the default views' figures.
    await service.roll_up(datetime.now(UTC))
    # Another process (nothing kept in its memory) serves the editor's pages.
    service.drop_kept()
    for name in ("_overviews", "_trends", "_top_figures"):
        monkeypatch.setattr(service, name, never_computed)
    await sign_in(client, "editor")
    page = await client.get("/insights", headers=HTML)
    assert page.status_code == 200 and figure(page.text, "shares") == "1"
    table = await client.get("/insights/breakdowns?period=year&by=team", headers=HTML)
    assert table.status_code == 200 and "Sales" in table.text
    # A view the round did not compute (a filter) is computed by the page, as before.
    monkeypatch.undo()
    filtered = await client.get(f"/insights?team={team}", headers=HTML)
    assert figure(filtered.text, "shares") == "1"


async def test_figures_read_from_the_table_equal_a_fresh_computation(database: str) -> None:
    team = await make_team("Ops")
    for n in range(3):
        member = await make_member(name=f"Member {n}", team=team)
        item = await make_item(title=f"Item {n}")
        await sharing.record_share(member.id, item, ("linkedin", "x", "native")[n])
    now = datetime.now(UTC)
    await service.roll_up(now)
    generation = await service.rollup_generation()
    period = service.parse_period("year", None, None, now.date())[0]
    none = service.Filters()

    async def read() -> list[Any]:
        return [
            await service.compared(period, none, generation),
            await service.trends(period, none, generation),
            await service.filter_choices(generation),
            *[await service.breakdown_page(by, period, none, generation=generation)
              for by in service.BREAKDOWNS],
            *[await service.breakdown_rows(by, period, none, generation=generation)
              for by in service.BREAKDOWNS],
        ]  # fmt: skip

    service.drop_kept()
    shared = await read()
    await InsightKept.delete(force=True)
    service.drop_kept()
    fresh = await read()
    assert shared == fresh
    assert shared[0][0].figures["shares"] == 3 and shared[1]["points"]


async def test_an_older_generation_is_never_served_and_its_rows_go(database: str) -> None:
    member = await make_member()
    item = await make_item()
    await sharing.record_share(member.id, item, "linkedin")
    now = datetime.now(UTC)
    await service.roll_up(now)
    period = service.parse_period("4weeks", None, None, now.date())[0]
    assert (await service.figures(period, service.Filters())).figures["shares"] == 1
    old = await service.rollup_generation()
    # The rollups change (a round whose figures are not written yet, or a new worth): a
    # process must compute, never read the older generation's rows.
    await sharing.record_share(member.id, item, "x")
    await rollups.refresh(now + timedelta(seconds=1))
    service.drop_kept()
    assert (await service.figures(period, service.Filters())).figures["shares"] == 2
    assert await InsightKept.count().where(InsightKept.generation == old) > 0
    # The next round writes its own rows and deletes the older ones.
    await service.roll_up(now + timedelta(seconds=2))
    generations = {r["generation"] for r in await InsightKept.select(InsightKept.generation)}
    assert generations == {await service.rollup_generation()}
    # A row that cannot be read back (written by another release) is computed instead.
    await InsightKept.update({InsightKept.value: '{"~Gone": {}}'}, force=True)
    service.drop_kept()
    current, _before = await service.compared(period, service.Filters())
    assert current.figures["shares"] == 2


async def test_requests_asking_at_once_for_a_figure_await_one_computation(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = await make_team("Design")
    member = await make_member(team=team)
    await sharing.record_share(member.id, await make_item(), "linkedin")
    now = datetime.now(UTC)
    await rollups.refresh(now)
    generation = await service.rollup_generation()
    period = service.parse_period("year", None, None, now.date())[0]
    computed = []
    top_figures = service._top_figures

    async def counted(*args: Any) -> Any:
        computed.append(args)
        return await top_figures(*args)

    monkeypatch.setattr(service, "_top_figures", counted)
    pages = await asyncio.gather(
        *[
            service.breakdown_page("team", period, service.Filters(), generation=generation)
            for _n in range(8)
        ]
    )
    assert len(computed) == 1
    assert all(page == pages[0] for page in pages)
    assert pages[0] is not None and [r["name"] for r in pages[0][0]] == ["Design"]
