"""Hostile input stopped at the edge, in one place: ids, numbers, text, URLs, times, JSON.

Two layers. `screen_request` runs before every handler and refuses what no field can ever
accept: an id beyond the database's integer range (404), a NUL byte anywhere in a query,
a form or a JSON body (PostgreSQL's text cannot hold one), bytes that are not UTF-8 in a
form, and JSON nested deeper than any of Relay's bodies (400). The parsers forms use for their
own fields, so that each refusal is a sentence next to its field, are in ``app.core.validation``.
"""

from __future__ import annotations

import logging
import re
import weakref
from typing import Any

import asyncpg.exceptions
import asyncpg.exceptions._base
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException, NotFoundException

from app.core.i18n import _
from app.core.validation import MAX_ID

log = logging.getLogger("relay")

# Relay's deepest JSON body is a WebAuthn credential, four levels down.
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


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
