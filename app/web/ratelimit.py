"""Rate limits: fixed windows counted in memory, or in Redis when REDIS_URL is set.

In memory suits the embedded single process; several processes must share Redis, or each
would count alone.
"""

from __future__ import annotations

import time
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


class MemoryCounter:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    async def incr(self, key: str, window_s: int) -> int:
        if len(self.counts) > 100_000:  # old windows pile up; start afresh rather than grow
            self.counts.clear()
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key]


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
