"""Languages: French and English, chosen per request and used by templates and code alike.

The request's locale lives in a context variable set by :class:`LocaleMiddleware`, so the
gettext callables installed once in Jinja and the ``_()`` used in Python code both answer
in the language of the request being served, whatever else runs concurrently.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from functools import cache, lru_cache
from gettext import NullTranslations
from typing import Any

from babel.support import Translations

from app.core.settings import ROOT

LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français"}
DEFAULT_LANGUAGE = "en"
LOCALE_DIR = ROOT / "app" / "translations"
LANG_COOKIE = "relay_lang"

current_language: ContextVar[str] = ContextVar("current_language", default=DEFAULT_LANGUAGE)


@cache
def translations(language: str) -> NullTranslations:
    if language == "en":
        return NullTranslations()
    return Translations.load(str(LOCALE_DIR), [language], domain="messages")


def gettext(message: str) -> str:
    return translations(current_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language.get()).ngettext(singular, plural, n)


_ = gettext


def lazy(message: str) -> str:
    """Mark a string for extraction where it is defined; translate it where it is shown."""
    return message


NBSP = "\u00a0"
# French typography: a non-breaking space before : ; ! ? and » and after «, so that the mark
# never starts a line. One kind of space everywhere (U+00A0), whoever typed the text.
_FRENCH_SPACES = re.compile(r"(?<=\S)[ \u202f]?(?=[:;!?»](?:\s|$|<|\.))|(?<=«)[ \u202f]?(?=\S)")


def french_typography(text: str) -> str:
    """``text`` with French spacing around its punctuation: "Niveau : Ambassadeur"."""
    return _FRENCH_SPACES.sub(NBSP, text)


def typeset(language: str, text: str) -> str:
    """Text of our own (a default, the demo's) with its language's punctuation spacing."""
    return french_typography(text) if language == "fr" else text


@lru_cache(maxsize=512)
def negotiate(accept_language: str | None) -> str | None:
    """The best of our languages for an Accept-Language header, by its q-values (kept per
    header value: browsers send a handful of them, on every request)."""
    if not accept_language:
        return None
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            choices.append((-quality, position, primary))
    return min(choices)[2] if choices else None


def language_for_scope(scope: dict[str, Any]) -> str:
    """Member's choice, else the language cookie, else Accept-Language, else English."""
    member = scope.get("user")  # set by the session middleware (app.accounts.sessions)
    if member is not None and getattr(member, "language", None) in LANGUAGES:
        return str(member.language)
    headers = dict(scope.get("headers", []))
    cookie_header = headers.get(b"cookie", b"").decode("latin-1")
    for part in cookie_header.split(";"):
        name, _sep, value = part.strip().partition("=")
        if name == LANG_COOKIE and value in LANGUAGES:
            return value
    accepted = negotiate(headers.get(b"accept-language", b"").decode("latin-1"))
    return accepted or DEFAULT_LANGUAGE


def locale_middleware(app):
    """Sets the request's language for everything that runs while serving it."""

    async def wrapped(scope, receive, send):
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        token = current_language.set(language_for_scope(scope))
        try:
            await app(scope, receive, send)
        finally:
            current_language.reset(token)

    return wrapped


class in_language:
    """Translate in another language for a while: a mail in its recipient's language."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE

    def __enter__(self) -> None:
        self.token = current_language.set(self.language)

    def __exit__(self, *exc: object) -> None:
        current_language.reset(self.token)
