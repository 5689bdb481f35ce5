"""/insights over HTTP: who may see it, the figures against the previous period, bad input."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from litestar.testing import AsyncTestClient

from app.accounts.tables import Member
from app.activity.service import record_activity
from app.activity.tables import ActivityKind
from app.content.demo import load_demo_content
from app.core.clock import now
from app.core.settings import Settings
from app.demo import load_demo, load_demo_activity
from app.insights import digest, rollups
from app.mail.tables import MailOutbox
from app.points import corrections, ledger
from app.sharing import service as sharing
from tests.factories import make_item, make_member, make_team
from tests.helpers import HTML, as_member, csrf_token_of, figure, mail_settings, sign_in


async def test_employees_get_403_and_anonymous_visitors_are_sent_to_sign_in(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    anonymous = await client.get("/insights", headers=HTML, follow_redirects=False)
    assert anonymous.status_code in (302, 303, 401) or "sign" in anonymous.text.lower()
    await sign_in(client, "employee")
    assert (await client.get("/insights", headers=HTML)).status_code == 403


async def test_an_editor_sees_the_period_figures_against_the_previous_period(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    team = await make_team("Sales")
    sharer = await make_member(team=team)
    other = await make_member()
    item = await make_item(title="Data engineer")
    await sharing.record_share(sharer.id, item, "linkedin")
    await sharing.record_share(other.id, item, "x")
    for n in range(3):
        await record_activity(
            ActivityKind.click, f"t:{n}", member=sharer.id, item=item, network="linkedin"
        )
    # Last period: one share.
    await record_activity(
        ActivityKind.share,
        "old",
        member=sharer.id,
        item=item,
        at=now() - timedelta(days=40),
        network="x",
    )
    await rollups.refresh(now())
    await sign_in(client, "editor")
    page = await client.get("/insights?period=4weeks", headers=HTML)
    assert page.status_code == 200
    assert figure(page.text, "shares") == "2"
    assert figure(page.text, "clicks") == "3"
    assert figure(page.text, "active") == "2"
    assert "1.50" in figure(page.text, "clicks_per_share")
    assert "LinkedIn" in page.text and "<svg" in page.text

    # The team filter, as htmx asks for it: only the fragment.
    fragment = await client.get(
        f"/insights?period=4weeks&team={team}", headers={**HTML, "HX-Request": "true"}
    )
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert figure(fragment.text, "shares") == "1"


@pytest.mark.parametrize(
    "query",
    [
        "period=forever",
        "period=custom&from=2026-12-01&to=2026-01-01",
        "period=custom&from=0001-01-01&to=9999-12-31",
        "period=custom&from=2026-02-30&to=2026-03-01",
        "period=custom&from=yesterday",
        "team=999999",
        "site=abc",
        "item=-1",
        "team=99999999999999999999",
        "team=%C2%B2",
    ],
)
async def test_bad_input_gets_a_sentence_and_the_default_never_a_500(
    client: AsyncTestClient,  # type: ignore[type-arg]
    query: str,
) -> None:
    await sign_in(client, "editor")
    page = await client.get(f"/insights?{query}", headers=HTML)
    assert page.status_code == 200
    assert 'class="notice" role="status"' in page.text


async def test_breakdowns_sort_and_hide_members_who_chose_not_to_be_named_except_to_admins(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    named = await make_member(name="Léa Martin")
    hidden = await make_member(name="Hugo Secret")
    await Member.update({Member.leaderboard_anonymous: True}).where(Member.id == hidden.id)
    item = await make_item(title="Data engineer")
    other = await make_item(title="Designer")
    await sharing.record_share(named.id, item, "linkedin")
    await sharing.record_share(hidden.id, item, "linkedin")
    await sharing.record_share(hidden.id, other, "x")
    await rollups.refresh(now())
    await sign_in(client, "editor")
    page = await client.get("/insights/breakdowns?by=member&sort=shares&dir=desc", headers=HTML)
    assert page.status_code == 200
    assert "Léa Martin" in page.text and "Hugo Secret" not in page.text
    assert "Anonymous ambassador" in page.text
    items = await client.get("/insights/breakdowns?by=item&sort=name&dir=asc", headers=HTML)
    table = items.text[items.text.index("<tbody>") :]
    assert table.index("Data engineer") < table.index("Designer")
    items = await client.get("/insights/breakdowns?by=item&sort=shares&dir=asc", headers=HTML)
    table = items.text[items.text.index("<tbody>") :]
    assert table.index("Designer") < table.index("Data engineer")
    for junk in ("by=nothing", "sort=evil", "dir=sideways", "by=member&item=" + str(item)):
        assert (await client.get(f"/insights/breakdowns?{junk}", headers=HTML)).status_code == 200

    await sign_in(client, "admin")
    page = await client.get("/insights/breakdowns?by=member", headers=HTML)
    assert "Hugo Secret" in page.text


async def test_an_employee_sees_their_own_impact_and_nothing_about_others(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    me = await sign_in(client, "employee")
    someone = await make_member(name="Someone Else")
    item = await make_item(title="Data engineer")
    other = await make_item(title="Designer")
    await sharing.record_share(me.id, item, "linkedin")
    await sharing.record_share(me.id, other, "linkedin")
    await sharing.record_share(someone.id, item, "x")
    for n in range(2):
        await record_activity(ActivityKind.click, f"c:{n}", member=me.id, item=item, network="x")
    await record_activity(ActivityKind.click, "s", member=someone.id, item=other, network="x")
    await record_activity(ActivityKind.application, "a1", member=me.id, item=item, candidate=1)
    await record_activity(
        ActivityKind.share, "old", member=me.id, item=item, at=now() - timedelta(days=400)
    )
    await rollups.refresh(now())
    page = await client.get("/me/impact?period=quarter", headers=HTML)
    assert page.status_code == 200
    assert re.search(r'data-mine="shares">2<', page.text)
    assert re.search(r'data-all-time="shares">3<', page.text)
    assert re.search(r'data-mine="clicks">2<', page.text)
    assert re.search(r'data-mine="applications">1<', page.text)
    assert "This quarter: your links brought 1 candidate." in page.text
    assert "Data engineer" in page.text and "Someone Else" not in page.text
    assert (await client.get("/me/impact?period=../../etc", headers=HTML)).status_code == 200
    assert "/me/impact" in (await client.get("/me", headers=HTML)).text


def clicks_row(html: str, label: str) -> list[str]:
    row = re.search(rf'<th scope="row">{label}</th><td>([^<]*)</td><td>([^<]*)</td>', html)
    assert row is not None, label
    return [row.group(1), row.group(2)]


async def test_the_demo_clicks_page_agrees_with_itself_and_with_the_overview(
    client: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
) -> None:
    assert await load_demo()
    assert await load_demo_content(settings.data_dir)
    await load_demo_activity(settings.data_dir)
    await rollups.refresh(now())
    await Member.update({Member.language: "en"}).where(Member.email == "admin@demo.relay")
    admin = await Member.objects().where(Member.email == "admin@demo.relay").first()
    assert admin is not None
    await as_member(client, admin.id)
    page = await client.get("/admin/clicks", headers=HTML)
    views = clicks_row(page.text, "Page views")
    clicks = clicks_row(page.text, "Genuine clicks")
    assert int(clicks[1]) > 0
    assert int(views[1]) >= int(clicks[1]) and int(views[0]) >= int(clicks[0])
    overview = await client.get("/insights?period=4weeks", headers=HTML)
    assert figure(overview.text, "clicks") == clicks[0]


async def test_an_admin_correction_changes_the_balance_but_is_not_earned(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    member = await make_member()
    admin = await make_member(role="admin")
    assert (await corrections.correct(member.id, "50", "Welcome bonus", "k1", by=admin.id)).ok
    assert await ledger.balance(member.id) == 50
    assert await ledger.earned(member.id) == 0
    await as_member(client, admin.id)
    page = await client.get(f"/admin/people/{member.id}", headers=HTML)
    assert "does not count as earned points" in page.text


async def test_an_admin_sets_what_a_click_and_a_hire_are_worth_and_the_value_follows(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    sharer = await make_member()
    item = await make_item()
    for n in range(4):
        await record_activity(ActivityKind.click, f"v:{n}", member=sharer.id, item=item)
    await rollups.refresh(now())
    await sign_in(client, "editor")
    assert (await client.get("/insights/settings", headers=HTML)).status_code == 403
    await sign_in(client, "admin")
    # The overview seen first (its figures kept until the next round), then the worth
    # changed: the next overview shows the new worth at once.
    assert figure((await client.get("/insights", headers=HTML)).text, "value") == "12 EUR"
    page = await client.get("/insights/settings", headers=HTML)
    assert "SHRM" in page.text
    refused = await client.post(
        "/insights/settings",
        data={"cost_per_click": "=1+1", "cost_per_hire": "x", "currency": "euro"},
        headers={"x-csrftoken": csrf_token_of(page.text), **HTML},
    )
    assert refused.status_code == 422 and "Nothing was saved" in refused.text
    saved = await client.post(
        "/insights/settings",
        data={"cost_per_click": "2,50", "cost_per_hire": "1000", "currency": "usd"},
        headers={"x-csrftoken": csrf_token_of(page.text), **HTML},
    )
    assert saved.status_code == 200 and "Saved." in saved.text
    overview = await client.get("/insights", headers=HTML)
    assert figure(overview.text, "value") == "10 USD"


async def test_every_table_exports_as_csv_and_the_workbook_has_a_sheet_per_table(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    team = await make_team("Sales")
    sharer = await make_member(team=team, name='=HYPERLINK("http://evil")')
    item = await make_item(title="+cmd|' /C calc'!A0")
    await sharing.record_share(sharer.id, item, "linkedin")
    await record_activity(ActivityKind.click, "e:1", member=sharer.id, item=item, network="x")
    await rollups.refresh(now())
    await sign_in(client, "editor")
    query = f"period=custom&from=2026-01-01&to={now().date().isoformat()}&team={team}"
    for table in ("overview", "funnel", "trends", "team", "site", "item", "network", "member"):
        response = await client.get(f"/insights/export.csv?{query}&table={table}")
        assert response.status_code == 200, table
        assert response.headers["content-type"].startswith("text/csv")
        disposition = response.headers["content-disposition"]
        assert f"insights-{table}-2026-01-01_" in disposition and f"team-{team}" in disposition
    item_csv = (await client.get(f"/insights/export.csv?{query}&table=item")).text
    assert "'+cmd|" in item_csv
    member_csv = (await client.get(f"/insights/export.csv?{query}&table=member")).text
    assert "'=HYPERLINK" in member_csv
    forged = await client.get('/insights/export.csv?table=../../etc/passwd"&period=x')
    assert forged.status_code == 200
    assert 'filename="insights-overview-' in forged.headers["content-disposition"]

    response = await client.get(f"/insights/export.xlsx?{query}")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [
        "Overview", "Funnel", "Trends", "By team", "By site", "By content item", "By network",
        "By member",
    ]  # fmt: skip
    overview = {row[0]: row[1] for row in book["Overview"].iter_rows(values_only=True)}
    assert overview["Shares"] == 1 and overview["Genuine clicks"] == 1
    items = list(book["By content item"].iter_rows(values_only=True))
    assert items[1][0] == "'+cmd|' /C calc'!A0" and items[1][1] == 1
    assert book["By content item"]["A2"].data_type == "s"


async def test_an_editor_asks_for_the_weekly_digest_and_gets_it_once_on_monday_morning(
    client: AsyncTestClient,  # type: ignore[type-arg]
    env: dict[str, str],
) -> None:
    sharer = await make_member()
    item = await make_item()
    monday = datetime(2026, 11, 30, 7, 30, tzinfo=UTC)  # 08:30 in Paris
    await record_activity(
        ActivityKind.share, "d1", member=sharer.id, item=item, at=monday - timedelta(days=3)
    )
    await rollups.refresh(monday)
    editor = await sign_in(client, "editor")
    page = await client.get("/insights", headers=HTML)
    assert "Email me the week's overview" in page.text
    saved = await client.post(
        "/insights/digest",
        data={"digest": "on"},
        headers={"x-csrftoken": csrf_token_of(page.text), "HX-Request": "true"},
    )
    assert saved.status_code == 200 and "Saved." in saved.text and "checked" in saved.text
    settings = mail_settings(env, 2525)
    assert await digest.send_weekly_digests(settings, monday - timedelta(hours=1)) == 0  # 07:30
    assert await digest.send_weekly_digests(settings, monday) == 1
    assert await digest.send_weekly_digests(settings, monday + timedelta(hours=2)) == 0
    mails = await MailOutbox.select().where(MailOutbox.recipient == editor.email)
    assert len(mails) == 1
    assert mails[0]["subject"] == "Relay: the week of 2026-11-23"
    assert "Shares: 1 (+1)" in mails[0]["text"] and "/insights?period=custom" in mails[0]["text"]

    await sign_in(client, "employee")
    refused = await client.post(
        "/insights/digest", data={"digest": "on"}, headers={"x-csrftoken": csrf_token_of(page.text)}
    )
    assert refused.status_code == 403
