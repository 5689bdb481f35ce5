"""Recording visits to ``/r/{code}`` without a write on the page's path.

The public page only appends a row to this process's :class:`VisitRecorder`; a background
task writes the rows in batches (every :data:`FLUSH_SECONDS` or :data:`BATCH_ROWS` rows, one
transaction per batch) and a normal shutdown writes whatever is left, so nothing is lost.

How a visit is counted (the admin page says the same in plain words):

- a request from a link-preview bot, a crawler or an automation tool (by user agent: a
  headless browser, curl, an HTTP library), or a HEAD request, is a **preview**;
- any other request is a **view**;
- a view becomes a **genuine click** only when the page's beacon comes back from the browser
  that loaded it (``static/beacon.js``) with the signed, short-lived token rendered into the
  page; one per link, visitor and UTC day, and one per link and address in each hour
  (:data:`CLICK_WINDOW_S`, UTC hours): rotating the user agent from one address earns no more.
  The hour is claimed in the shared store (memory, or Redis with REDIS_URL) by the first of
  the address's clicks that counts, when the batch is written: never on the page's path;
- the visitor is an HMAC of address and user agent under a key that changes every day
  (:func:`app.candidates.service.key_of_day`), the address alone an HMAC under the same key
  (an IPv6 address by its /64): no address is stored;
- the sharer's own clicks never count: not when they are signed in as the sharer, nor from the
  visitor (same address and browser) that viewed the page signed in as the sharer that day.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Literal

from app.activity.service import ActivityRecorded
from app.activity.tables import Activity, ActivityKind
from app.candidates import service
from app.candidates.tables import Visit
from app.core import db
from app.core.clock import now
from app.core.events import publish
from app.core.tasks import BackgroundTask
from app.sharing.tables import ShareLink
from app.web.ratelimit import Counter, MemoryCounter

log = logging.getLogger("relay.visits")

FLUSH_SECONDS = 0.5
BATCH_ROWS = 500
MAX_PENDING = 200_000  # beyond this (a database down for long), the oldest rows are dropped
BEACON_MAX_AGE_S = 600
# One genuine click per link and address in each UTC hour: long enough that a script rotating
# user agents from one address earns one click an hour, short enough that people sharing an
# address (an office, a mobile carrier's NAT) who open the same link hours apart all count.
CLICK_WINDOW_S = 3600

# Where a tracked link may say its visitor came from (``?via=qr``: the QR code of an image
# made for Instagram and TikTok, app.sharing.images).
VIA = frozenset({"qr"})

# Link-preview bots and crawlers announce themselves (LinkedInBot, Twitterbot, Slackbot-…,
# TelegramBot, Discordbot, Googlebot, bingbot… all end in "bot"); so do automation tools
# (headless browsers, HTTP libraries and command-line clients): no person is reading. An empty
# user agent is no browser. Apps' in-app browsers ("[LinkedInApp]", "FBAV", "Instagram") are
# people: views.
PREVIEW_AGENTS = re.compile(
    r"bot\b|crawl|spider|slurp|facebookexternalhit|facebookcatalog|^whatsapp/"
    r"|skypeuripreview|embedly|iframely|vkshare|mastodon"
    r"|headlesschrome|lighthouse|phantomjs|puppeteer|playwright|selenium|scrapy"
    r"|\bcurl/|\bwget/|python-|python/|aiohttp|\bhttpx|go-http-client|okhttp|java/|libwww"
    r"|axios/|node-fetch",
    re.IGNORECASE,
)

Kind = Literal["view", "preview", "beacon"]


# Which network a visitor came from, told by the Referer host of the landing request (the
# link's page, not the beacon's): the apps' link shorteners and web hosts below. A native
# share sheet does not say which app was chosen, and many apps send no Referer at all: then
# the network is "unknown". The beacon's signed token carries the network to the click.
REFERER_NETWORKS: tuple[tuple[str, str], ...] = (
    ("lnkd.in", "linkedin"),
    ("linkedin.com", "linkedin"),
    ("licdn.com", "linkedin"),
    ("t.co", "x"),
    ("x.com", "x"),
    ("twitter.com", "x"),
    ("facebook.com", "facebook"),
    ("fb.com", "facebook"),
    ("fb.me", "facebook"),
    ("l.facebook.com", "facebook"),
    ("messenger.com", "facebook"),
    ("instagram.com", "instagram"),
    ("l.instagram.com", "instagram"),
    ("tiktok.com", "tiktok"),
    ("whatsapp.com", "whatsapp"),
    ("wa.me", "whatsapp"),
    ("t.me", "telegram"),
    ("telegram.org", "telegram"),
    ("threads.net", "threads"),
    ("bsky.app", "bluesky"),
    ("reddit.com", "reddit"),
    ("xing.com", "xing"),
    ("teams.microsoft.com", "teams"),
    ("slack.com", "slack"),
    ("mail.google.com", "email"),
    ("outlook.live.com", "email"),
    ("outlook.office.com", "email"),
)
UNKNOWN_NETWORK = "unknown"


@lru_cache(maxsize=1024)
def network_of_referer(referer: str) -> str:
    """The network a Referer header points at ("unknown" for none, another site, or junk)."""
    host = referer.partition("://")[2].partition("/")[0].partition(":")[0].lower()
    host = host.rpartition("@")[2].removeprefix("www.").removeprefix("m.")
    for domain, network in REFERER_NETWORKS:
        if host == domain or host.endswith("." + domain):
            return network
    return UNKNOWN_NETWORK


def is_preview(method: str, user_agent: str) -> bool:
    return method == "HEAD" or _is_preview_agent(user_agent)


@lru_cache(maxsize=4096)
def _is_preview_agent(user_agent: str) -> bool:
    # Browsers and bots send a handful of distinct user agents: the pattern runs once for each.
    return not user_agent.strip() or bool(PREVIEW_AGENTS.search(user_agent))


@dataclass(frozen=True)
class Noted:
    kind: Kind
    code: str
    visitor: str
    at: datetime
    viewer: int | None = None  # the signed-in member who made the request, if any
    address: str = ""  # a beacon's keyed hash of the address alone (the hourly window)
    network: str = UNKNOWN_NETWORK  # a beacon's network, from its landing request's Referer
    via: str = ""  # where the visitor came from, when the link says: "qr" (a shared image)


class VisitRecorder(BackgroundTask):
    """This process's buffer of visits and beacons, and the task that writes them."""

    description = "visit recorder"
    log = log
    interval_s = FLUSH_SECONDS

    def __init__(self, store: Counter | None = None) -> None:
        super().__init__()
        # Where the hourly windows of clicks per address are claimed: the app's shared store.
        self.store: Counter = store or MemoryCounter()
        self._pending: deque[Noted] = deque()
        self._in_flight = 0
        self._keys: dict[date, str] = {}
        self.dropped = 0  # visits dropped from a full buffer since the last successful write
        # Failed writes in a row, and when to try again (monotonic): see round().
        self._failures = 0
        self._retry_at = 0.0

    # --- the page's side: no write, at most one read a day for the key ---------------------

    async def _key(self, day: date) -> str:
        key = self._keys.get(day)
        if key is None:
            key = await service.key_of_day(day)
            self._keys = {d: k for d, k in self._keys.items() if d >= day - timedelta(days=1)}
            self._keys[day] = key
        return key

    async def visitor(self, address: str, user_agent: str, day: date | None = None) -> str:
        return service.visitor_hash(await self._key(day or now().date()), address, user_agent)

    async def address(self, address: str) -> str:
        """The address alone, hashed with today's key: what the hourly window is kept by."""
        return service.address_hash(await self._key(now().date()), address)

    def note(
        self,
        kind: Kind,
        code: str,
        visitor: str,
        viewer: int | None = None,
        address: str = "",
        network: str = UNKNOWN_NETWORK,
        via: str = "",
    ) -> None:
        if len(self._pending) >= MAX_PENDING:
            self._pending.popleft()
            self.dropped += 1
            if self.dropped == 1:
                log.warning("Visit buffer full: the oldest visits are being dropped")
        self._pending.append(Noted(kind, code, visitor, now(), viewer, address, network, via))
        if len(self._pending) >= BATCH_ROWS:
            self.wake()

    @property
    def idle(self) -> bool:
        """Nothing waiting and nothing being written (tests wait on this)."""
        return not self._pending and self._in_flight == 0

    # --- the writer -------------------------------------------------------------------------

    async def finish(self) -> None:
        """Write everything still buffered: called on shutdown, before the pool closes."""
        while self._pending:
            await self.flush()

    async def round(self) -> None:
        """Every :data:`FLUSH_SECONDS`, or at once when a batch is full. What is pending now,
        in full batches; visits noted meanwhile wait for the next round instead of being
        written a few at a time under load. A batch that fails goes back to the buffer and is
        tried again after 1 s, 2 s, 4 s… at most 10 s apart, said once per outage rather
        than twice a second."""
        if time.monotonic() < self._retry_at:
            return
        try:
            for _ in range(-(-len(self._pending) // BATCH_ROWS)):
                if self.stopping:
                    break
                await self.flush()
        except Exception as exc:
            if self._failures == 0:
                log.warning(
                    "Writing visits failed (%s: %s); %d kept, retrying",
                    type(exc).__name__,
                    exc,
                    len(self._pending),
                    exc_info=not db.is_unavailable(exc),
                )
            self._failures += 1
            self._retry_at = time.monotonic() + retry_delay(self._failures)
            return
        if self._failures:
            log.warning("Visits written again after %d failed attempts", self._failures)
            self._failures = 0

    async def flush(self) -> int:
        """Write up to one batch in one transaction; rows go back on failure."""
        batch: list[Noted] = []
        while self._pending and len(batch) < BATCH_ROWS:
            batch.append(self._pending.popleft())
        if not batch:
            return 0
        self._in_flight += len(batch)
        try:
            await write_batch(batch, self.store)
        except BaseException:
            self._pending.extendleft(reversed(batch))
            raise
        finally:
            self._in_flight -= len(batch)
        if self.dropped:
            log.warning("Visit buffer: %d visits were dropped while it was full", self.dropped)
            self.dropped = 0
        return len(batch)


def retry_delay(failures: int) -> float:
    """Seconds before writing again after ``failures`` failed attempts in a row: 1 s, 2 s…
    at most 10 s, so a database coming back gets its visits within seconds."""
    return min(FLUSH_SECONDS * 2**failures, 10.0)


async def write_batch(batch: list[Noted], store: Counter) -> None:
    """Visits as rows, beacons as genuine clicks (unless the sharer's own, or their address
    already clicked this link this hour), in one transaction."""
    codes = list({n.code for n in batch})
    links = {
        row["code"]: row
        for row in await ShareLink.select(
            ShareLink.id, ShareLink.code, ShareLink.member, ShareLink.item
        ).where(ShareLink.code.is_in(codes))
    }
    visits = [
        (
            links[n.code]["id"],
            n.at,
            n.visitor,
            n.kind == "preview",
            n.viewer is not None and n.viewer == links[n.code]["member"],
        )
        for n in batch
        if n.kind != "beacon" and n.code in links
    ]
    beacons = [n for n in batch if n.kind == "beacon" and n.code in links]
    async with db.write_transaction():
        if visits:
            # One plain multi-row INSERT: building a Piccolo object per row cost more CPU
            # than the database spent writing it.
            placeholders = ", ".join(["({}, {}, {}, {}, {})"] * len(visits))
            await Visit.raw(
                # Only placeholders are joined in: every value is a bound parameter.
                f"INSERT INTO visit (link, at, visitor, preview, own) VALUES {placeholders}",  # noqa: S608
                *(value for row in visits for value in row),
            )
        if not beacons:
            return
        since = datetime.combine(min(n.at for n in beacons).date(), datetime.min.time(), UTC)
        own_rows = await Visit.select(Visit.link, Visit.visitor, Visit.at).where(
            Visit.own.eq(True),
            Visit.link.is_in([links[n.code]["id"] for n in beacons]),
            Visit.visitor.is_in(list({n.visitor for n in beacons})),
            Visit.at >= since,
        )
        own = {(r["link"], r["visitor"], r["at"].date()) for r in own_rows}
        beacons = [
            n
            for n in beacons
            if n.viewer != links[n.code]["member"]
            and (links[n.code]["id"], n.visitor, n.at.date()) not in own
        ]
        if not beacons:
            return
        # A visitor who already clicked today adds nothing, and must not take the hour from
        # someone else at the same address.
        keys = [click_key(links[n.code]["id"], n) for n in beacons]
        counted = {
            r["key"] for r in await Activity.select(Activity.key).where(Activity.key.is_in(keys))
        }
        beacons = [n for n, key in zip(beacons, keys, strict=True) if key not in counted]
        # The address's hour goes to the first visitor whose click counts; the visitor owns
        # it, so a batch written again after a failure keeps its clicks.
        held = await store.claim_all(
            [
                (
                    f"relay:click:{links[n.code]['id']}:{n.address}:"
                    f"{int(n.at.timestamp()) // CLICK_WINDOW_S}",
                    n.visitor,
                )
                for n in beacons
            ],
            CLICK_WINDOW_S,
        )
        clicks = []
        for n in (n for n, ok in zip(beacons, held, strict=True) if ok):
            link = links[n.code]
            clicks.append(
                Activity(
                    kind=ActivityKind.click.value,
                    key=click_key(link["id"], n),
                    member=link["member"],
                    item=link["item"],
                    at=n.at,
                    # A click through a shared image's QR code counts the same, and says so.
                    detail=json.dumps(
                        {"network": n.network, "via": n.via} if n.via else {"network": n.network}
                    ),
                )
            )
        if clicks:
            # The bulk form of record_activity: same keys, same idempotence.
            inserted = (
                await Activity.insert(*clicks)
                .on_conflict(target=Activity.key, action="DO NOTHING")
                .returning(*Activity.all_columns())
            )
            # The points of each new click, in the same transaction. Members in id order: every
            # award locks its member, and two processes flushing at once must take their
            # locks in the same order or PostgreSQL would find them deadlocked.
            for row in sorted(inserted, key=lambda r: (r["member"], r["id"])):
                await publish(ActivityRecorded(row))


def click_key(link_id: int, beacon: Noted) -> str:
    """The genuine click's unique key: one per link, visitor and UTC day."""
    return f"click:{link_id}:{beacon.visitor}:{beacon.at.date().isoformat()}"


# --- The beacon's token: proof that this visitor loaded this page a moment ago ------------


def _signature(secret: str, code: str, visitor: str, issued: int, network: str) -> str:
    message = f"beacon\n{code}\n{visitor}\n{issued}\n{network}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def beacon_token(
    secret: str,
    code: str,
    visitor: str,
    issued: int | None = None,
    network: str = UNKNOWN_NETWORK,
) -> str:
    """``issued.signature.network``: the network the landing request's Referer showed,
    signed with the rest so that a beacon cannot claim another."""
    issued = int(time.time()) if issued is None else issued
    return f"{issued}.{_signature(secret, code, visitor, issued, network)}.{network}"


def beacon_network(token: str) -> str:
    """The network a beacon's token carries (checked by :func:`beacon_is_valid`)."""
    network = token.split(".")[2] if token.count(".") == 2 else ""
    return network if network.isalpha() and len(network) <= 20 else UNKNOWN_NETWORK


def beacon_issued(token: str) -> int | None:
    issued, signature, *_ = [*token.split("."), ""]
    if not issued.isdigit() or len(signature) != 32:
        return None
    age = time.time() - int(issued)
    return int(issued) if -60 <= age <= BEACON_MAX_AGE_S else None


def beacon_is_valid(secret: str, code: str, visitor: str, token: str) -> bool:
    issued = beacon_issued(token)
    if issued is None:
        return False
    expected = beacon_token(secret, code, visitor, issued, beacon_network(token))
    return hmac.compare_digest(token, expected)
