"""Hostile input stopped at the edge, in one place: ids, numbers, text, URLs, times, JSON.

Two layers. `screen_request` runs before every handler and refuses what no field can ever
accept: an id beyond the database's integer range (404), a NUL byte anywhere in a query,
a form or a JSON body (PostgreSQL's text cannot hold one), bytes that are not UTF-8 in a
form, and JSON nested deeper than any of Relay's bodies (400). The parsers below are what
forms use for their own fields, so that each refusal is a sentence next to its field.
"""

from __future__ import annotations

import logging
import re
import weakref
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import SplitResult, urlsplit

import asyncpg.exceptions
import asyncpg.exceptions._base
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException, NotFoundException

from app.core.i18n import _

log = logging.getLogger("relay")

# Piccolo's Serial is a 32-bit `serial` on PostgreSQL: the largest id either database holds.
MAX_ID = 2_147_483_647
# Relay's deepest JSON body is a WebAuthn credential, four levels down.
MAX_JSON_DEPTH = 32
# U+200E/F marks, U+202A-E embeddings and overrides, U+2066-9 isolates: they can make a
# name read backwards in every list, mail and CSV it appears in.
BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_DIGITS = re.compile(r"[0-9]+")
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


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


def json_depth(body: bytes) -> int:
    """How deeply a JSON document nests, counted without parsing it (strings skipped)."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub(b"", body)):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


# Keyed by the handler itself, weakly: an id() key outlives its handler and, once the number is
# reused by another app's handler (tests build many apps), hands back the wrong parameters.
_INT_QUERIES: weakref.WeakKeyDictionary[Any, list[str]] = weakref.WeakKeyDictionary()


def _int_queries(handler: Any) -> list[str]:
    """The query parameters a handler takes as integers (cursors such as ``before``)."""
    names = _INT_QUERIES.get(handler)
    if names is None:
        names = _INT_QUERIES[handler] = [
            name
            for name, field in handler.parsed_fn_signature.parameters.items()
            if int in (field.annotation, *field.args)
        ]
    return names


async def screen_request(request: Any) -> None:
    """Before every handler: refuse what no field of Relay can accept (see the module)."""
    for value in request.path_params.values():
        if isinstance(value, int) and not 0 < value <= MAX_ID:
            raise NotFoundException()
    for name in _int_queries(request.route_handler):
        if name in request.path_params:
            continue
        try:
            value = int(request.query_params.get(name) or 0)
        except ValueError:
            continue  # not a number at all: Litestar refuses it with a 400
        if abs(value) > MAX_ID:
            raise NotFoundException()
    query = request.scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        raise ClientException(_("That request could not be understood"))
    if request.method not in {"POST", "PUT", "PATCH"}:
        return
    content_type = request.content_type[0]
    if content_type == RequestEncodingType.JSON:
        body = await request.body()
        if b"\x00" in body or b"\\u0000" in body or json_depth(body) > MAX_JSON_DEPTH:
            raise ClientException(_("That request could not be understood"))
    elif content_type in {RequestEncodingType.MULTI_PART, RequestEncodingType.URL_ENCODED}:
        try:
            form = await request.form()
        except UnicodeDecodeError as exc:
            raise ClientException(
                _("Some of the text sent could not be read. Please retype it and try again.")
            ) from exc
        if any(_has_nul(v) for _name, v in form.multi_items()):
            raise ClientException(_("That request could not be understood"))


# The second line, for a value that slipped past the first into a parser or the database:
# bytes that are not UTF-8 (Litestar's CSRF check reads a form before any handler does), a
# number too large for a column, text PostgreSQL cannot store. A refusal, never a 500.
UNREADABLE_INPUT: tuple[type[Exception], ...] = (
    UnicodeDecodeError,
    OverflowError,
    asyncpg.exceptions.DataError,  # the server's class 22: out of range, NUL in text…
    asyncpg.exceptions._base.DataError,  # the driver's: a parameter out of its type's range
)


def refusal(exc: Exception) -> ClientException:
    """The 400 that answers one of UNREADABLE_INPUT."""
    log.warning("Refused input that passed the edge checks: %r", exc)
    return ClientException(_("That request could not be understood"))
