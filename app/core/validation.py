"""The parsers forms use for their own fields: ids, numbers, names, URLs, times.

Each returns None (or raises ValueError, for times) on what it cannot accept, so that the
caller can put a sentence next to the field. Pure functions, no HTTP: domain services use them
to check what a form says; ``app.web.validation`` screens every request before a handler runs.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import SplitResult, urlsplit

from app.core.i18n import _

# Piccolo's Serial is a 32-bit `serial` on PostgreSQL: the largest id either database holds.
MAX_ID = 2_147_483_647
# U+200E/F marks, U+202A-E embeddings and overrides, U+2066-9 isolates: they can make a
# name read backwards in every list, mail and CSV it appears in.
BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_DIGITS = re.compile(r"[0-9]+")


def parse_int(text: str | None, *, max_digits: int = 9) -> int | None:
    """A whole number written in ASCII digits, at most `max_digits` long; None otherwise.

    `str.isdigit()` accepts "²" and `int()` accepts "٣": neither is a number people type here.
    """
    text = (text or "").strip()
    if len(text) > max_digits or not _DIGITS.fullmatch(text):
        return None
    return int(text)


def parse_id(text: Any) -> int | None:
    """A row id as a form or a query sends it: 1 to MAX_ID, or None."""
    value = parse_int(str(text if text is not None else ""), max_digits=10)
    return value if value is not None and 0 < value <= MAX_ID else None


def parse_ids(values: Any) -> list[int]:
    """The valid ids among a form's repeated field, in order, without repeats."""
    if values is None:
        return []
    if not isinstance(values, list):
        values = [values]
    ids = [i for i in (parse_id(v) for v in values) if i is not None]
    return list(dict.fromkeys(ids))


def https_url(text: str) -> SplitResult | None:
    """The parts of an https:// address with a host; None for anything else.

    `urlsplit` raises ValueError on "https://[" and `.hostname` on some hosts: never here.
    """
    try:
        parts = urlsplit(text.strip())
        if parts.scheme != "https" or not parts.hostname:
            return None
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:
        return None
    return parts


def host_of(text: str) -> str:
    """The host of an address, or "" when it has none or cannot be parsed."""
    try:
        return urlsplit(text).hostname or ""
    except ValueError:
        return ""


def parse_time(text: str | None, zone: tzinfo = UTC) -> datetime | None:
    """A datetime-local field (in `zone`) or an ISO time, as UTC; None when empty.

    Raises ValueError for text that is not a time, and for a time that exists in its own
    zone but not in UTC (0001-01-01T00:00+14:00 is before year 1 there).
    """
    text = (text or "").strip()
    if not text:
        return None
    if len(text) > 40:
        raise ValueError("too long to be a time")
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    try:
        return value.astimezone(UTC).replace(microsecond=0)
    except OverflowError as exc:
        raise ValueError("out of range") from exc


def name_problem(name: str) -> str | None:
    """Why a person's name cannot be kept as typed, or None."""
    if "\x00" in name or BIDI_CONTROLS.search(name):
        return _("Names cannot contain invisible control characters. Please retype it.")
    return None
