"""Notifications: opting in, the Notifications page, nudges with their rules, HR campaigns.

Times are given explicitly (``now=``) so quiet hours, caps and schedules are checked without
waiting; pushes that must really leave go through the app's worker to the push sink.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from app.accounts.sessions import create_session
from app.accounts.tables import Session
from app.core.clock import now
from app.core.settings import Settings
from app.notifications import campaigns, devices, preferences
from app.notifications.campaigns import Audience
from app.notifications.jobs import run_jobs
from app.notifications.nudges import (
    CONTENT_BATCH_WINDOW,
    WeeklyFigures,
    nudge_inactive_members,
    nudge_new_content,
    nudge_referral_stage,
    nudge_reward_affordable,
    nudge_weekly_summary,
    send_due_nudges,
)
from app.notifications.preferences import Preferences
from app.notifications.tables import Campaign, Nudge, NudgeState
from push.subscriptions import SubscriptionError
from push.tables import PushDelivery, PushSubscription
from tests.factories import make_item, make_member, make_site, make_team, subscribe
from tests.helpers import HTML, csrf, sign_in
from tests.push_sink import PushSink, fcm_browser

# A Tuesday, 14:00 in Paris (13:00 UTC): outside the default quiet hours.
AFTERNOON = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
# 23:30 in Paris: inside them; they end at 08:00 Paris time, 07:00 UTC.
NIGHT = datetime(2026, 11, 24, 22, 30, tzinfo=UTC)
NEXT_MORNING = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    """This module's Relay may post to the push sink on 127.0.0.1, and sends from the app
    process on PostgreSQL too (instead of separate `relay worker` processes)."""
    return {**env, "PUSH_ALLOWED_TEST_HOSTS": "127.0.0.1", "RELAY_EMBEDDED_WORKER": "on"}


async def payloads() -> list[dict[str, Any]]:
    rows = await PushDelivery.select(PushDelivery.payload, PushDelivery.kind).order_by(
        PushDelivery.id
    )
    return [{**json.loads(row["payload"]), "kind": row["kind"]} for row in rows]


async def wait_for_sink(sink: PushSink, count: int) -> None:
    """Until the push service got ``count`` messages and the worker wrote down what it
    answered: a delivery stays ``sending`` from its claim until its answer is recorded, just
    after the push service has it (rows the worker writes: watched, as the outbox tests do)."""
    await asyncio.to_thread(sink.wait_for, lambda: len(sink.accepted()) >= count)
    deadline = asyncio.get_running_loop().time() + 15
    while await PushDelivery.count().where(PushDelivery.state == "sending"):
        assert asyncio.get_running_loop().time() < deadline, "deliveries still in flight"
        await asyncio.sleep(0.02)


# --- Endpoint validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fcm.googleapis.com/fcm/send/abc",
        "https://127.0.0.1/push/abc",
        "https://10.0.0.8/push/abc",
        "https://192.168.1.20/push/abc",
        "https://[::1]/push/abc",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/push/abc",
        "https://push.localhost/abc",
        "https://printer.local/abc",
        "https://intranet/abc",
        "https://2130706433/abc",
        "https://user@updates.push.services.mozilla.com/wpush/v2/abc",
        "ftp://updates.push.services.mozilla.com/abc",
        "https://updates.push.services.mozilla.com:99999/abc",
    ],
)
def test_push_addresses_on_private_hosts_are_refused_by_default(
    endpoint: str, tmp_path: Any
) -> None:
    settings = Settings.from_env({"RELAY_DATA_DIR": str(tmp_path), "SECRET_KEY": "k" * 40})
    with pytest.raises(SubscriptionError):
        devices.check_push_endpoint(endpoint, settings)


def test_push_services_are_accepted_and_the_test_host_only_when_allowed(tmp_path: Any) -> None:
    base = {"RELAY_DATA_DIR": str(tmp_path), "SECRET_KEY": "k" * 40}
    settings = Settings.from_env(base)
    for endpoint in [
        "https://fcm.googleapis.com/fcm/send/abc:def",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAA",
        "https://web.push.apple.com/QGuQyavXutnMH",
    ]:
        devices.check_push_endpoint(endpoint, settings)
    with pytest.raises(SubscriptionError):
        devices.check_push_endpoint("http://127.0.0.1:9000/push/x", settings)
    allowed = Settings.from_env({**base, "PUSH_ALLOWED_TEST_HOSTS": "127.0.0.1"})
    devices.check_push_endpoint("http://127.0.0.1:9000/push/x", allowed)
    with pytest.raises(SubscriptionError):
        devices.check_push_endpoint("http://10.0.0.1:9000/push/x", allowed)


async def test_opting_in_saves_the_device_and_refuses_a_private_address(
    client: AsyncTestClient,  # type: ignore[type-arg]
    push_sink: PushSink,
) -> None:
    member = await sign_in(client)
    headers = await csrf(client, "/me", accept=None)
    browser = push_sink.new_browser()
    refused = await client.post(
        "/push/subscriptions",
        json={
            "endpoint": "https://10.1.2.3/push/x",
            "keys": {"p256dh": browser.p256dh, "auth": browser.auth},
        },
        headers=headers,
    )
    assert refused.status_code == 422
    assert "cannot send to" in refused.json()["error"]
    saved = await client.post(
        "/push/subscriptions",
        json={
            "endpoint": browser.endpoint,
            "keys": {"p256dh": browser.p256dh, "auth": browser.auth},
            "time_zone": "America/New_York",
        },
        headers={**headers, "user-agent": "Mozilla/5.0 (Linux; Android 15) Chrome/156.0 Mobile"},
    )
    assert saved.status_code == 200, saved.text
    rows = await PushSubscription.select().where(PushSubscription.member == member.id)
    assert [(r["endpoint"], r["device_name"], r["active"]) for r in rows] == [
        (browser.endpoint, "Chrome on Android", True)
    ]
    assert (await preferences.preferences_of(member.id)).time_zone == "America/New_York"
    nonsense = await client.post("/push/subscriptions", json={"keys": "x"}, headers=headers)
    assert nonsense.status_code == 422


async def test_a_renewed_subscription_replaces_the_old_device(
    client: AsyncTestClient,  # type: ignore[type-arg]
    push_sink: PushSink,
) -> None:
    member = await sign_in(client)
    old, new = push_sink.new_browser(), push_sink.new_browser()
    await subscribe(member.id, old, "Pixel 9")
    body = {
        "old_endpoint": old.endpoint,
        "subscription": {
            "endpoint": new.endpoint,
            "keys": {"p256dh": new.p256dh, "auth": new.auth},
        },
    }
    # The service worker posts without a CSRF token, but only JSON and with the session.
    answer = await client.post("/push/subscriptions/change", json=body)
    assert answer.status_code == 200, answer.text
    rows = await PushSubscription.select().order_by(PushSubscription.id)
    assert [(r["endpoint"], r["active"], r["device_name"]) for r in rows] == [
        (old.endpoint, False, "Pixel 9"),
        (new.endpoint, True, "Pixel 9"),
    ]
    stranger = await client.post(
        "/push/subscriptions/change", json={**body, "old_endpoint": "https://example.com/x"}
    )
    assert stranger.status_code == 404
    form = await client.post(
        "/push/subscriptions/change",
        content=b"old_endpoint=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code in {400, 415}


# --- The Notifications page -----------------------------------------------------------------


async def test_member_sets_switches_quiet_hours_and_time_zone(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    member = await sign_in(client)
    headers = await csrf(client, "/me", accept=None)
    page = await client.get("/notifications", headers=HTML)
    assert page.status_code == 200
    assert 'value="21:00"' in page.text and 'value="08:00"' in page.text
    bad = await client.post(
        "/notifications/preferences",
        data={
            "content": "on",
            "quiet_start": "25:00",
            "quiet_end": "07:30",
            "time_zone": "Mars/Olympus",
        },
        headers={**headers, "hx-request": "true"},
    )
    assert bad.status_code == 422
    assert 'aria-invalid="true" aria-describedby="quiet_start-error' in bad.text
    assert 'id="time_zone-error"' in bad.text
    assert await preferences.preferences_of(member.id) == Preferences()
    good = await client.post(
        "/notifications/preferences",
        data={
            "content": "on",
            "reward": "on",
            "quiet_start": "22:30",
            "quiet_end": "07:15",
            "time_zone": "Europe/Lisbon",
        },
        headers={**headers, "hx-request": "true"},
    )
    assert good.status_code == 200
    assert "Your notification settings are saved." in good.text
    assert await preferences.preferences_of(member.id) == Preferences(
        content=True,
        referral=False,
        reward=True,
        campaign=False,
        event=False,  # unticked: event reminders are a switch of their own
        quiet_start=22 * 60 + 30,
        quiet_end=7 * 60 + 15,
        time_zone="Europe/Lisbon",
    )


async def test_send_me_a_test_reaches_the_device_and_a_device_turned_off_gets_nothing(
    client: AsyncTestClient,  # type: ignore[type-arg]
    push_sink: PushSink,
) -> None:
    member = await sign_in(client)
    headers = {**(await csrf(client, "/me", accept=None)), "hx-request": "true"}
    phone, laptop = push_sink.new_browser(), push_sink.new_browser()
    phone_id = await subscribe(member.id, phone, "Pixel 9")
    await subscribe(member.id, laptop, "Firefox on Linux")
    answer = await client.post("/notifications/test", headers=headers)
    assert "on its way to your 2 devices" in answer.text
    await wait_for_sink(push_sink, 2)
    assert {r.endpoint for r in push_sink.accepted()} == {phone.endpoint, laptop.endpoint}
    assert push_sink.accepted()[0].payload["title"] == "Notifications work"

    off = await client.post(f"/notifications/devices/{phone_id}", data={}, headers=headers)
    assert off.status_code == 200 and "off" in off.text
    answer = await client.post("/notifications/test", headers=headers)
    assert "on its way to your device." in answer.text
    await wait_for_sink(push_sink, 3)
    assert [r.endpoint for r in push_sink.accepted()].count(phone.endpoint) == 1
    someone_else = await make_member()
    other_id = await subscribe(someone_else.id, push_sink.new_browser())
    stolen = await client.post(f"/notifications/devices/{other_id}", data={}, headers=headers)
    assert stolen.status_code == 404


# --- Quiet hours and nudges ------------------------------------------------------------------


def test_quiet_hours_end_in_the_members_time_zone() -> None:
    paris = Preferences()
    assert preferences.quiet_until(paris, AFTERNOON) is None
    assert preferences.quiet_until(paris, NIGHT) == NEXT_MORNING
    early = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)  # 06:00 in Paris, still quiet
    assert preferences.quiet_until(paris, early) == NEXT_MORNING
    tokyo = Preferences(time_zone="Asia/Tokyo")  # 22:00 in Tokyo at 13:00 UTC
    assert preferences.quiet_until(tokyo, AFTERNOON) == datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    daytime = Preferences(quiet_start=12 * 60, quiet_end=15 * 60)
    assert preferences.quiet_until(daytime, AFTERNOON) == datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
    never = Preferences(quiet_start=0, quiet_end=0)
    assert preferences.quiet_until(never, NIGHT) is None


async def nudges_of(member_id: int) -> list[dict[str, Any]]:
    return await Nudge.select().where(Nudge.member == member_id).order_by(Nudge.id)


async def test_a_referral_nudge_goes_at_once_but_waits_for_the_end_of_quiet_hours(
    database: str,
) -> None:
    member = await make_member(language="fr")
    await subscribe(member.id, fcm_browser())
    await nudge_referral_stage(
        member.id, "Chloé", "entretien prévu", "/referrals/3", AFTERNOON, key="h1"
    )
    assert await send_due_nudges(AFTERNOON, daily_cap=3) == 1
    [sent] = await payloads()
    assert sent["title"] == "Des nouvelles de votre recommandation"
    assert sent["body"] == "Chloé\u00a0: entretien prévu"  # French puts a no-break space before ":"
    assert sent["url"] == "/referrals/3" and sent["kind"] == "referral"

    await nudge_referral_stage(member.id, "Chloé", "offre faite", "/referrals/3", NIGHT, key="h2")
    assert await send_due_nudges(NIGHT, daily_cap=3) == 0
    [waiting] = [n for n in await nudges_of(member.id) if n["state"] == "waiting"]
    assert waiting["due_at"] == NEXT_MORNING
    assert await send_due_nudges(NEXT_MORNING - timedelta(minutes=1), daily_cap=3) == 0
    assert await send_due_nudges(NEXT_MORNING, daily_cap=3) == 1
    assert len(await payloads()) == 2


async def test_new_content_arriving_together_is_one_notification(database: str) -> None:
    member = await make_member()
    await subscribe(member.id, fcm_browser())
    for minute, title in enumerate(["Our new Lyon office", "Backend developer", "Sales intern"]):
        at = AFTERNOON + timedelta(minutes=minute)
        await nudge_new_content([member.id], [title], "/", at, key=f"item-{minute}")
    # Again for the same publication: nudged once.
    await nudge_new_content([member.id], ["Sales intern"], "/", AFTERNOON, key="item-2")
    assert await send_due_nudges(AFTERNOON + timedelta(minutes=5), daily_cap=3) == 0
    assert await send_due_nudges(AFTERNOON + CONTENT_BATCH_WINDOW + timedelta(minutes=2), 3) == 1
    [sent] = await payloads()
    assert sent["title"] == "3 new posts to share"
    assert sent["body"] == "Our new Lyon office · Backend developer · Sales intern"
    assert {n["state"] for n in await nudges_of(member.id)} == {"sent"}


async def test_a_reward_is_nudged_once_and_switches_are_respected(database: str) -> None:
    member = await make_member()
    await subscribe(member.id, fcm_browser())
    assert await nudge_reward_affordable(member.id, 7, "A day off", "/rewards/7", AFTERNOON) == 1
    assert await nudge_reward_affordable(member.id, 7, "A day off", "/rewards/7", AFTERNOON) == 0
    await send_due_nudges(AFTERNOON, daily_cap=3)
    later = AFTERNOON + timedelta(days=3)
    assert await nudge_reward_affordable(member.id, 7, "A day off", "/rewards/7", later) == 0
    assert [p["body"] for p in await payloads()] == ["You have enough points for A day off."]

    await preferences.save_preferences(member.id, Preferences(reward=False), AFTERNOON)
    assert await nudge_reward_affordable(member.id, 8, "Headphones", "/rewards/8", later) == 0
    # Switched off after the nudge was written, before it went out: dropped, not sent.
    await nudge_referral_stage(member.id, "Tom", "hired", "/referrals/1", later, key="h9")
    await preferences.save_preferences(member.id, Preferences(referral=False), later)
    assert await send_due_nudges(later, daily_cap=3) == 0
    assert (await nudges_of(member.id))[-1]["state"] == NudgeState.dropped.value
    assert len(await payloads()) == 1


async def test_at_most_the_daily_cap_and_the_rest_waits_for_a_free_slot(database: str) -> None:
    member = await make_member()
    await subscribe(member.id, fcm_browser())
    for n in range(3):
        at = AFTERNOON + timedelta(hours=n)
        await nudge_reward_affordable(member.id, n, f"Reward {n}", "/rewards", at)
        assert await send_due_nudges(at, daily_cap=2) == (1 if n < 2 else 0)
    [waiting] = [n for n in await nudges_of(member.id) if n["state"] == "waiting"]
    # The first of the day left at 13:00 UTC: a slot frees 24 h later (14:00 in Paris).
    assert waiting["due_at"] == AFTERNOON + timedelta(days=1)
    assert await send_due_nudges(AFTERNOON + timedelta(days=1), daily_cap=2) == 1
    assert len(await payloads()) == 3


async def test_the_weekly_summary_and_re_engagement_nudges(database: str) -> None:
    member = await make_member()
    await subscribe(member.id, fcm_browser())
    figures = WeeklyFigures(shares=4, visits=31, applications=1)
    assert await nudge_weekly_summary(member.id, figures, "2026-W47", AFTERNOON) == 1
    assert await nudge_weekly_summary(member.id, figures, "2026-W47", AFTERNOON) == 0
    quiet_week = WeeklyFigures(shares=0, visits=0, applications=0)
    assert await nudge_weekly_summary(member.id, quiet_week, "2026-W48", AFTERNOON) == 0
    await send_due_nudges(AFTERNOON, daily_cap=3)
    [summary] = await payloads()
    assert summary["body"] == "4 shares · 31 visits · 1 application"

    token = await create_session(member.id)
    assert token
    await Session.update({Session.last_seen_at: AFTERNOON - timedelta(days=20)}).where(
        Session.member == member.id
    )
    active = await make_member()
    await subscribe(active.id, fcm_browser())
    await create_session(active.id)
    await Session.update({Session.last_seen_at: AFTERNOON - timedelta(days=1)}).where(
        Session.member == active.id
    )
    assert await nudge_inactive_members(AFTERNOON, after_days=14) == 1
    assert await nudge_inactive_members(AFTERNOON + timedelta(days=1), after_days=14) == 0
    await send_due_nudges(AFTERNOON + timedelta(hours=1), daily_cap=3)
    titles = [p["title"] for p in await payloads()]
    assert titles == ["Your week on Relay", "We miss you on Relay"]


# --- Campaigns -------------------------------------------------------------------------------


async def test_audience_targeting(database: str) -> None:
    sales, tech = await make_team("Sales"), await make_team("Tech")
    paris, lyon = await make_site("Paris"), await make_site("Lyon")
    ana = await make_member(team=sales, site=paris)
    ben = await make_member(team=sales, site=lyon)
    cléo = await make_member(team=tech, site=paris, role="editor")
    dan = await make_member(team=tech, site=lyon)
    await make_member(team=sales, active=False)
    ids = lambda audience: campaigns.audience_member_ids(audience, AFTERNOON)  # noqa: E731
    assert await ids(Audience()) == sorted(m.id for m in [ana, ben, cléo, dan])
    assert await ids(Audience(team_ids=[sales])) == [ana.id, ben.id]
    assert await ids(Audience(team_ids=[sales, tech], site_ids=[paris])) == [ana.id, cléo.id]
    assert await ids(Audience(roles=["editor"])) == [cléo.id]
    await create_session(ben.id)
    await Session.update({Session.last_seen_at: AFTERNOON - timedelta(days=2)}).where(
        Session.member == ben.id
    )
    assert await ids(Audience(activity="active", days=7)) == [ben.id]
    assert await ids(Audience(team_ids=[sales], activity="inactive", days=7)) == [ana.id]
    # Nobody has shared yet (the shares arrive with the content issue): nobody excluded.
    assert await ids(Audience(team_ids=[sales], never_shared=True)) == [ana.id, ben.id]
    await preferences.save_preferences(ana.id, Preferences(campaign=False), AFTERNOON)
    assert await ids(Audience(team_ids=[sales])) == [ben.id]


def compose(**fields: str) -> dict[str, str]:
    return {"title": "Our Lyon office opens", "body": "Come and see", "url": "/", **fields}


async def test_editor_previews_tests_schedules_and_cancels_a_campaign(
    client: AsyncTestClient,  # type: ignore[type-arg]
    push_sink: PushSink,
) -> None:
    editor = await sign_in(client, "editor")
    await subscribe(editor.id, push_sink.new_browser())
    headers = {**(await csrf(client, "/me", accept=None)), "hx-request": "true"}
    page = await client.get("/campaigns", headers=HTML)
    assert page.status_code == 200 and "New push campaign" in page.text

    bad = await client.post(
        "/campaigns",
        data=compose(title="", url="https://evil.example/phish", action="preview"),
        headers=headers,
    )
    assert bad.status_code == 422
    assert 'aria-describedby="title-error' in bad.text and 'id="url-error"' in bad.text

    preview = await client.post("/campaigns", data=compose(action="preview"), headers=headers)
    assert preview.status_code == 200 and "Notification preview" in preview.text
    test = await client.post("/campaigns", data=compose(action="test"), headers=headers)
    assert "A test is on its way" in test.text
    await wait_for_sink(push_sink, 1)
    assert push_sink.accepted()[-1].payload["title"] == "Our Lyon office opens"
    assert await Campaign.count() == 0

    scheduled = await client.post(
        "/campaigns",
        data=compose(action="send", when="later", scheduled_at="2099-01-01T09:00"),
        headers=headers,
    )
    assert scheduled.status_code == 204
    target = scheduled.headers["hx-redirect"]
    shown = await client.get(target, headers=HTML)
    assert "Scheduled for Jan 1, 2099, 8:00\u202fAM UTC" in shown.text  # 09:00 in Paris
    cancelled = await client.post(f"{target}/cancel", headers=headers)
    assert cancelled.status_code == 204
    assert "Cancelled" in (await client.get(target, headers=HTML)).text
    [row] = await Campaign.select()
    assert row["state"] == "cancelled"
    # Its time comes: a cancelled campaign is never sent.
    await campaigns.send_due_campaigns(datetime(2099, 1, 2, tzinfo=UTC))
    assert await PushDelivery.count().where(PushDelivery.campaign == row["id"]) == 0

    past = await client.post(
        "/campaigns",
        data=compose(action="send", when="later", scheduled_at="2001-01-01T09:00"),
        headers=headers,
    )
    assert past.status_code == 422 and "Choose a time in the future." in past.text


async def test_a_campaign_to_a_team_is_delivered_counted_and_reported(
    client: AsyncTestClient,  # type: ignore[type-arg]
    push_sink: PushSink,
) -> None:
    sales, tech = await make_team("Sales"), await make_team("Tech")
    ana, ben = await make_member(team=sales), await make_member(team=tech)
    ana_phone, ben_phone = push_sink.new_browser(), push_sink.new_browser()
    await subscribe(ana.id, ana_phone)
    await subscribe(ben.id, ben_phone)
    offer = await make_item("offer", "Data engineer")
    await sign_in(client, "editor")
    headers = {**(await csrf(client, "/me", accept=None)), "hx-request": "true"}
    sent = await client.post(
        "/campaigns",
        data=compose(action="send", when="now", teams=str(sales), url=f"/items/{offer}"),
        headers=headers,
    )
    assert sent.status_code == 204, sent.text
    await wait_for_sink(push_sink, 1)
    [received] = push_sink.accepted()
    assert received.endpoint == ana_phone.endpoint
    assert received.payload["url"] == f"/items/{offer}"
    assert received.payload["title"] == "Our Lyon office opens"
    [campaign] = await Campaign.select()
    assert received.payload["tag"] == f"campaign-{campaign['id']}"

    opened = await client.post("/push/opened", json={"id": received.payload["id"]})
    assert opened.json() == {"counted": True}
    again = await client.post("/push/opened", json={"id": received.payload["id"]})
    assert again.json() == {"counted": False}
    forged = await client.post("/push/opened", json={"id": "0" * 32})
    assert forged.json() == {"counted": False}
    report = await client.get(sent.headers["hx-redirect"], headers=HTML)
    stats = dict(re.findall(r'data-stat="(\w+)">(\d+)<', report.text))
    assert stats == {
        "members": "1",
        "targeted": "1",
        "sent": "1",
        "pending": "0",
        "failed": "0",
        "pruned": "0",
        "opened": "1",
        "shares": "0",
    }


async def test_a_scheduled_campaign_is_sent_once_when_due(
    database: str, settings: Settings
) -> None:
    team = await make_team()
    member = await make_member(team=team)
    await subscribe(member.id, fcm_browser())
    author = await make_member(role="editor")
    draft = campaigns.CampaignDraft(
        title="Quarterly results",
        body="",
        url="/",
        image="",
        audience=Audience(team_ids=[team]),
        scheduled_at=AFTERNOON + timedelta(hours=2),
    )
    campaign_id = await campaigns.create_campaign(draft, author.id, AFTERNOON)
    await run_jobs(settings, AFTERNOON + timedelta(hours=1))
    assert await PushDelivery.count() == 0
    for _ in range(2):
        await run_jobs(settings, AFTERNOON + timedelta(hours=2))
    assert await PushDelivery.count().where(PushDelivery.campaign == campaign_id) == 1
    assert not await campaigns.cancel_campaign(campaign_id)


async def test_employees_cannot_reach_campaigns(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await sign_in(client, "employee")
    headers = await csrf(client, "/me", accept=None)
    assert (await client.get("/campaigns", headers=HTML)).status_code == 403
    refused = await client.post("/campaigns", data=compose(action="send"), headers=headers)
    assert refused.status_code == 403
    assert await Campaign.count() == 0
    for path in ("/campaigns/links?link_q=a", "/campaigns/reach?teams=1"):
        assert (await client.get(path, headers=HTML)).status_code == 403
    me = await client.get("/me", headers=HTML)
    assert 'href="/campaigns"' not in me.text and 'href="/notifications"' in me.text


async def test_job_runners_in_several_processes_never_send_a_nudge_twice(
    database: str, settings: Settings
) -> None:
    members = [await make_member() for _ in range(5)]
    for member in members:
        await subscribe(member.id, fcm_browser())
        await nudge_reward_affordable(member.id, 1, "A day off", "/rewards/1", AFTERNOON)
    # Concurrent rounds, each on its own connection (as separate worker processes would be).
    await asyncio.gather(*(run_jobs(settings, AFTERNOON) for _ in range(4)))
    assert await PushDelivery.count() == 5
    assert await Nudge.count().where(Nudge.state == "sent") == 5


async def test_the_campaigns_list_shows_fifty_a_page_and_the_older_ones_on_demand(
    client: AsyncTestClient,
) -> None:
    await sign_in(client, "editor")
    await Campaign.insert(
        *(Campaign(title=f"Campaign {n:03d}", state="sent", sent_at=now()) for n in range(53))
    )
    first = await client.get("/campaigns", headers=HTML)
    assert "Campaign 052" in first.text and "Campaign 002" not in first.text
    more = re.search(r'hx-get="(/campaigns\?before=\d+)"', first.text).group(1)  # type: ignore[union-attr]
    rest = await client.get(more, headers={**HTML, "HX-Request": "true"})
    assert "Campaign 002" in rest.text and "Campaign 000" in rest.text
    assert "Campaign 003" not in rest.text and "before=" not in rest.text
    assert "compose" not in rest.text


async def test_a_campaign_links_only_to_a_page_that_exists_chosen_from_published_items(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    offer = await make_item("offer", "Data engineer")
    draft = await make_item("story", "Draft news", published=False)
    await sign_in(client, "editor")
    headers = {**(await csrf(client, "/me", accept=None)), "hx-request": "true"}

    # The picker lists published items matching what the editor types (drafts never).
    found = await client.get("/campaigns/links?link_q=data", headers={"hx-request": "true"})
    assert found.status_code == 200 and "Data engineer" in found.text
    assert f'name="pick" value="{offer}"' in found.text
    none = await client.get("/campaigns/links?link_q=draft", headers={"hx-request": "true"})
    assert "Draft news" not in none.text and "No published item matches." in none.text
    # Choosing one fills in the link and sends nothing.
    picked = await client.post("/campaigns", data=compose(pick=str(offer)), headers=headers)
    assert picked.status_code == 200 and f'value="/items/{offer}"' in picked.text
    assert await Campaign.count() == 0

    for url, sentence in (
        ("/offers/12", "No page of Relay is at /offers/12"),
        (f"/items/{draft}", f"/items/{draft} is not a published item"),
        ("/items/999999", "/items/999999 is not a published item"),
        ("/items/99999999999999999999", "is not a published item"),
        ("/rewards/424242", "/rewards/424242 is not an available reward."),
        ("/pipeline/1", "Members cannot open /pipeline/1"),
        ("https://evil.example/x", "Link to a page of Relay"),
    ):
        refused = await client.post(
            "/campaigns", data=compose(action="preview", url=url), headers=headers
        )
        assert refused.status_code == 422, url
        assert sentence in refused.text, (url, refused.text)
        assert 'aria-describedby="url-error' in refused.text
    for url in ("/", "/rewards", "/notifications?x=1", f"/items/{offer}", f"/items/{offer}/share"):
        fine = await client.post(
            "/campaigns", data=compose(action="preview", url=url), headers=headers
        )
        assert fine.status_code == 200, (url, fine.text)
    assert await Campaign.count() == 0


async def test_the_editor_sees_the_audience_reach_before_sending(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    sales, tech = await make_team("Sales"), await make_team("Tech")
    ana = await make_member(team=sales)
    await make_member(team=sales)
    await make_member(team=tech)
    await subscribe(ana.id, fcm_browser())
    await subscribe(ana.id, fcm_browser())
    await sign_in(client, "editor")

    def reach(html: str) -> str:
        match = re.search(r'<div id="audience-reach".*?</div>', html, re.S)
        assert match is not None, html
        return re.sub(r"\s+", " ", match.group(0))

    page = await client.get("/campaigns", headers=HTML)
    everyone = reach(page.text)  # three members and the editor
    assert (
        "4 members in this audience" in everyone and "2 devices with notifications on" in everyone
    )
    assert "No device would receive it" not in everyone
    sales_only = reach(
        (await client.get(f"/campaigns/reach?teams={sales}", headers={"hx-request": "true"})).text
    )
    assert "2 members in this audience" in sales_only and "2 devices" in sales_only
    tech_only = reach(
        (await client.get(f"/campaigns/reach?teams={tech}", headers={"hx-request": "true"})).text
    )
    assert "1 member in this audience" in tech_only and "0 devices" in tech_only
    assert "No device would receive it" in tech_only
    # Nonsense in the query is ignored, never a server error.
    odd = await client.get("/campaigns/reach?teams=x&days=-4&roles=god", headers=HTML)
    assert odd.status_code == 200
