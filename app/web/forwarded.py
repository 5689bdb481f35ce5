"""Who the client is when Relay runs behind reverse proxies (FORWARDED_ALLOW_IPS).

Each proxy appends the address it received the request from to ``X-Forwarded-For`` (or a
``for=`` element to ``Forwarded``, RFC 7239). Everything to the left of what our own proxy
appended came from further away, and a client can write anything there. So the chain is read
from the right: past our own proxies, the first address that is not one of them is the
client's. The headers are read only when the socket's peer is one of our proxies; from
anyone else they are ignored.

``X-Forwarded-For`` is read when the request has one, else ``Forwarded``: most proxies (nginx,
Caddy, Traefik, HAProxy's ``forwardfor``, cloud load balancers) write the former and pass a
client's ``Forwarded`` header through untouched. A proxy that writes only ``Forwarded`` must
remove ``X-Forwarded-For`` from the requests it forwards (README, "Running at scale").
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address


def client_address(
    peer: str,
    trusted: tuple[Network, ...],
    x_forwarded_for: Sequence[str] = (),
    forwarded: Sequence[str] = (),
) -> str:
    """The client's address: ``peer`` (the socket's) unless it is a trusted proxy; then the
    nearest address in the proxies' header that is not a trusted proxy. An entry that is not
    an address (``unknown``, an obfuscated name, junk) stops the walk at the last address
    known to be good: the proxy that passed it on."""
    if not trusted or not _hop(peer, trusted)[1]:
        return peer
    if any(value.strip() for value in x_forwarded_for):
        hops = ",".join(x_forwarded_for).split(",")
    else:
        hops = [_for_value(element) for element in _split(",".join(forwarded), ",")]
    nearest = peer
    for hop in reversed(hops):
        address, is_proxy = _hop(hop, trusted)
        if address is None:
            return nearest
        nearest = address
        if not is_proxy:
            return nearest
    # Every hop is one of our proxies (a request made from a proxy's own machine): the
    # farthest of them is the client.
    return nearest


@lru_cache(maxsize=8192)
def _hop(text: str, trusted: tuple[Network, ...]) -> tuple[str | None, bool]:
    """An entry's address, written one way, and whether it is one of our proxies. Cached: the
    same few proxies and clients come back (parsing an address costs microseconds)."""
    address = parse_address(text)
    if address is None:
        return None, False
    return str(address), any(address in network for network in trusted)


def parse_address(text: str) -> Address | None:
    """An address as proxies write it: ``203.0.113.7``, ``203.0.113.7:4711``, ``2001:db8::1``
    or ``[2001:db8::1]:4711``; None for anything else."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _split(header: str, separator: str) -> list[str]:
    """A ``Forwarded`` header's elements (``,``) or an element's pairs (``;``): split where
    the separator is outside quoted strings."""
    elements: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in header:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            elements.append("".join(current))
            current = []
            continue
        current.append(char)
    elements.append("".join(current))
    return [element for element in elements if element.strip()]


def _for_value(element: str) -> str:
    """An element's ``for=`` parameter (``for="[2001:db8::1]:4711"``), or "" without one."""
    for pair in _split(element, ";"):
        name, equals, value = pair.partition("=")
        if equals and name.strip().lower() == "for":
            return value.strip().replace("\\", "")
    return ""
