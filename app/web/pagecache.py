"""Public pages rendered once and kept a few seconds in this process.

A hot public page (the one behind a tracked link) is the same for every visitor but for a
couple of values: its CSRF token, the beacon's token. Such a page is rendered with *slots*
in their place and kept here for :data:`TTL_S` seconds as a :class:`Page`; each request only
fills the slots.

Compressing a page costs more CPU than everything else its request does, so a page is also
kept gzip-compressed, cut at its slots: each request joins the compressed pieces with its own
values stored uncompressed (a few dozen bytes) into one valid gzip body.

Nothing here is needed by another process: each keeps its own pages. A change made through
this process (an offer closed, the sharer's credit turned off…) calls
:func:`public_pages_changed` and shows at once; one made through another process shows
within the TTL.
"""

from __future__ import annotations

import re
import secrets
import struct
import zlib
from collections.abc import Hashable, Mapping

from app.core.cache import TTLMap

TTL_S = 5.0
MAX_PAGES = 2_000

# Random per process, so that no text an editor writes can ever look like a slot.
_SLOT_MARK = f"relayslot{secrets.token_hex(8)}"
_SLOTS = re.compile(_SLOT_MARK + r"_([a-z]+)_")
_generation = 0

GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no time
LAST_BLOCK = b"\x01\x00\x00\xff\xff"  # an empty stored block marked final


def slot(name: str) -> str:
    """A placeholder rendered where a per-request value goes (letters, digits and ``_`` only,
    so escaping leaves it as is); ``name`` is lower-case letters."""
    return f"{_SLOT_MARK}_{name}_"


def public_pages_changed() -> None:
    """What public pages show has changed: forget every page rendered before now."""
    global _generation
    _generation += 1


def generation() -> int:
    """How many times :func:`public_pages_changed` was called in this process: a value kept
    with it is stale once it moved."""
    return _generation


def accepts_gzip(accept_encoding: str) -> bool:
    return "gzip" in accept_encoding.lower()


def _deflated(data: bytes) -> bytes:
    """Raw deflate ending on a byte boundary with no reference to what comes before or
    after (a full flush): such pieces can be joined in any order with stored blocks."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)


def _stored(data: bytes) -> bytes:
    """``data`` as a stored (uncompressed, not final) deflate block."""
    assert len(data) <= 0xFFFF
    return b"\x00" + struct.pack("<HH", len(data), len(data) ^ 0xFFFF) + data


class Page:
    """A rendered page cut at its slots, as UTF-8 pieces and as deflated pieces."""

    def __init__(self, html: str) -> None:
        parts = _SLOTS.split(html)
        self.texts = [part.encode() for part in parts[0::2]]
        self.slots = parts[1::2]
        self.deflated = [_deflated(text) for text in self.texts]

    def body(self, values: Mapping[str, str], gzip: bool = False) -> bytes:
        """The page with this request's values, plain or as a gzip body."""
        filled = [value.encode() for value in (values[name] for name in self.slots)]
        if not gzip:
            pieces = [self.texts[0]]
            for value, text in zip(filled, self.texts[1:], strict=True):
                pieces += [value, text]
            return b"".join(pieces)
        crc = zlib.crc32(self.texts[0])
        size = len(self.texts[0])
        pieces = [GZIP_HEADER, self.deflated[0]]
        for value, text, deflated in zip(filled, self.texts[1:], self.deflated[1:], strict=True):
            crc = zlib.crc32(text, zlib.crc32(value, crc))
            size += len(value) + len(text)
            pieces += [_stored(value), deflated]
        pieces += [LAST_BLOCK, struct.pack("<II", crc, size & 0xFFFFFFFF)]
        return b"".join(pieces)


class RenderedPages:
    """Rendered pages by key, each for :data:`TTL_S` seconds or until a change."""

    def __init__(self, ttl_s: float = TTL_S, max_pages: int = MAX_PAGES) -> None:
        # A crawl of many links pushes the oldest pages out.
        self._pages: TTLMap[Hashable, tuple[int, Page]] = TTLMap(ttl_s, max_size=max_pages)

    def get(self, key: Hashable) -> Page | None:
        kept = self._pages.get(key)
        if kept is None or kept[0] != _generation:
            return None
        return kept[1]

    def put(self, key: Hashable, html: str) -> Page:
        page = Page(html)
        self._pages.put(key, (_generation, page))
        return page
