"""Relay behind a reverse proxy: who the client is, for rate limits and visitor hashes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.candidates.tables import Visit
from app.core.settings import Settings, SettingsError
from app.web.forwarded import client_address
from app.web.ratelimit import APPLY_PER_CLIENT
from tests.conftest import LiveServer
from tests.factories import shared_offer
from tests.helpers import HTML, PHONE, all_recorded, form_token
from tests.reverse_proxy import PROXY, client_behind_proxy

ALICE, BOB = "203.0.113.10", "198.51.100.20"


async def apply_statuses(client: Any, code: str, forwarded: list[dict[str, str]]) -> list[int]:
    """Empty applications (each refused as incomplete, or as too many) with these headers."""
    page = await client.get(f"/r/{code}", headers={**HTML, "user-agent": PHONE})
    token = form_token(page.text)
    statuses = []
    for headers in forwarded:
        response = await client.post(
            f"/r/{code}/apply",
            data={"_csrf_token": token},
            files={"cv": ("", b"", "application/octet-stream")},
            headers={"user-agent": PHONE, "hx-request": "true", **headers},
        )
        statuses.append(response.status_code)
    return statuses


LIMIT = APPLY_PER_CLIENT.count


# --- Who the client is ---------------------------------------------------------------------


def test_the_client_is_read_from_the_right_past_trusted_proxies_only() -> None:
    trusted = (ip_network("10.0.0.0/8"), ip_network("2001:db8:ffff::/48"))
    # Not from a trusted proxy: the headers are anyone's, and ignored.
    assert client_address("192.0.2.1", trusted, [ALICE]) == "192.0.2.1"
    assert client_address("192.0.2.1", (), [ALICE]) == "192.0.2.1"
    assert client_address("testclient", trusted, [ALICE]) == "testclient"
    # From our proxy: what it appended. Whatever the client wrote to the left does not count.
    assert client_address(PROXY, trusted, [ALICE]) == ALICE
    assert client_address(PROXY, trusted, [f"1.2.3.4, {BOB}, {ALICE}"]) == ALICE
    assert client_address(PROXY, trusted, ["1.2.3.4", f"{BOB}, {ALICE}"]) == ALICE
    # Two proxies of ours in a row (a load balancer, then nginx): past both.
    assert client_address(PROXY, trusted, [f"6.6.6.6, {ALICE}, 10.1.1.1"]) == ALICE
    # Ports, brackets, IPv4 in IPv6 and case are written in more than one way.
    assert client_address(PROXY, trusted, [f"{ALICE}:4711"]) == ALICE
    assert client_address(PROXY, trusted, ["[2001:DB8::1]:4711"]) == "2001:db8::1"
    assert client_address(f"::ffff:{PROXY}", trusted, [ALICE]) == ALICE
    # Junk where an address should be: the last address known to be good.
    assert client_address(PROXY, trusted, [f"{ALICE}, unknown"]) == PROXY
    assert client_address(PROXY, trusted, [f"{ALICE}, 10.2.2.2, junk"]) == PROXY
    assert client_address(PROXY, trusted, ["junk, 10.2.2.2"]) == "10.2.2.2"
    # A request made from one of our proxies, with nothing forwarded: the proxy.
    assert client_address(PROXY, trusted) == PROXY
    assert client_address(PROXY, trusted, ["10.3.3.3"]) == "10.3.3.3"


def test_the_standard_forwarded_header_is_read_too() -> None:
    trusted = (ip_network("10.0.0.0/8"), ip_network("2001:db8:ffff::/48"))
    assert client_address(PROXY, trusted, [], [f"for={ALICE};proto=https"]) == ALICE
    assert (
        client_address(PROXY, trusted, [], ['for="[2001:db8::1]:4711";proto=https'])
        == "2001:db8::1"
    )
    assert (
        client_address(
            "2001:db8:ffff::2",
            trusted,
            [],
            [f'for=6.6.6.6;by="x,y;for=7.7.7.7", For={BOB}', 'for="[2001:db8:ffff::9]"'],
        )
        == BOB
    )
    assert client_address(PROXY, trusted, [], [f"for={ALICE}, for=unknown"]) == PROXY
    assert client_address(PROXY, trusted, [], [f"for={ALICE}, for=_hidden"]) == PROXY
    assert client_address(PROXY, trusted, [], [f"for={ALICE}, proto=https"]) == PROXY
    # A proxy that writes X-Forwarded-For passes the client's own Forwarded header on as is:
    # X-Forwarded-For wins, so that header cannot speak for the client.
    assert client_address(PROXY, trusted, [ALICE], ["for=6.6.6.6"]) == ALICE


def test_forwarded_allow_ips_lists_addresses_and_networks(env: dict[str, str]) -> None:
    assert Settings.from_env(env).forwarded_allow_ips == ()
    settings = Settings.from_env({**env, "FORWARDED_ALLOW_IPS": " 10.0.0.5, 192.168.1.0/24,::1,"})
    assert settings.forwarded_allow_ips == (
        ip_network("10.0.0.5/32"),
        ip_network("192.168.1.0/24"),
        ip_network("::1/128"),
    )
    for bad in ("*", "10.0.0.0/33", "proxy.internal", "10.0.0.1 10.0.0.2"):
        with pytest.raises(SettingsError) as error:
            Settings.from_env({**env, "FORWARDED_ALLOW_IPS": bad})
        assert str(error.value) == (
            "FORWARDED_ALLOW_IPS must list your proxies' addresses or networks, such as "
            f"10.0.0.5,192.168.1.0/24, not {bad!r}."
        )


# --- Rate limits and visitor hashes through the whole app -----------------------------------


async def test_without_a_trusted_proxy_spoofed_forwarded_clients_share_one_rate_limit(
    env: dict[str, str],
) -> None:
    _sharer, _item_id, code = await shared_offer()
    async with client_behind_proxy(env, trusted=None) as client:
        spoofed = [{"x-forwarded-for": (ALICE, BOB)[n % 2]} for n in range(LIMIT + 1)]
        spoofed[-1] = {"forwarded": "for=192.0.2.99"}
        statuses = await apply_statuses(client, code, spoofed)
    assert statuses == [422] * LIMIT + [429]


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_rate_limit(
    env: dict[str, str],
) -> None:
    _sharer, _item_id, code = await shared_offer()
    async with client_behind_proxy(env, trusted="10.0.0.0/8") as client:
        alice = await apply_statuses(client, code, [{"x-forwarded-for": ALICE}] * (LIMIT + 1))
        bob = await apply_statuses(client, code, [{"forwarded": f'for="{BOB}:4711"'}])
    assert alice == [422] * LIMIT + [429]
    assert bob == [422]


async def test_a_client_prepending_addresses_still_counts_as_itself(
    env: dict[str, str],
) -> None:
    """The proxy appends the address it saw; a client can only write to the left of it."""
    _sharer, _item_id, code = await shared_offer()
    async with client_behind_proxy(env) as client:
        spoofed = [{"x-forwarded-for": f"192.0.2.{n}, {ALICE}"} for n in range(LIMIT + 1)]
        statuses = await apply_statuses(client, code, spoofed)
    assert statuses == [422] * LIMIT + [429]


async def test_behind_a_trusted_proxy_each_forwarded_client_is_its_own_visitor(
    env: dict[str, str],
) -> None:
    _sharer, _item_id, code = await shared_offer()
    async with client_behind_proxy(env) as client:
        for forwarded in (ALICE, BOB, ALICE, f"192.0.2.1, {BOB}"):
            page = await client.get(
                f"/r/{code}", headers={**HTML, "user-agent": PHONE, "x-forwarded-for": forwarded}
            )
            assert page.status_code == 200
        await all_recorded(client)
    alice, bob, alice_again, bob_spoofing = [
        r["visitor"] for r in await Visit.select(Visit.visitor).order_by(Visit.id)
    ]
    assert alice != bob and alice == alice_again and bob == bob_spoofing


# --- `relay serve`: neither server rewrites the client behind our back ----------------------


def live_apply_statuses(
    server: LiveServer, code: str, forwarded: list[dict[str, str]]
) -> list[int]:
    with httpx.Client(base_url=server.url) as http:
        page = http.get(f"/r/{code}", headers={**HTML, "user-agent": PHONE})
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert token
        return [
            http.post(
                f"/r/{code}/apply",
                data={"_csrf_token": token.group(1)},
                files={"cv": ("", b"", "application/octet-stream")},
                headers={"user-agent": PHONE, "hx-request": "true", **headers},
            ).status_code
            for headers in forwarded
        ]


@pytest.fixture
def served(env: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    servers: list[LiveServer] = []

    def serve(**variables: str) -> LiveServer:
        servers.append(LiveServer({**env, **variables}, tmp_path / f"server{len(servers)}.log"))
        return servers[-1]

    yield serve
    for server in servers:
        server.stop()


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_relay_serve_reads_forwarded_headers_only_from_forwarded_allow_ips(
    server: str, served: Any, seed: Any
) -> None:
    """Both servers see the test as 127.0.0.1, which uvicorn trusts by default."""
    _sharer, _item_id, code = seed(shared_offer)
    untrusting = served(RELAY_SERVER=server)
    spoofed = [{"x-forwarded-for": f"192.0.2.{n}"} for n in range(LIMIT + 1)]
    assert live_apply_statuses(untrusting, code, spoofed) == [422] * LIMIT + [429]
    untrusting.stop()
    trusting = served(RELAY_SERVER=server, FORWARDED_ALLOW_IPS="127.0.0.1,::1")
    assert live_apply_statuses(trusting, code, spoofed) == [422] * (LIMIT + 1)
