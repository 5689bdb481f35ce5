"""Push addresses that reach inside the network are refused: when a browser registers one,
and again when the sender connects (after DNS, so a name re-pointed later is caught too).

No network beyond loopback: the "DNS" that points a public-looking name at 127.0.0.1 is a
table (an aiohttp resolver, the interface the sender's connector asks), and the would-be
victim is a TCP listener on 127.0.0.1 that counts who connects to it.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from litestar.testing import AsyncTestClient

from app.core.settings import Settings
from app.notifications import devices as notifications_devices
from push.addresses import (
    PublicAddressResolver,
    Refusal,
    RefusedAddress,
    endpoint_refusal,
    is_public_address,
)
from push.sender import Outcome, PushSender, PushTarget
from push.subscriptions import SubscriptionError
from push.tables import PushSubscription
from push.vapid import VapidSigner
from tests.factories import subscribe
from tests.helpers import csrf, sign_in
from tests.push_sink import PushSink

HOSTILE = [
    # From issue 16: IPv4 in hex, short and mixed forms, an ideographic full stop, a port.
    "https://0x7f.0.0.1/push/x",
    "https://0x7f.0.0.1:8443/x",
    "https://0x7f.1/push/x",
    "https://0xa9.0xfe.0xa9.0xfe/latest/meta-data",
    "https://127.0.0.1\u3002/push/x",
    "https://127\uff0e0\uff0e0\uff0e1/push/x",
    "https://\uff11\uff12\uff17.0.0.1/push/x",
    "https://2130706433/push/x",
    "https://0177.0.0.1/push/x",
    "https://127.1/push/x",
    "https://127.0.0.1./push/x",
    "https://%31%32%37.0.0.1/push/x",
    "https://[::1]/push/x",
    "https://[::ffff:127.0.0.1]/push/x",
    "https://[::ffff:7f00:1]/push/x",
    "https://[fd12:3456::1]/push/x",
    "https://[fe80::1%25eth0]/push/x",
    "https://169.254.169.254/latest/meta-data",
    "https://10.0.0.8/push/x",
    # Internal names, with or without a trailing dot.
    "https://kubernetes.default.svc/push/x",
    "https://kubernetes.default.svc.cluster.local./push/x",
    "https://metadata.google.internal/computeMetadata/v1",
    "https://localhost./push/x",
    "https://router.home.arpa/push/x",
    "https://printer.local/push/x",
    "https://intranet/push/x",
    # A public push service, but not on 443, not https, or with credentials.
    "https://fcm.googleapis.com:8443/fcm/send/x",
    "https://fcm.googleapis.com:80/fcm/send/x",
    "http://fcm.googleapis.com/fcm/send/x",
    "https://user:pw@fcm.googleapis.com/fcm/send/x",
]
PUSH_SERVICES = [
    "https://fcm.googleapis.com/fcm/send/abc:def",
    "https://FCM.googleapis.com./fcm/send/abc:def",
    "https://fcm.googleapis.com:443/fcm/send/abc:def",
    "https://updates.push.services.mozilla.com/wpush/v2/gAAA",
    "https://web.push.apple.com/QGuQyavXutnMH",
    "https://wns2-par02p.notify.windows.com/w/?token=BQYAAA",
]


def settings_allowing(tmp_path: Any, hosts: str = "") -> Settings:
    base = {"RELAY_DATA_DIR": str(tmp_path), "SECRET_KEY": "k" * 40}
    return Settings.from_env({**base, "PUSH_ALLOWED_TEST_HOSTS": hosts})


@pytest.mark.parametrize("endpoint", HOSTILE)
def test_a_push_address_inside_the_network_is_refused_at_registration(
    endpoint: str, tmp_path: Any
) -> None:
    # Even with the test push service allowed: the exception is for its exact host only.
    settings = settings_allowing(tmp_path, "127.0.0.1")
    assert endpoint_refusal(endpoint, settings.push_allowed_test_hosts) is not None
    with pytest.raises(SubscriptionError) as refused:
        notifications_devices.check_push_endpoint(endpoint, settings)
    assert re.search(
        r"Relay cannot send to|unusable push address",
        notifications_devices.subscription_refusal(refused.value),
    )


def test_the_push_services_of_browsers_are_accepted(tmp_path: Any) -> None:
    settings = settings_allowing(tmp_path)
    for endpoint in PUSH_SERVICES:
        assert endpoint_refusal(endpoint) is None, endpoint
        notifications_devices.check_push_endpoint(endpoint, settings)
    assert endpoint_refusal("https://0x7f.0.0.1:8443/x") is Refusal.port
    assert endpoint_refusal("https://0x7f.0.0.1/x") is Refusal.ip_literal
    assert endpoint_refusal("https://kubernetes.default.svc/x") is Refusal.internal_name
    assert endpoint_refusal("http://127.0.0.1:9000/push/x", ["127.0.0.1"]) is None


def test_only_globally_routable_addresses_are_public() -> None:
    for address in ["8.8.8.8", "17.253.144.10", "2a00:1450:4007:80e::200a"]:
        assert is_public_address(address), address
    for address in [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "fd00::1",
        "fe80::1%eth0",
        "ff02::1",
        "not an address",
    ]:
        assert not is_public_address(address), address


async def test_the_opt_in_and_device_move_routes_refuse_inside_addresses(
    client: AsyncTestClient,  # type: ignore[type-arg]
    push_sink: PushSink,
) -> None:
    browser = push_sink.new_browser()
    keys = {"p256dh": browser.p256dh, "auth": browser.auth}
    devices = []
    for index, endpoint in enumerate(HOSTILE):
        if index % 10 == 0:  # a new member before the opt-in rate limit (20 in 10 min)
            member = await sign_in(client)
            headers = await csrf(client, "/me", accept=None)
            old = push_sink.new_browser()
            await subscribe(member.id, old)  # their device, on the test push service
            devices.append({"endpoint": old.endpoint, "active": True})
        opted = await client.post(
            "/push/subscriptions", json={"endpoint": endpoint, "keys": keys}, headers=headers
        )
        assert opted.status_code == 422, (endpoint, opted.text)
        moved = await client.post(
            "/push/subscriptions/change",
            json={
                "old_endpoint": old.endpoint,
                "subscription": {"endpoint": endpoint, "keys": keys},
            },
        )
        assert moved.status_code == 422, (endpoint, moved.text)
    rows = await PushSubscription.select(
        PushSubscription.endpoint, PushSubscription.active
    ).order_by(PushSubscription.id)
    assert rows == devices


class TableDNS(AbstractResolver):
    """A DNS that answers from a table: name -> (address, port). The port stands in for 443,
    which a test cannot listen on, so a connection that got through would reach a listener."""

    def __init__(self, table: dict[str, tuple[str, int]]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        address, real_port = self.table[host.rstrip(".")]
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=real_port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        pass


class Listener:
    """A TCP server on 127.0.0.1 that counts connections: the internal service to protect."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.close()


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    found = Listener()
    server = await asyncio.start_server(found._accept, "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    async with server:
        yield found


def sender(settings: Settings, dns: AbstractResolver | None, *allowed: str) -> PushSender:
    return PushSender(
        VapidSigner.from_settings(settings), allowed_test_hosts=allowed, dns=dns, timeout_s=5
    )


async def test_the_sender_refuses_a_name_that_resolves_inside_the_network(
    settings: Settings, push_sink: PushSink, listener: Listener
) -> None:
    browser = push_sink.new_browser()
    name = "push.rebound.example.com"
    endpoint = f"https://{name}/push/x"
    # The address looked public when it was registered: only connecting tells.
    assert endpoint_refusal(endpoint) is None
    dns = TableDNS({name: ("127.0.0.1", listener.port)})
    refusing = sender(settings, dns)
    try:
        result = await refusing.send(PushTarget(endpoint, browser.p256dh, browser.auth), b"{}")
    finally:
        await refusing.aclose()
    assert result.outcome is Outcome.failed
    assert "not_public" in result.error
    assert dns.asked == [name] and listener.connections == 0

    # The same name listed in PUSH_ALLOWED_TEST_HOSTS is connected to: so it was the check,
    # not the table, that kept the sender away.
    allowing = sender(settings, TableDNS({name: ("127.0.0.1", listener.port)}), name)
    try:
        reached = await allowing.send(PushTarget(endpoint, browser.p256dh, browser.auth), b"{}")
    finally:
        await allowing.aclose()
    assert reached.outcome is Outcome.retry  # the listener hangs up: no TLS, no answer
    assert listener.connections == 1


async def test_the_sender_keeps_only_the_public_addresses_of_a_name() -> None:
    dns = TableDNS({"push.example.com": ("::ffff:127.0.0.1", 443)})
    resolver = PublicAddressResolver(dns=dns)
    with pytest.raises(RefusedAddress) as refused:
        await resolver.resolve("push.example.com", 443)
    assert refused.value.refusal is Refusal.not_public
    with pytest.raises(RefusedAddress) as refused:
        await resolver.resolve("push.example.com", 8443)
    assert refused.value.refusal is Refusal.port
    dns.table["push.example.com"] = ("17.253.144.10", 443)
    assert [r["host"] for r in await resolver.resolve("push.example.com", 443)] == ["17.253.144.10"]


async def test_the_sender_refuses_addresses_the_system_resolves_to_loopback(
    settings: Settings, push_sink: PushSink, listener: Listener
) -> None:
    """With the system's own resolver (``/etc/hosts`` and numeric forms, no network)."""
    browser = push_sink.new_browser()
    resolver = PublicAddressResolver()
    for host in ["localhost", "0x7f.0.0.1", "0x7f.1", "2130706433"]:
        with pytest.raises(RefusedAddress):
            await resolver.resolve(host, 443)
    await resolver.close()
    # What the issue saw the sender connect to: refused before any connection.
    plain = sender(settings, None)
    try:
        for endpoint in [
            f"https://0x7f.0.0.1:{listener.port}/x",
            f"https://127.0.0.1\u3002:{listener.port}/x",
            f"http://127.0.0.1:{listener.port}/x",
            f"https://localhost:{listener.port}/x",
        ]:
            result = await plain.send(PushTarget(endpoint, browser.p256dh, browser.auth), b"{}")
            assert result.outcome is Outcome.failed, endpoint
            assert result.error.startswith("refused push address"), result.error
    finally:
        await plain.aclose()
    assert listener.connections == 0
