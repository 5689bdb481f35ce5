"""Push in Chromium: opt in after a tap, HR sends a campaign, the notification shows, a tap opens it.

``pushManager.subscribe`` is stubbed (an init script) to return a subscription at the push
sink, made with a ``FakeBrowser`` key pair so the sink can decrypt what Relay sends. The
decrypted payload is then given to the real service worker with CDP's
``ServiceWorker.deliverPushMessage``. Automation cannot tap a system notification, so the
test asks the service worker (test builds only: ``PUSH_ALLOWED_TEST_HOSTS`` set) to run its
``notificationclick`` handler for the notification it shows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from app.accounts.tables import Member
from app.notifications.tables import NotificationOpen
from tests.browser import check_accessibility, finish_phone, open_phone
from tests.factories import make_member, make_team, session_cookie
from tests.helpers import eventually, free_port
from tests.push_sink import FakeBrowser, PushSink


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "PUSH_ALLOWED_TEST_HOSTS": "127.0.0.1", "RELAY_EMBEDDED_WORKER": "on"}


@pytest.fixture
def sink(env: dict[str, str]) -> Iterator[PushSink]:
    """The push sink, checking tokens against the key the live server made in the data dir."""
    from app.core.settings import Settings
    from push.vapid import application_server_key

    with PushSink(application_server_key(Settings.from_env(env)), port=free_port()) as sink:
        yield sink


def stub_push_manager(page: Page, device: FakeBrowser) -> None:
    subscription = {
        "endpoint": device.endpoint,
        "expirationTime": None,
        "keys": {"p256dh": device.p256dh, "auth": device.auth},
    }
    page.add_init_script(
        """
        (() => {
          const data = __SUBSCRIPTION__;
          let current = null;
          const subscription = { ...data, toJSON: () => data, unsubscribe: async () => true };
          PushManager.prototype.subscribe = async function (options) {
            window.__pushKeyLength = new Uint8Array(options.applicationServerKey).length;
            current = subscription;
            return subscription;
          };
          PushManager.prototype.getSubscription = async function () { return current; };
        })();
        """.replace("__SUBSCRIPTION__", json.dumps(subscription))
    )


def test_member_opts_in_receives_a_team_campaign_and_opening_it_is_counted(
    member_phone: Page,
    browser: Browser,
    live_server: Any,
    sink: PushSink,
    seed: Any,
) -> None:
    phone = member_phone
    device = sink.new_browser()
    stub_push_manager(phone, device)
    phone.context.grant_permissions(["notifications"], origin=live_server.url)

    async def teams() -> tuple[int, tuple[str, str]]:
        sales = await make_team("Sales")
        await Member.update({Member.team: sales}).where(Member.email == "sarah.cohen@example.com")
        await make_member(team=await make_team("Tech"))
        editor = await make_member(role="editor", name="Hélène RH")
        return sales, await session_cookie(editor)

    _sales, editor_cookie = seed(teams)

    # Nothing is asked on page load: the offer waits for a tap.
    phone.goto("/me")
    offer = phone.locator("[data-push-offer]")
    expect(offer).to_be_visible()
    check_accessibility(phone)
    assert phone.evaluate("() => Notification.permission") == "granted"
    assert sink.received == []
    offer.get_by_role("button", name="Tell me about new offers and my rewards").click()
    expect(offer.locator("[data-push-status]")).to_have_text(
        "Notifications are on for this device."
    )
    assert phone.evaluate("() => window.__pushKeyLength") == 65

    # HR sends a campaign to Sarah's team from the Campaigns tab.
    hr = open_phone(browser, live_server.url)
    try:
        hr.context.add_cookies(
            [{"name": editor_cookie[0], "value": editor_cookie[1], "url": live_server.url}]
        )
        hr.goto("/campaigns")
        check_accessibility(hr)
        hr.get_by_label("Title").fill("Open day in Lyon")
        hr.get_by_label("Text").fill("Bring a friend: we are hiring.")
        hr.get_by_label("Link").fill("/notifications")
        hr.get_by_role("checkbox", name="Sales").check()
        hr.get_by_role("button", name="Preview").click()
        expect(hr.get_by_role("img", name="Notification preview")).to_contain_text(
            "Open day in Lyon"
        )
        check_accessibility(hr)
        hr.get_by_role("button", name="Send or schedule").click()
        hr.wait_for_url("**/campaigns/*")
        check_accessibility(hr)

        sink.wait_for(lambda: len(sink.accepted()) == 1)
        [received] = sink.accepted()
        assert received.endpoint == device.endpoint
        payload = received.payload
        assert payload["title"] == "Open day in Lyon"
        assert payload["body"] == "Bring a friend: we are hiring."
        assert payload["url"] == "/notifications"

        # The push service hands the message to the phone's service worker.
        cdp = phone.context.new_cdp_session(phone)
        registrations: list[dict[str, Any]] = []
        cdp.on(
            "ServiceWorker.workerRegistrationUpdated",
            lambda event: registrations.extend(event["registrations"]),
        )
        cdp.send("ServiceWorker.enable")
        scope = f"{live_server.url}/"
        deadline = time.monotonic() + 15
        # CDP events arrive while Playwright talks to the browser: keep it talking until then.
        while not [r for r in registrations if r["scopeURL"] == scope and not r["isDeleted"]]:
            assert time.monotonic() < deadline, "no service worker registration reported"
            phone.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
        [registration] = [r for r in registrations if r["scopeURL"] == scope][-1:]
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {
                "origin": live_server.url,
                "registrationId": registration["registrationId"],
                "data": json.dumps(payload),
            },
        )
        # Wait in the page until the service worker has shown it (up to 10 s).
        shown = phone.evaluate(
            """async () => {
                const registration = await navigator.serviceWorker.ready;
                for (let tries = 0; tries < 200; tries++) {
                    const found = await registration.getNotifications();
                    if (found.length) return found.map(n => ({title: n.title, body: n.body,
                        tag: n.tag, icon: n.icon, badge: n.badge, data: n.data}));
                    await new Promise(resolve => setTimeout(resolve, 50));
                }
                return [];
            }"""
        )
        assert shown == [
            {
                "title": "Open day in Lyon",
                "body": "Bring a friend: we are hiring.",
                "tag": payload["tag"],
                "icon": f"{live_server.url}/static/icons/icon-192.png",
                "badge": f"{live_server.url}/static/icons/icon-64.png",
                "data": {"url": "/notifications", "id": payload["id"]},
            }
        ]

        # A tap: the open Relay window goes to the target, and the open is counted.
        phone.evaluate(
            """tag => navigator.serviceWorker.ready.then(r =>
                r.active.postMessage({type: "test-notification-click", tag}))""",
            payload["tag"],
        )
        phone.wait_for_url("**/notifications")
        expect(phone.get_by_role("heading", name="Notifications", exact=True)).to_be_visible()
        check_accessibility(phone)
        eventually(lambda: seed(NotificationOpen.count) == 1)
        hr.reload()
        expect(hr.locator('[data-stat="opened"]')).to_have_text("1")
        expect(hr.locator('[data-stat="sent"]')).to_have_text("1")
        check_accessibility(hr)
    finally:
        finish_phone(hr)


def test_a_member_turns_a_device_off_on_the_notifications_page(
    member_phone: Page, sink: PushSink, seed: Any, live_server: Any
) -> None:
    phone = member_phone
    device = sink.new_browser()
    stub_push_manager(phone, device)
    phone.context.grant_permissions(["notifications"], origin=live_server.url)
    phone.goto("/notifications")
    check_accessibility(phone)
    phone.get_by_role("button", name="Tell me about new offers and my rewards").click()
    expect(phone.locator("[data-push-status]")).to_have_text(
        "Notifications are on for this device."
    )
    phone.reload()
    check_accessibility(phone)
    phone.get_by_role("button", name="Send me a test").click()
    expect(phone.locator("#devices .notice")).to_contain_text("on its way to your device")
    sink.wait_for(lambda: len(sink.accepted()) == 1)
    assert sink.accepted()[0].payload["title"] == "Notifications work"

    switch = phone.get_by_role("switch", name="Notifications on Chrome on Android")
    switch.uncheck()
    expect(phone.locator("#devices .badge--off")).to_be_visible()
    phone.get_by_role("button", name="Send me a test").click()
    expect(phone.locator("#devices .notice")).to_contain_text("No device receives notifications")

    phone.get_by_label("Until").fill("07:30")
    phone.get_by_role("checkbox", name="Rewards").uncheck()
    phone.get_by_role("button", name="Save notification settings").click()
    expect(phone.get_by_text("Your notification settings are saved.")).to_be_visible()
    check_accessibility(phone)


IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"
)


def test_on_an_iphone_in_the_browser_the_offer_leads_to_the_home_screen_guide(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    async def member_cookie() -> tuple[str, str]:
        return await session_cookie(await make_member(name="Inès Petit"))

    name, value = seed(member_cookie)
    iphone = open_phone(browser, live_server.url, user_agent=IPHONE_UA)
    try:
        iphone.context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
        iphone.goto("/me")
        check_accessibility(iphone)
        iphone.get_by_role("button", name="Tell me about new offers and my rewards").click()
        expect(iphone.locator("[data-push-status]")).to_contain_text(
            "add Relay to your Home Screen first"
        )
        expect(iphone.locator("#ios-install-guide")).to_have_attribute("open", "")
        assert iphone.evaluate("() => Notification.permission") == "default"
    finally:
        finish_phone(iphone)


def test_an_editor_picks_the_campaign_link_and_sees_whom_the_audience_reaches(
    browser: Browser, live_server: Any, seed: Any
) -> None:
    """The link comes from the published items (searched as the editor types) or a page that
    exists; the audience's members and devices are counted as it is chosen, with a warning
    when no device would receive the campaign."""
    from tests.browser import phone_as
    from tests.factories import make_item, subscribe
    from tests.push_sink import fcm_browser

    async def seeded() -> tuple[int, int]:
        sales, tech = await make_team("Sales"), await make_team("Tech")
        ana = await make_member(team=sales, name="Ana Sales")
        await make_member(team=tech, name="Tom Tech")
        await subscribe(ana.id, fcm_browser())
        await make_item("story", "Workshop on the roadmap")
        return sales, await make_item("offer", "Data engineer")

    _sales, offer = seed(seeded)
    hr = phone_as(browser, live_server, seed, role="editor", name="Inès Moreau")
    try:
        hr.goto("/campaigns")
        expect(hr.get_by_role("button", name="Workshop on the roadmap")).to_be_visible()
        check_accessibility(hr)
        reach = hr.locator("#audience-reach")
        expect(reach).to_contain_text("3 members in this audience")
        expect(reach).to_contain_text("1 device with notifications on")

        # Tech has nobody with notifications on: the editor is warned before sending.
        hr.get_by_role("checkbox", name="Tech").check()
        expect(reach).to_contain_text("1 member in this audience")
        expect(reach).to_contain_text("No device would receive it")
        check_accessibility(hr)
        hr.get_by_role("checkbox", name="Tech").uncheck()
        hr.get_by_role("checkbox", name="Sales").check()
        expect(reach).to_contain_text("1 device with notifications on")
        expect(reach).not_to_contain_text("No device would receive it")

        # A page that does not exist is refused next to the field.
        hr.get_by_label("Title").fill("We are hiring")
        hr.get_by_label("Link", exact=True).fill("/offers/12")
        hr.get_by_role("button", name="Preview").click()
        expect(hr.get_by_text("No page of Relay is at /offers/12")).to_be_visible()
        expect(hr.get_by_label("Link", exact=True)).to_have_attribute("aria-invalid", "true")
        check_accessibility(hr)

        # The picker: typed, searched, chosen.
        hr.get_by_label("Find a published item").fill("data")
        expect(hr.get_by_role("button", name="Workshop on the roadmap")).to_have_count(0)
        hr.get_by_role("button", name="Data engineer").click()
        expect(hr.get_by_label("Link", exact=True)).to_have_value(f"/items/{offer}")
        expect(hr.get_by_role("checkbox", name="Sales")).to_be_checked()
        hr.get_by_role("button", name="Preview").click()
        expect(hr.get_by_role("img", name="Notification preview")).to_contain_text("We are hiring")
        check_accessibility(hr)
        hr.set_viewport_size({"width": 1280, "height": 900})
        expect(hr.get_by_label("Find a published item")).to_be_visible()
        check_accessibility(hr)
    finally:
        finish_phone(hr)
