"""Points over HTTP: the admin's rules, levels, challenges and corrections; my points page;
the points a share earns; the points each referral earned."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient

from app.accounts.tables import AuditEvent, Member
from app.activity.service import record_activity
from app.activity.tables import ActivityKind
from app.candidates import pipeline
from app.core.clock import now
from app.points import ledger
from app.points import rules as points_rules
from app.points.rules import rules
from app.points.tables import Challenge, ChallengeItem, Level, PointsRule
from app.sharing import service as sharing
from app.sharing.tables import Share
from app.web.templating import day
from tests.factories import make_item, make_member
from tests.helpers import GOOD, HTML, HTMX, apply, as_member, csrf, sign_in

Client = AsyncTestClient  # type: ignore[type-arg]


def form_of(current: dict[str, dict[str, object]]) -> dict[str, str]:
    """The rules form as the page would send it."""
    data: dict[str, str] = {}
    for action, values in current.items():
        for name in ("points", "daily_cap", "weekly_cap"):
            data[f"{action}_{name}"] = str(values[name] if values[name] is not None else "")
        if values["enabled"]:
            data[f"{action}_enabled"] = "on"
    return data


async def rules_as_form() -> dict[str, str]:
    return form_of(
        {
            a: {
                "points": r.points,
                "daily_cap": r.daily_cap,
                "weekly_cap": r.weekly_cap,
                "enabled": r.enabled,
            }
            for a, r in (await rules()).items()
        }
    )


async def post_form(client: Client, path: str, data: dict[str, str], page: str) -> object:
    headers = await csrf(client, page)
    return await client.post(path, data=data, headers=headers)


def text_of(html: str) -> str:
    """The page's text, tags and extra spaces removed, to read it as a person does."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def share(client: Client, item_id: int, network: str = "native") -> dict[str, object]:
    headers = {**(await csrf(client)), "accept": "application/json"}
    response = await client.post(
        f"/items/{item_id}/shares", json={"network": network}, headers=headers
    )
    assert response.status_code == 200
    return dict(response.json())


# --- Rules -------------------------------------------------------------------------------


async def test_an_admin_saves_the_rules_in_one_form_and_it_is_audited(client: Client) -> None:
    admin = await sign_in(client, "admin")
    page = await client.get("/admin/points", headers=HTML)
    assert page.status_code == 200
    assert "Points per action" in page.text and "First share of the week" in page.text
    data = await rules_as_form()
    data |= {"share_points": "3", "share_daily_cap": "", "click_weekly_cap": "150"}
    del data["recommendation_enabled"]
    response = await post_form(client, "/admin/points/rules", data, "/admin/points")
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert "Rules saved." in response.text  # type: ignore[attr-defined]
    saved = await rules()
    assert (saved["share"].points, saved["share"].daily_cap, saved["share"].weekly_cap) == (
        3,
        None,
        40,
    )
    assert saved["click"].weekly_cap == 150
    assert saved["recommendation"].enabled is False
    event = await AuditEvent.select().where(AuditEvent.action == "points_rules_changed").first()
    assert event is not None and event["actor"] == admin.id
    assert "share: 2 caps 10/40 → 3 caps -/40" in json.loads(event["detail"])["summary"]
    audit = await client.get("/admin/audit", headers=HTML)
    assert "Points rules changed" in audit.text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("share_points", "lots", "Enter a whole number of points from 0 to 10,000."),
        ("hired_points", "10001", "Enter a whole number of points from 0 to 10,000."),
        ("click_points", "-5", "Enter a whole number of points from 0 to 10,000."),
        ("click_daily_cap", "0", "Leave it empty for no cap, or enter a number from 1 to 1,000."),
        (
            "share_weekly_cap",
            "1001",
            "Leave it empty for no cap, or enter a number from 1 to 1,000.",
        ),
        ("share_weekly_cap", "5", "The weekly cap can&#39;t be lower than the daily cap."),
    ],
)
async def test_each_invalid_rule_shows_its_message_next_to_the_field_and_saves_nothing(
    client: Client, field: str, value: str, message: str
) -> None:
    await sign_in(client, "admin")
    data = await rules_as_form()
    data |= {"interview_points": "250", field: value}  # a valid change that must not be kept
    response = await post_form(client, "/admin/points/rules", data, "/admin/points")
    assert response.status_code == 422  # type: ignore[attr-defined]
    html = response.text  # type: ignore[attr-defined]
    action, _sep, name = field.partition("_")
    field_id = f"rule-{action}-{name}"
    assert re.search(
        rf'id="{field_id}"[^>]*aria-invalid="true" aria-describedby="{field_id}-error"', html
    )
    assert f'<p class="field-error" id="{field_id}-error">{message}</p>' in html
    assert "Nothing was saved" in html
    assert f'value="{value}"' in html  # what was typed stays in the form
    assert (await rules())["interview"].points == 100
    assert not await AuditEvent.exists().where(AuditEvent.action == "points_rules_changed")


async def test_a_rule_switched_off_and_caps_hold_for_shares_through_the_route(
    client: Client,
) -> None:
    await sign_in(client, "admin")
    data = await rules_as_form()
    data |= {"share_points": "3", "share_daily_cap": "2", "share_weekly_cap": ""}
    del data["weekly_bonus_enabled"]
    assert (await post_form(client, "/admin/points/rules", data, "/admin/points")).status_code == 200  # type: ignore[attr-defined]  # fmt: skip
    employee = await sign_in(client, "employee")
    items = [await make_item(title=f"Story {n}") for n in range(4)]
    answers = [await share(client, item) for item in items[:3]]
    assert [a["points"] for a in answers] == [3, 3, 0]  # the third is over the daily cap
    assert answers[0]["message"] == "+3 points" and "message" not in answers[2]
    assert answers[2]["recorded"] is True  # the share itself is recorded all the same
    assert await share(client, items[0]) == {"recorded": False, "points": 0}
    # The cap is per day: tomorrow counts again; switched off, a share earns nothing.
    await PointsRule.update({PointsRule.daily_cap: None}).where(PointsRule.action == "share")
    await PointsRule.update({PointsRule.enabled: False}).where(PointsRule.action == "share")
    assert (await share(client, items[3]))["points"] == 0
    assert await ledger.balance(employee.id) == 6


# --- Corrections -------------------------------------------------------------------------


async def test_a_correction_shows_on_the_members_points_page_with_its_note_and_is_audited(
    client: Client,
) -> None:
    member = await make_member(name="Léa Martin", email="lea@example.com")
    admin = await sign_in(client, "admin")
    person = await client.get(f"/admin/people/{member.id}", headers=HTML)
    assert "0 points" in person.text
    key = re.search(r'name="key" value="([0-9a-f-]{36})"', person.text).group(1)  # type: ignore[union-attr]
    data = {"points": "50", "reason": "Won the photo contest", "key": key}
    path = f"/admin/people/{member.id}/points"
    first = await post_form(client, path, data, f"/admin/people/{member.id}")
    assert first.status_code == 200 and "Points corrected." in first.text  # type: ignore[attr-defined]
    assert "50 points" in first.text  # type: ignore[attr-defined]
    again = await post_form(client, path, data, f"/admin/people/{member.id}")  # sent twice
    assert again.status_code == 200  # type: ignore[attr-defined]
    assert await ledger.balance(member.id) == 50
    # Mistakes, each next to its field; nothing written.
    bad = await post_form(
        client, path, {"points": "-80", "reason": "Oops", "key": "x"}, f"/admin/people/{member.id}"
    )
    assert bad.status_code == 422  # type: ignore[attr-defined]
    assert "They have 50 points: you can take back at most that." in bad.text  # type: ignore[attr-defined]
    empty = await post_form(client, path, {"points": "0", "reason": " "}, "/admin/points")
    assert empty.status_code == 422  # type: ignore[attr-defined]
    assert 'id="correction-points-error"' in empty.text  # type: ignore[attr-defined]
    assert "Say why in 1 to 300 characters: the member will read it." in empty.text  # type: ignore[attr-defined]
    # From the points admin page, by email, taking some back.
    unknown = await post_form(
        client,
        "/admin/points/corrections",
        {"email": "nobody@example.com", "points": "-20", "reason": "Duplicate share"},
        "/admin/points",
    )
    assert "No one in Relay has this email address." in unknown.text  # type: ignore[attr-defined]
    taken = await post_form(
        client,
        "/admin/points/corrections",
        {"email": "LEA@example.com", "points": "-20", "reason": "Duplicate share"},
        "/admin/points",
    )
    assert "Points corrected." in taken.text  # type: ignore[attr-defined]
    assert await ledger.balance(member.id) == 30
    events = (
        await AuditEvent.select()
        .where(AuditEvent.action == "points_corrected")
        .order_by(AuditEvent.id)
    )
    assert [(e["actor"], e["subject"], json.loads(e["detail"])) for e in events] == [
        (admin.id, member.id, {"points": 50, "reason": "Won the photo contest"}),
        (admin.id, member.id, {"points": -20, "reason": "Duplicate share"}),
    ]
    audit = await client.get("/admin/audit", headers=HTML)
    assert "Points corrected" in audit.text and "+50" in audit.text

    await as_member(client, member.id)
    page = text_of((await client.get("/me/points", headers=HTML)).text)
    assert "30 points" in page
    assert "Correction “Duplicate share” -20" in page.replace(f" {day(now())}", "")
    assert "Correction “Won the photo contest” +50" in page.replace(f" {day(now())}", "")


async def test_an_admin_cannot_correct_their_own_points_but_another_admin_can(
    client: Client,
) -> None:
    admin = await sign_in(client, "admin", email="ana@example.com")
    person = await client.get(f"/admin/people/{admin.id}", headers=HTML)
    assert "Your own points: another admin corrects them." in person.text
    assert f'action="/admin/people/{admin.id}/points"' not in person.text
    forged = await post_form(
        client,
        f"/admin/people/{admin.id}/points",
        {"points": "5000", "reason": "Bonus"},
        "/admin/points",
    )
    assert forged.status_code == 422  # type: ignore[attr-defined]
    assert "Your own points: another admin corrects them." in forged.text  # type: ignore[attr-defined]
    by_email = await post_form(
        client,
        "/admin/points/corrections",
        {"email": "ana@example.com", "points": "5000", "reason": "Bonus"},
        "/admin/points",
    )
    assert "Your own points: another admin corrects them." in by_email.text  # type: ignore[attr-defined]
    assert await ledger.balance(admin.id) == 0
    refused = await AuditEvent.select(AuditEvent.actor).where(
        AuditEvent.action == "own_decision_refused"
    )
    assert [r["actor"] for r in refused] == [admin.id, admin.id]

    await sign_in(client, "admin")
    done = await post_form(
        client,
        f"/admin/people/{admin.id}/points",
        {"points": "50", "reason": "Organised the referral week"},
        f"/admin/people/{admin.id}",
    )
    assert "Points corrected." in done.text  # type: ignore[attr-defined]
    assert await ledger.balance(admin.id) == 50


# --- Levels ------------------------------------------------------------------------------


async def test_levels_are_added_renamed_moved_and_removed_and_the_first_always_stays(
    client: Client,
) -> None:
    await sign_in(client, "admin")
    page = await client.get("/admin/points", headers=HTML)
    assert "Newcomer" in page.text and "Legend" in page.text
    added = await post_form(
        client, "/admin/points/levels", {"name": "Rookie", "threshold": "50"}, "/admin/points"
    )
    assert "Level added." in added.text  # type: ignore[attr-defined]
    taken = await post_form(
        client, "/admin/points/levels", {"name": "Twin", "threshold": "100"}, "/admin/points"
    )
    assert taken.status_code == 422  # type: ignore[attr-defined]
    assert (
        "Another level starts at this number of points: choose a different one." in taken.text  # type: ignore[attr-defined]
    )
    assert 'id="new-level-threshold-error"' in taken.text  # type: ignore[attr-defined]
    nameless = await post_form(
        client, "/admin/points/levels", {"name": "", "threshold": "0"}, "/admin/points"
    )
    assert "Give the level a name of 1 to 60 characters." in nameless.text  # type: ignore[attr-defined]
    assert "Enter a number of lifetime points from 1 to 10,000,000." in nameless.text  # type: ignore[attr-defined]
    rookie = await Level.select().where(Level.name == "Rookie").first()
    assert rookie is not None
    moved = await post_form(
        client,
        f"/admin/points/levels/{rookie['id']}",
        {"name": "Starter", "threshold": "60"},
        "/admin/points",
    )
    assert "Level saved." in moved.text  # type: ignore[attr-defined]
    first = await Level.select().where(Level.threshold == 0).first()
    assert first is not None
    renamed = await post_form(
        client,
        f"/admin/points/levels/{first['id']}",
        {"name": "Beginner", "threshold": "500"},  # its threshold stays 0 whatever is sent
        "/admin/points",
    )
    assert renamed.status_code == 200  # type: ignore[attr-defined]
    refused = await post_form(
        client, f"/admin/points/levels/{first['id']}/delete", {}, "/admin/points"
    )
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "The first level, at 0 points, always stays" in refused.text  # type: ignore[attr-defined]
    removed = await post_form(
        client, f"/admin/points/levels/{rookie['id']}/delete", {}, "/admin/points"
    )
    assert "Level removed." in removed.text  # type: ignore[attr-defined]
    levels = await Level.select(Level.name, Level.threshold).order_by(Level.threshold)
    assert [(lv["name"], lv["threshold"]) for lv in levels][:2] == [
        ("Beginner", 0),
        ("Ambassador", 100),
    ]
    assert await AuditEvent.count().where(AuditEvent.action == "points_levels_changed") == 4
    # A member with 70 lifetime points is a Beginner, 30 points from Ambassador.
    member = await sign_in(client, "employee")
    await record_activity(ActivityKind.application, "a1", member=member.id)
    await record_activity(ActivityKind.recommendation, "r1", member=member.id)
    page = text_of((await client.get("/me/points", headers=HTML)).text)
    assert "Level: Beginner" in page
    assert "20 points to go to Ambassador" in page  # 80 lifetime points


async def test_pages_show_a_change_to_levels_and_rules_made_in_another_process_within_seconds(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(points_rules._kept, "_clock", lambda: clock[0])
    member = await sign_in(client, "employee")
    page = text_of((await client.get("/me/points", headers=HTML)).text)
    assert "Level: Newcomer" in page and "Genuine click" in page
    # Another process (its admin) renames the first level and switches clicks off.
    await Level.update({Level.name: "Rookie"}).where(Level.threshold == 0)
    await PointsRule.update({PointsRule.enabled: False}).where(PointsRule.action == "click")
    clock[0] += points_rules.SHOWN_FOR_S - 1
    page = text_of((await client.get("/me/points", headers=HTML)).text)
    assert "Level: Newcomer" in page and "Genuine click" in page  # this process's copy
    clock[0] += 1
    page = text_of((await client.get("/me/points", headers=HTML)).text)
    assert "Level: Rookie" in page and "Genuine click" not in page
    # Points are awarded by the rules as they are now, whatever a page last showed.
    await PointsRule.update({PointsRule.enabled: True}).where(PointsRule.action == "click")
    await record_activity(ActivityKind.click, "fresh-rule", member=member.id)
    assert await ledger.balance(member.id) == 10


# --- Challenges --------------------------------------------------------------------------


async def test_a_challenge_multiplies_a_share_of_its_item_made_through_the_route(
    client: Client,
) -> None:
    item = await make_item("offer", "Data engineer")
    other = await make_item("story", "Hack week")
    await sign_in(client, "admin")
    new = await client.get("/admin/points/challenges/new", headers=HTML)
    assert "Starts (Europe/Paris time)" in new.text and "Data engineer" in new.text
    paris = ZoneInfo("Europe/Paris")
    start = (now() - timedelta(hours=1)).astimezone(paris)
    end = (now() + timedelta(days=2)).astimezone(paris)
    good = {
        "name": "Hiring sprint",
        "multiplier": "200",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": end.strftime("%Y-%m-%dT%H:%M"),
        "items": str(item),
    }
    headers = await csrf(client, "/admin/points/challenges/new")
    mistakes = {
        **good,
        "name": "",
        "multiplier": "600",
        "ends_at": good["starts_at"],
        "items": "",
    }
    refused = await client.post("/admin/points/challenges", data=mistakes, headers=headers)
    assert refused.status_code == 422
    for message in [
        "Give the challenge a name of 1 to 120 characters.",
        "Choose a multiplier from ×1.1 to ×5.",
        "The end must come after the start.",
        "Choose at least one story or offer.",
    ]:
        assert message in refused.text
    assert not await Challenge.exists()
    created = await client.post("/admin/points/challenges", data=good, headers=headers)
    assert created.status_code == 200
    assert created.headers.get("location") in (None, "/admin/points")
    challenge = await Challenge.select().first()
    assert challenge is not None
    assert challenge["starts_at"] == start.astimezone(UTC).replace(second=0, microsecond=0)
    admin_page = text_of((await client.get("/admin/points", headers=HTML)).text)
    assert "Hiring sprint · ×2" in admin_page
    assert f"{start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} · 1 item" in admin_page

    employee = await sign_in(client, "employee")
    feed = text_of((await client.get("/", headers=HTML)).text)
    assert f"×2 points until {end.astimezone(UTC):%-d %b}" in feed
    assert feed.count("points until") == 1  # the story is not in the challenge
    answer = await share(client, item)
    assert answer["points"] == 2 * 2 + 5  # the share doubled, the week's bonus as it is
    assert answer["message"] == "+9 points"
    assert (await share(client, other))["points"] == 2
    page = text_of((await client.get("/me/points", headers=HTML)).text)
    assert "Share Data engineer · ×2 challenge" in page
    # The badge the share earned, with its day; those still to earn after it.
    assert f"First share You shared for the first time. · {day(now())}" in page
    assert page.index("First share") < page.index("Still to earn")

    # Ended early: the next share of the item earns the usual points.
    await sign_in(client, "admin")
    headers = await csrf(client, "/admin/points")
    ended = await client.post(
        f"/admin/points/challenges/{challenge['id']}/end", data={}, headers=headers
    )
    assert ended.status_code == 200
    assert await AuditEvent.count().where(AuditEvent.action.is_in(["challenge_saved", "challenge_ended"])) == 2  # fmt: skip
    await as_member(client, employee.id)
    assert (await share(client, item, "linkedin"))["points"] == 2


async def test_a_card_shows_the_best_challenge_running_on_it_the_readers_clicks_and_link(
    client: Client,
) -> None:
    offer = await make_item("offer", "Data engineer")
    story = await make_item("story", "Hack week")
    moment = now().replace(microsecond=0)

    async def challenge(percent: int, starts: timedelta, ends: timedelta, *items: int) -> None:
        row = Challenge(
            name=f"x{percent}", multiplier=percent, starts_at=moment + starts, ends_at=moment + ends
        )
        await row.save()
        await ChallengeItem.insert(*[ChallengeItem(challenge=row.id, item=i) for i in items])

    hour, day_ = timedelta(hours=1), timedelta(days=1)
    await challenge(200, -hour, 10 * day_, offer)
    await challenge(300, -hour, 2 * day_, offer)  # the best running on the offer
    await challenge(500, -3 * day_, -day_, offer, story)  # over
    await challenge(400, day_, 5 * day_, story)  # not started
    member = await sign_in(client, "employee")
    for n in range(2):
        await record_activity(ActivityKind.click, f"c{n}", member=member.id, item=offer)
    page = (await client.get("/", headers=HTML)).text
    feed = text_of(page)
    assert f"×3 points until {(moment + 2 * day_).astimezone(UTC):%-d %b}" in feed
    assert feed.count("points until") == 1  # the story has no challenge running
    assert "2 clicks on your link" in feed and "0 clicks on your link" in feed
    # Each card's one-tap share carries the member's own link, the same on every visit and
    # on the item's page.
    links = re.findall(r"http://[^\s\"]+/r/([\w-]+)", page)
    assert len(set(links)) == 2
    again = re.findall(r"http://[^\s\"]+/r/([\w-]+)", (await client.get("/", headers=HTML)).text)
    assert set(again) == set(links)
    item_page = (await client.get(f"/items/{offer}", headers=HTML)).text
    assert "2 clicks on your link" in text_of(item_page)
    assert "You have not shared it yet." in text_of(item_page)
    for network in ("linkedin", "whatsapp"):
        key = f"{member.id}:{offer}:{network}"
        await Share.insert(Share(key=key, member=member.id, item=offer, network=network))
    shared = text_of((await client.get(f"/items/{offer}", headers=HTML)).text)
    assert "You shared it (2)" in shared
    on_item_page = set(re.findall(r"http://[^\s\"]+/r/([\w-]+)", item_page))
    assert len(on_item_page) == 1 and on_item_page < set(links)


# --- My points page ----------------------------------------------------------------------


async def test_the_points_page_shows_the_history_newest_first_and_pages_with_show_more(
    client: Client,
) -> None:
    member = await sign_in(client, "employee")
    item = await make_item("offer", "Data engineer")
    start = now() - timedelta(days=3)
    for n in range(25):  # genuine clicks over three days, under the daily cap
        await record_activity(
            ActivityKind.click,
            f"visit-{n}",
            member=member.id,
            item=item,
            at=start + timedelta(days=n // 10, minutes=n),
        )
    page = await client.get("/me/points", headers=HTML)
    assert page.status_code == 200
    text = text_of(page.text)
    assert "250 points" in text and "Level: Ambassador" in text
    assert "First click" in text and "Still to earn: You shared for the first time." in text
    assert "How to earn points" in text
    assert "Share up to 10 a day, up to 40 a week 2 points" in text
    assert "Application up to 5 a day, up to 20 a week 50 points" in text
    assert page.text.count('class="list__item points-line"') == 20
    ids = [int(i) for i in re.findall(r'data-line="(\d+)"', page.text)]
    assert ids == sorted(ids, reverse=True)
    more = re.search(r'hx-get="/me/points\?before=(\d+)"', page.text)
    assert more and int(more.group(1)) == ids[-1]
    rest = await client.get(f"/me/points?before={ids[-1]}", headers=HTMX)
    assert rest.status_code == 200
    assert "<html" not in rest.text and "Show more" not in rest.text
    rest_ids = [int(i) for i in re.findall(r'data-line="(\d+)"', rest.text)]
    assert len(rest_ids) == 5 and max(rest_ids) < ids[-1]
    assert "Genuine click" in rest.text and "Data engineer" in rest.text
    # Without htmx, the link is a page of its own.
    plain = await client.get(f"/me/points?before={ids[-1]}", headers=HTML)
    assert plain.text.count('class="list__item points-line"') == 5
    assert 'aria-current="page"' in plain.text and "/me/points" in plain.text


async def test_editors_reach_their_points_from_me_and_employees_from_the_tab(
    client: Client,
) -> None:
    await sign_in(client, "employee")
    page = await client.get("/me/points", headers=HTML)
    assert re.search(r'href="/me/points"[^>]*aria-current="page"', page.text)
    await sign_in(client, "editor")
    me = await client.get("/me", headers=HTML)
    assert 'href="/me/points"' in me.text and 'href="/admin/points"' not in me.text
    page = await client.get("/me/points", headers=HTML)
    assert page.status_code == 200
    assert re.search(r'href="/me"[^>]*aria-current="page"', page.text)


@pytest.mark.parametrize("role", ["employee", "editor"])
async def test_only_admins_reach_the_points_admin(client: Client, role: str) -> None:
    await sign_in(client, role)
    assert (await client.get("/admin/points", headers=HTML)).status_code == 403
    assert (await client.get("/admin/points/challenges/new", headers=HTML)).status_code == 403
    headers = await csrf(client)
    data = {"share_points": "500", "share_enabled": "on"}
    refused = await client.post("/admin/points/rules", data=data, headers=headers)
    assert refused.status_code == 403
    assert (await rules())["share"].points == 2


# --- My referrals ------------------------------------------------------------------------


async def test_my_referrals_show_the_points_each_referral_earned(client: Client) -> None:
    sharer = await make_member(name="Léa Martin")
    offer = await make_item("offer", "Data engineer")
    code = await sharing.link_code(sharer.id, offer)
    for n, name in enumerate(("Jeanne Durand", "Marc Petit")):  # two people, two numbers
        fields = {
            **GOOD,
            "name": name,
            "email": f"{name[:4]}@x.org",
            "phone": f"+33 6 00 00 00 0{n}",
        }
        response = await apply(client, code, fields)
        assert response.status_code == 200
    rows = await pipeline.referrals_of(sharer.id)
    jeanne = next(r for r in rows if r["name"].startswith("Jeanne"))
    editor = await make_member(role="editor")
    await pipeline.move(jeanne["id"], "interview", by=editor.id)
    await as_member(client, sharer.id)
    page = text_of((await client.get("/me/referrals", headers=HTML)).text)
    assert "Jeanne D. · Data engineer Interview" in page
    assert "170 points earned" in page  # application 50, contacted 20, interview 100
    assert "50 points earned" in page  # Marc's application
    await pipeline.move(jeanne["id"], "new", by=editor.id)  # moved back: taken back
    page = text_of((await client.get("/me/referrals", headers=HTML)).text)
    assert page.count("50 points earned") == 2


def test_dates_in_the_feed_badge_are_short() -> None:
    from app.core.i18n import current_language
    from app.points.rules_admin import multiplier_text, short_date

    token = current_language.set("fr")
    try:
        assert multiplier_text(150) == "×1,5" and multiplier_text(200) == "×2"
        assert short_date(datetime(2026, 11, 30, 12, tzinfo=UTC)) == "30 nov."
    finally:
        current_language.reset(token)
    assert multiplier_text(125) == "×1.25"


async def test_the_demo_gives_members_a_lively_points_page(
    client: Client, settings: object
) -> None:
    from app.content.demo import load_demo_content
    from app.demo import load_demo, load_demo_activity

    data_dir = settings.data_dir  # type: ignore[attr-defined]
    assert await load_demo()
    assert await load_demo_content(data_dir)
    await load_demo_activity(data_dir)
    await Member.update({Member.language: "en"}).where(Member.email.like("%@demo.relay"))
    lea = await Member.objects().where(Member.email == "lea.martin@demo.relay").first()
    assert lea is not None
    await as_member(client, lea.id)
    page = text_of((await client.get("/me/points", headers=HTML)).text)
    for line in ["Share", "Genuine click", "Application", "Candidate interviewed", "×2 challenge"]:
        assert line in page, line
    feed = text_of((await client.get("/", headers=HTML)).text)
    assert "×2 points until" in feed
    referrals = text_of((await client.get("/me/referrals", headers=HTML)).text)
    assert "Julien M." in referrals and "points earned" in referrals
    sarah = await Member.objects().where(Member.email == "sarah.cohen@demo.relay").first()
    assert sarah is not None
    await as_member(client, sarah.id)
    page = text_of((await client.get("/me/points", headers=HTML)).text)
    assert "“Winner of the team photo contest”" in page
