"""Rate limits: fixed windows counted in memory, or in Redis when REDIS_URL is set.

In memory suits the embedded single process; several processes must share Redis, or each
would count alone. The same store keeps short-lived claims (the first genuine click from an
address in a window: app.candidates.visits).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from litestar.exceptions import HTTPException

from app.core.i18n import _


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    per_seconds: int


# Sign-in and enrolment: generous for a person, tight for a script.
SIGNIN_PER_CLIENT = Limit("signin-client", 30, 60)
SIGNIN_FAILURES_PER_ACCOUNT = Limit("signin-account", 10, 600)
ENROL_PER_CLIENT = Limit("enrol-client", 20, 60)
ENROL_PER_LINK = Limit("enrol-link", 10, 600)
INVITES_PER_ADMIN = Limit("invite-admin", 200, 3600)
APPLY_PER_CLIENT = Limit("apply-client", 10, 600)
RECOMMEND_PER_MEMBER = Limit("recommend-member", 30, 3600)
# Redeeming: a person spends points a few times a month; this only stops a runaway script.
REDEEM_PER_MEMBER = Limit("redeem-member", 10, 600)
# SCIM: an identity provider's sync sends bursts of a few hundred requests a minute (Entra ID
# works at about 25 a second at most); a client whose tokens are refused is a guesser.
SCIM_PER_CLIENT = Limit("scim-client", 3000, 60)
SCIM_REFUSED_PER_CLIENT = Limit("scim-refused", 30, 600)
# The ATS's API: a sync of a few hundred offers a minute per token; refused tokens as SCIM's.
API_PER_TOKEN = Limit("api-token", 600, 60)
API_REFUSED_PER_CLIENT = Limit("api-refused", 30, 600)


class TooManyAttempts(HTTPException):
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            detail=_("Too many attempts. Please wait a minute and try again."),
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


class Counter(Protocol):
    async def incr(self, key: str, window_s: int) -> int: ...

    async def claim_all(self, claims: Sequence[tuple[str, str]], window_s: int) -> list[bool]:
        """For each (key, owner) in order: whether the key is this owner's, taking it for
        ``window_s`` seconds when nobody holds it. Asking again for the same owner is true
        again, so a retried batch keeps what it claimed the first time."""
        ...


class MemoryCounter:
    MAX_KEYS = 100_000

    def __init__(self) -> None:
        self.entries: dict[str, tuple[int | str, float]] = {}  # key -> (value, expires at)

    def _live(self, key: str) -> int | str | None:
        entry = self.entries.get(key)
        if entry is None or entry[1] <= time.monotonic():
            return None
        return entry[0]

    def _set(self, key: str, value: int | str, window_s: int) -> None:
        if len(self.entries) >= self.MAX_KEYS and key not in self.entries:
            clock = time.monotonic()
            self.entries = {k: e for k, e in self.entries.items() if e[1] > clock}
            if len(self.entries) >= self.MAX_KEYS:  # all live: start afresh rather than grow
                self.entries.clear()
        expires = self.entries[key][1] if key in self.entries else 0.0
        if expires <= time.monotonic():
            expires = time.monotonic() + window_s + 1
        self.entries[key] = (value, expires)

    async def incr(self, key: str, window_s: int) -> int:
        count = self._live(key)
        count = count + 1 if isinstance(count, int) else 1
        self._set(key, count, window_s)
        return count

    async def claim_all(self, claims: Sequence[tuple[str, str]], window_s: int) -> list[bool]:
        held = []
        for key, owner in claims:
            holder = self._live(key)
            if holder is None:
                self._set(key, owner, window_s)
            held.append(holder is None or holder == owner)
        return held


class RedisCounter:
    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self.client = redis.from_url(url)

    async def incr(self, key: str, window_s: int) -> int:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, window_s + 1)
            count, _expire = await pipe.execute()
        return int(count)

    async def claim_all(self, claims: Sequence[tuple[str, str]], window_s: int) -> list[bool]:
        if not claims:
            return []
        # One round trip: SET NX then GET for each claim, in order.
        async with self.client.pipeline(transaction=False) as pipe:
            for key, owner in claims:
                pipe.set(key, owner, nx=True, ex=window_s + 1)
                pipe.get(key)
            answers = await pipe.execute()
        holders = answers[1::2]
        return [
            holder is not None and holder.decode() == owner
            for holder, (_key, owner) in zip(holders, claims, strict=True)
        ]


class RateLimiter:
    def __init__(self, redis_url: str | None = None) -> None:
        self.counter: Counter = RedisCounter(redis_url) if redis_url else MemoryCounter()

    async def hit(self, limit: Limit, key: str) -> None:
        """Count one attempt; raise :class:`TooManyAttempts` past the limit."""
        window = int(time.time() // limit.per_seconds)
        count = await self.counter.incr(f"relay:rl:{limit.name}:{key}:{window}", limit.per_seconds)
        if count > limit.count:
            retry_after = limit.per_seconds - int(time.time() % limit.per_seconds)
            raise TooManyAttempts(max(retry_after, 1))
