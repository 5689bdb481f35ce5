"""Which push addresses Relay may post to: checked when a browser registers one, and again
when the sender connects.

Relay's server makes requests to whatever address a browser gave, so an address inside the
network would let any member make it call internal services. Two checks, one policy:

- :func:`endpoint_refusal` reads the address as a URL parser would (full-width and
  ideographic dots, IDNA, a trailing dot, IPv4 written as ``0x7f.1`` or ``2130706433``) and
  allows only ``https`` to a public host name on port 443. It answers with a
  :class:`Refusal` code; ``app/`` turns it into a sentence for the member.
- :class:`PublicAddressResolver` is the sender's DNS: it resolves as usual, then keeps only
  globally routable addresses, so a name that resolves (or later re-resolves, DNS
  rebinding) to a private, loopback or link-local address is never connected to.

Hosts in ``PUSH_ALLOWED_TEST_HOSTS`` are the one exception to both (any scheme, port and
address): they are how a local test push service is reached.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Collection
from enum import StrEnum
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

PUSH_PORT = 443
# Last labels of names that are never a push service: local, private-use and special-use
# names (RFC 6761, 6762, 8375, 9476; .internal per ICANN; Kubernetes' .svc, .cluster.local).
INTERNAL_SUFFIXES = (
    "localhost",
    "local",
    "internal",
    "intranet",
    "private",
    "corp",
    "home",
    "lan",
    "localdomain",
    "svc",
    "cluster",
    "arpa",
    "invalid",
    "test",
    "example",
    "onion",
    "alt",
)
LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# WHATWG URL: a host whose last label is a number (decimal, hex or octal) is an IPv4 address.
NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")


class Refusal(StrEnum):
    malformed = "malformed"  # not a URL with a valid host name
    not_https = "not_https"
    credentials = "credentials"  # user:password@ in the address
    port = "port"  # a port other than 443
    ip_literal = "ip_literal"  # an IP address instead of a name, in any spelling
    internal_name = "internal_name"  # a single label, localhost, .local, .svc…
    not_public = "not_public"  # the name resolved to no globally routable address


class RefusedAddress(OSError):
    """Raised by :class:`PublicAddressResolver`: the sender must not connect there."""

    def __init__(self, refusal: Refusal, host: str) -> None:
        super().__init__(f"refused push address {host!r}: {refusal.value}")
        self.refusal = refusal


def normalise_host(host: str) -> str | None:
    """The host as it will be looked up: IDNA (which also reads ``。`` ``．`` ``｡`` as dots
    and full-width digits as digits), lowercase, without its trailing dot; None if invalid."""
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    ascii_host = ascii_host.removesuffix(".")
    labels = ascii_host.split(".")
    if not ascii_host or len(ascii_host) > 253 or not all(map(LABEL.fullmatch, labels)):
        return None
    return ascii_host


def is_ip_literal(host: str) -> bool:
    """Whether a normalised host is an IP address in any spelling a URL parser accepts."""
    return ":" in host or bool(NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]))


def is_public_address(address: str) -> bool:
    """Whether an IP address is globally routable (an IPv4-mapped IPv6 address is its IPv4)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def endpoint_refusal(endpoint: str, allowed_test_hosts: Collection[str] = ()) -> Refusal | None:
    """Why Relay must not post to ``endpoint``, or None when it may."""
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        return Refusal.malformed
    raw_host = parts.hostname or ""
    if ":" in raw_host:
        host: str | None = raw_host  # an IPv6 literal, [::1]
    else:
        host = normalise_host(raw_host)
    if host is None:
        return Refusal.malformed
    # The exception is for a test host spelled exactly as listed, not for its other spellings.
    if raw_host in allowed_test_hosts and parts.scheme in {"http", "https"}:
        return None
    if parts.scheme != "https":
        return Refusal.not_https
    if parts.username is not None or parts.password is not None:
        return Refusal.credentials
    if port not in (None, PUSH_PORT):
        return Refusal.port
    if is_ip_literal(host):
        return Refusal.ip_literal
    if "." not in host or host.rsplit(".", 1)[-1] in INTERNAL_SUFFIXES:
        return Refusal.internal_name
    return None


class PublicAddressResolver(AbstractResolver):
    """The sender's DNS: the usual answer with every non-public address taken out.

    aiohttp asks it for every host name it connects to (push services and proxies), so the
    check holds at connect time whatever the name resolved to when it was registered.
    (aiohttp does not resolve an IP address; the sender refuses those with
    :func:`endpoint_refusal` before it posts.) ``trusted_hosts`` are resolved as they are:
    the test push service, and the HTTPS proxy the environment names.
    """

    def __init__(
        self, trusted_hosts: Collection[str] = (), dns: AbstractResolver | None = None
    ) -> None:
        self.trusted_hosts = set(trusted_hosts)
        self._dns = dns

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self._dns is None:
            self._dns = DefaultResolver()  # made here: it belongs to the running event loop
        if host.lower() in self.trusted_hosts:
            return await self._dns.resolve(host, port, family)
        if port != PUSH_PORT:
            raise RefusedAddress(Refusal.port, host)
        public = [
            result
            for result in await self._dns.resolve(host, port, family)
            if is_public_address(result["host"])
        ]
        if not public:
            raise RefusedAddress(Refusal.not_public, host)
        return public

    async def close(self) -> None:
        if self._dns is not None:
            await self._dns.close()
            self._dns = None
