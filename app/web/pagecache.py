"""Public pages rendered once and kept a few seconds in this process.

A hot public page (the one behind a tracked link) is the same for every visitor but for a
couple of values: its CSRF token, the beacon's token. Such a page is rendered with *slots*
in their place, kept here for :data:`TTL_S` seconds, and each request only fills the slots.

Nothing here is needed by another process: each keeps its own pages. A change made through
this process (an offer closed, the sharer's credit turned off…) calls
:func:`public_pages_changed` and shows at once; one made through another process shows
within the TTL.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Hashable

TTL_S = 5.0
MAX_PAGES = 2_000

# Random per process, so that no text an editor writes can ever look like a slot.
_SLOT_MARK = secrets.token_hex(8)
_generation = 0


def slot(name: str) -> str:
    """A placeholder rendered where a per-request value goes (letters and digits only, so
    escaping leaves it as is)."""
    return f"relayslot{_SLOT_MARK}{name}"


def public_pages_changed() -> None:
    """What public pages show has changed: forget every page rendered before now."""
    global _generation
    _generation += 1


class RenderedPages:
    """Rendered pages by key, each for :data:`TTL_S` seconds or until a change."""

    def __init__(self, ttl_s: float = TTL_S, max_pages: int = MAX_PAGES) -> None:
        self.ttl_s = ttl_s
        self.max_pages = max_pages
        self._pages: dict[Hashable, tuple[float, int, str]] = {}

    def get(self, key: Hashable) -> str | None:
        entry = self._pages.get(key)
        if entry is None:
            return None
        expires, generation, html = entry
        if generation != _generation or time.monotonic() >= expires:
            del self._pages[key]
            return None
        return html

    def put(self, key: Hashable, html: str) -> None:
        if len(self._pages) >= self.max_pages:
            self._pages.clear()  # a crawl of many links: start again rather than track ages
        self._pages[key] = (time.monotonic() + self.ttl_s, _generation, html)


def fill(html: str, values: dict[str, str]) -> str:
    """The page with each slot replaced by this request's value."""
    for name, value in values.items():
        html = html.replace(slot(name), value)
    return html
