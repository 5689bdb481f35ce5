"""Visits to tracked links: previews, page views and genuine clicks, counted honestly."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
from datetime import timedelta
from typing import Any

import httpx
from litestar.testing import AsyncTestClient

from app.activity.service import record_activity
from app.activity.tables import Activity, ActivityKind
from app.candidates import service
from app.candidates.tables import Visit, VisitorKey
from app.core.clock import now
from app.sharing import service as sharing
from tests.conftest import LiveServer
from tests.factories import make_item, make_member, shared_offer
from tests.helpers import HTML, PHONE, all_recorded, open_link, sign_in
from tests.reverse_proxy import client_behind_proxy

DESKTOP = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
LINKEDIN = "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)"


async def test_a_preview_bot_and_a_head_request_are_previews_not_clicks(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    sharer, item_id, code = await shared_offer()
    page = await open_link(client, code, LINKEDIN)
    assert "Data engineer" in page.text and "data-beacon" not in page.text
    head = await client.head(f"/r/{code}", headers={"user-agent": PHONE})
    assert head.status_code == 200
    assert (await client.head("/r/nosuchcode", headers={"user-agent": PHONE})).status_code == 404
    await all_recorded(client)
    visits = await Visit.select(Visit.preview)
    assert [v["preview"] for v in visits] == [True, True]
    assert await sharing.genuine_clicks_by_item(sharer.id, [item_id]) == {item_id: 0}


async def test_the_same_visitor_twice_in_a_day_is_one_click_and_another_visitor_is_another(
    env: dict[str, str],
) -> None:
    sharer, item_id, code = await shared_offer()
    async with client_behind_proxy(env) as client:
        await open_link(client, code, PHONE, address="203.0.113.7")
        await open_link(client, code, PHONE, address="203.0.113.7")
        await all_recorded(client)
        assert await sharing.genuine_clicks_by_item(sharer.id, [item_id]) == {item_id: 1}
        await open_link(client, code, DESKTOP, address="198.51.100.4")
        await all_recorded(client)
    assert await sharing.genuine_clicks_by_item(sharer.id, [item_id]) == {item_id: 2}
    assert await Visit.count().where(Visit.preview.eq(False)) == 3
    # Visitors are keyed hashes: neither the address nor the user agent is stored.
    stored = " ".join(str(v) for v in await Visit.select())
    assert "203.0.113" not in stored and "Android" not in stored
    click = await Activity.select().where(Activity.kind == "click").first()
    assert click is not None and click["member"] == sharer.id and click["item"] == item_id


async def test_the_page_is_the_same_for_everyone_but_each_visitor_gets_their_own_tokens(
    env: dict[str, str],
) -> None:
    """The page is rendered once and kept a few seconds: only the tokens differ per visitor."""
    from app.core.settings import Settings
    from app.main import create_app

    _sharer, _item_id, code = await shared_offer()
    settings = Settings.from_env(env)
    app = create_app(settings)
    pages = []
    for user_agent in (PHONE, DESKTOP):
        # Two browsers: each its own client, so each gets its own CSRF cookie.
        async with AsyncTestClient(app, base_url="http://localhost:8000") as client:
            page = await client.get(f"/r/{code}", headers={**HTML, "user-agent": user_agent})
            assert page.status_code == 200 and "Data engineer" in page.text
            csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
            beacon = re.search(r'data-beacon-token="([^"]+)"', page.text)
            assert csrf and beacon and "relayslot" not in page.text
            assert csrf.group(1) == client.cookies.get("relay_csrf")
            pages.append((page.text, csrf.group(1), beacon.group(1)))
    (first, csrf_1, beacon_1), (second, csrf_2, beacon_2) = pages
    assert csrf_1 != csrf_2 and beacon_1 != beacon_2
    assert first.replace(csrf_1, "").replace(beacon_1, "") == second.replace(csrf_2, "").replace(
        beacon_2, ""
    )


async def test_a_view_without_the_beacon_or_with_a_forged_one_is_not_a_genuine_click(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    sharer, item_id, code = await shared_offer()
    await open_link(client, code, PHONE, beacon=False)
    forged = await client.post(
        f"/r/{code}/seen", data={"token": "1700000000." + "0" * 32}, headers={"user-agent": PHONE}
    )
    assert forged.status_code == 400
    # A token is bound to the visitor that loaded the page: another browser cannot replay it.
    page = await client.get(f"/r/{code}", headers={**HTML, "user-agent": DESKTOP})
    token = re.search(r'data-beacon-token="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    replayed = await client.post(
        f"/r/{code}/seen", data={"token": token}, headers={"user-agent": PHONE}
    )
    assert replayed.status_code == 400
    await all_recorded(client)
    assert await Visit.count() == 2
    assert await sharing.genuine_clicks_by_item(sharer.id, [item_id]) == {item_id: 0}


async def test_the_sharers_own_click_is_not_counted_even_once_signed_out(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    item_id = await make_item("offer", "Data engineer")
    sharer = await sign_in(client, "employee", name="Léa Martin")
    code = await sharing.link_code(sharer.id, item_id)
    await open_link(client, code, PHONE)
    client.cookies.clear()  # signed out, same phone and address
    await open_link(client, code, PHONE)
    await all_recorded(client)
    assert await sharing.genuine_clicks_by_item(sharer.id, [item_id]) == {item_id: 0}
    # Someone else at the same address (the office's): the sharer's own clicks did not take
    # the address's hour.
    await open_link(client, code, DESKTOP)
    await all_recorded(client)
    assert await sharing.genuine_clicks_by_item(sharer.id, [item_id]) == {item_id: 1}


def rotating_agents(count: int) -> list[str]:
    """What a click farm sends: a different browser each time, all from one machine."""
    return [
        f"Mozilla/5.0 (Linux; Android {10 + n % 5}; Pixel {n}) AppleWebKit/537.36 "
        f"(KHTML, like Gecko) Chrome/{100 + n}.0.0.0 Mobile Safari/537.36"
        for n in range(count)
    ]


async def test_rotating_user_agents_from_one_address_earns_one_click_an_hour(
    env: dict[str, str],
) -> None:
    """1,000 beacons from one address, each from a "new browser": one genuine click for each
    link in the hour; a second address earns a second."""
    sharer, item_id, code = await shared_offer()
    other_item = await make_item("story", "Our new office")
    other_code = await sharing.link_code(sharer.id, other_item)
    async with client_behind_proxy(env) as client:
        for n, agent in enumerate(rotating_agents(1000)):
            await open_link(client, code if n % 10 else other_code, agent, address="203.0.113.7")
        await open_link(client, code, DESKTOP, address="2001:db8:1:2::5")
        # The same IPv6 subscriber's block (a /64) is one address.
        await open_link(client, code, PHONE, address="2001:db8:1:2::6")
        await all_recorded(client)
    assert await Visit.count().where(Visit.preview.eq(False)) == 1002
    assert await sharing.genuine_clicks_by_item(sharer.id, [item_id, other_item]) == {
        item_id: 2,
        other_item: 1,
    }


async def test_a_link_counts_one_click_per_address_in_each_hour(database: str) -> None:
    """The window is a UTC hour: the next hour, another browser at that address counts."""
    from app.candidates.visits import Noted, write_batch
    from app.web.ratelimit import MemoryCounter

    sharer, item_id, code = await shared_offer()
    key = await service.key_of_day(now().date())
    office = service.address_hash(key, "203.0.113.7")
    hour = now().replace(minute=0, second=0, microsecond=0)
    store = MemoryCounter()
    await write_batch(
        [
            Noted("beacon", code, "browser-1", hour, address=office),
            Noted("beacon", code, "browser-2", hour + timedelta(minutes=59), address=office),
        ],
        store,
    )
    assert await sharing.genuine_clicks_by_item(sharer.id, [item_id]) == {item_id: 1}
    # Written again (a batch retried after a failure): the first browser keeps its hour.
    await write_batch([Noted("beacon", code, "browser-1", hour, address=office)], store)
    await write_batch(
        [Noted("beacon", code, "browser-2", hour + timedelta(minutes=60), address=office)], store
    )
    assert await sharing.genuine_clicks_by_item(sharer.id, [item_id]) == {item_id: 2}


async def test_the_click_window_holds_across_processes_sharing_redis(env: dict[str, str]) -> None:
    import redis.asyncio as redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    await redis.from_url(url).flushdb()
    sharer, item_id, code = await shared_offer()
    async with (
        client_behind_proxy(env, REDIS_URL=url) as first,
        client_behind_proxy(env, REDIS_URL=url) as second,
    ):
        for n, agent in enumerate(rotating_agents(20)):
            await open_link(first if n % 2 else second, code, agent, address="203.0.113.7")
        await all_recorded(first)
        await all_recorded(second)
    assert await sharing.genuine_clicks_by_item(sharer.id, [item_id]) == {item_id: 1}


async def test_visitor_keys_rotate_daily_and_old_ones_are_deleted(database: str) -> None:
    today = now().date()
    old = await service.key_of_day(today - timedelta(days=5))
    key = await service.key_of_day(today)
    assert key == await service.key_of_day(today) and key != old
    assert [r["day"] for r in await VisitorKey.select(VisitorKey.day)] == [today.isoformat()]
    one = service.visitor_hash(key, "203.0.113.7", PHONE)
    assert one != service.visitor_hash(old, "203.0.113.7", PHONE) and len(one) == 32


async def test_activity_is_recorded_once_per_key(database: str) -> None:
    member = await make_member()
    item_id = await make_item("offer", "Data engineer")
    assert await record_activity(
        ActivityKind.stage, "7:interview", member=member.id, item=item_id, stage="interview"
    )
    assert not await record_activity(ActivityKind.stage, "7:interview", member=member.id)
    rows = await Activity.select(Activity.kind, Activity.detail).where(Activity.member == member.id)
    assert [(r["kind"], json.loads(r["detail"])) for r in rows] == [
        ("stage", {"stage": "interview"})
    ]


async def test_the_admin_page_explains_and_counts_clicks_and_is_for_admins_only(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    _sharer, _item_id, code = await shared_offer()
    await open_link(client, code, LINKEDIN)
    await open_link(client, code, PHONE)
    await open_link(client, code, PHONE, beacon=False)
    await all_recorded(client)
    await sign_in(client, "employee")
    assert (await client.get("/admin/clicks", headers=HTML)).status_code == 403
    await sign_in(client, "admin")
    page = await client.get("/admin/clicks", headers=HTML)
    assert page.status_code == 200
    figures = re.findall(r'<th scope="row">([^<]+)</th><td>(\d+)</td><td>(\d+)</td>', page.text)
    assert figures == [
        ("Previews", "1", "1"),
        ("Page views", "2", "2"),
        ("Genuine clicks", "1", "1"),
    ]
    assert "keyed hash" in page.text


def test_a_burst_of_visits_then_a_clean_shutdown_loses_none(
    live_server: LiveServer, seed: Any
) -> None:
    _sharer, _item_id, code = seed(shared_offer)
    burst = 300

    async def visit_many() -> None:
        async with httpx.AsyncClient(base_url=live_server.url) as http:
            for start in range(0, burst, 50):
                pages = await asyncio.gather(
                    *(
                        http.get(f"/r/{code}", headers={"user-agent": PHONE})
                        for _ in range(start, min(start + 50, burst))
                    )
                )
                assert all(p.status_code == 200 for p in pages)

    asyncio.run(visit_many())
    live_server.process.send_signal(signal.SIGTERM)
    assert live_server.process.wait(timeout=20) == 0

    async def count() -> int:
        return await Visit.count()

    assert seed(count) == burst


def test_previews_are_told_from_people_by_user_agent_and_method() -> None:
    from app.candidates.visits import is_preview

    previews = [
        LINKEDIN,
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Twitterbot/1.0",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "WhatsApp/2.23.20.0 A",
        "TelegramBot (like TwitterBot)",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "",
        # Automation: headless browsers, command-line clients, HTTP libraries.
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
        "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) "
        "PhantomJS/2.1.1 Safari/538.1",
        "python-requests/2.32.3",
        "Python-urllib/3.11",
        "curl/8.5.0",
        "Wget/1.21.4",
        "Go-http-client/2.0",
        "okhttp/4.12.0",
        "axios/1.7.2",
        "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
        "Java/17.0.2",
        "libwww-perl/6.72",
        "Scrapy/2.11.2 (+https://scrapy.org)",
        "Mozilla/5.0 Puppeteer",
        "Playwright/1.48.0",
        "Mozilla/5.0 (X11; Linux x86_64) Selenium/4.25",
        "Python/3.12 aiohttp/3.10.5",
        "python-httpx/0.27.2",
        "httpx/0.27",
    ]
    people = [
        PHONE,
        DESKTOP,
        PHONE + " [LinkedInApp]/9.29.1",
        PHONE + " [FB_IAB/FB4A;FBAV/440.0.0.31.105;]",
        PHONE + " Instagram 309.1.0.41.113 Android",
    ]
    assert [a for a in previews if not is_preview("GET", a)] == []
    assert [a for a in people if is_preview("GET", a)] == []
    assert is_preview("HEAD", PHONE)
