"""The honest counting of clicks: the daily visitor keys and hashes, and the admin's figures
(plain functions, no HTTP). The activity ledger itself is :mod:`app.activity.service`."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from ipaddress import IPv6Address, ip_address, ip_network

from app.activity.tables import Activity, ActivityKind
from app.candidates.tables import Visit, VisitorKey

# --- Visitors: a keyed hash that changes every day ---------------------------------------

KEEP_KEYS_DAYS = 2  # today and yesterday: a page opened before midnight may beacon after it


async def key_of_day(day: date) -> str:
    """The visitor key of a UTC day, created by whichever process needs it first."""
    label = day.isoformat()
    row = await VisitorKey.select(VisitorKey.key).where(VisitorKey.day == label).first()
    if row:
        return str(row["key"])
    await VisitorKey.insert(VisitorKey(day=label, key=secrets.token_hex(32))).on_conflict(
        target=VisitorKey.day, action="DO NOTHING"
    )
    oldest = (day - timedelta(days=KEEP_KEYS_DAYS - 1)).isoformat()
    await VisitorKey.delete().where(VisitorKey.day < oldest)
    row = await VisitorKey.select(VisitorKey.key).where(VisitorKey.day == label).first()
    assert row is not None
    return str(row["key"])


def visitor_hash(key: str, address: str, user_agent: str) -> str:
    """Who visited, known only within the key's day: never the address itself."""
    message = f"{address}\n{user_agent}".encode()
    return hmac.new(bytes.fromhex(key), message, hashlib.sha256).hexdigest()[:32]


def address_hash(key: str, address: str) -> str:
    """Where from, known only within the key's day. An IPv6 address counts by its /64: one
    subscriber's whole block, which a script could otherwise walk through."""
    with contextlib.suppress(ValueError):
        parsed = ip_address(address)
        if isinstance(parsed, IPv6Address) and parsed.ipv4_mapped is None:
            address = str(ip_network(f"{parsed}/64", strict=False))
    message = f"address\n{address}".encode()
    return hmac.new(bytes.fromhex(key), message, hashlib.sha256).hexdigest()[:32]


# --- Figures for the admin page ------------------------------------------------------------


@dataclass(frozen=True)
class ClickFigures:
    previews: int
    views: int
    clicks: int


async def click_figures(since: datetime | None = None) -> ClickFigures:
    visits = Visit.count()
    previews = Visit.count().where(Visit.preview.eq(True))
    clicks = Activity.count().where(Activity.kind == ActivityKind.click.value)
    if since is not None:
        visits = visits.where(Visit.at >= since)
        previews = previews.where(Visit.at >= since)
        clicks = clicks.where(Activity.at >= since)
    total, bots, genuine = await visits, await previews, await clicks
    return ClickFigures(previews=bots, views=total - bots, clicks=genuine)
