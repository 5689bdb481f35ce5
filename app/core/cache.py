"""A small time-limited map: the one way a process keeps a value for a few seconds.

Relay keeps a few things per process to spare a query on hot pages: the organisation's name,
the feed's tags, the candidate policy, rendered public pages, team rankings. Nothing kept here
is needed by another process; a change made in another process shows within the map's
``ttl_s``, which each user states in its docstring (the README promises that bound).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


# Every map, so that all can be emptied when the process turns to another database.
_EVERY_MAP: weakref.WeakSet[TTLMap[Any, Any]] = weakref.WeakSet()


def forget_everything() -> None:
    """Empty every map of this process: what they keep belongs to the database in use, and
    the process now uses another one (the tests' fresh database for each test)."""
    for kept in list(_EVERY_MAP):
        kept.clear()


class TTLMap(Generic[K, V]):
    """Values by key, each fresh for ``ttl_s`` seconds from when it was put; at most
    ``max_size`` of them (beyond that, the oldest put goes first).

    Freshness is judged when a value is read, with the ``ttl_s`` of that moment.
    """

    def __init__(
        self, ttl_s: float, max_size: int = 1_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self.max_size = max_size
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}
        _EVERY_MAP.add(self)

    def get(self, key: K) -> V | None:
        """The value put for ``key`` if it is still fresh, else None."""
        entry = self.entry(key)
        return entry[0] if entry is not None and entry[1] else None

    def entry(self, key: K) -> tuple[V, bool] | None:
        """The value kept for ``key``, fresh or not, and whether it is still fresh (for a
        caller that serves the old value while it computes a new one)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        put_at, value = entry
        return value, self._clock() - put_at < self.ttl_s

    def put(self, key: K, value: V) -> V:
        """Keep ``value`` for ``key`` from now on; returns it."""
        if self._entries.pop(key, None) is None and len(self._entries) >= max(1, self.max_size):
            # Dicts keep insertion order: the first key is the oldest put.
            del self._entries[next(iter(self._entries))]
        self._entries[key] = (self._clock(), value)
        return value

    def discard(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
