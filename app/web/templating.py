"""The Jinja2 environment every page is rendered with."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal
from jinja2 import BytecodeCache, Environment, FileSystemLoader, select_autoescape
from jinja2.bccache import Bucket
from jinja2.nodes import EvalContext
from jinja2.utils import pass_eval_context
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from markupsafe import Markup, escape

from app.core import i18n
from app.web.assets import HTMX_JS, Assets


@cache
def _symbols(language: str) -> tuple[str, str]:
    """The language's group and decimal separators ("," and "." in English)."""
    sample = str(format_decimal(1234.5, format="#,##0.0", locale=language))
    return sample[1], sample[-2]


def number(value: float, decimals: int = 0) -> str:
    """A number as the reader's language writes it: 12,345 in English, 12 345 in French.
    Babel's formatting is slow for a page of numbers: its separators are read once."""
    group, point = _symbols(i18n.current_language.get())
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", point).replace("\0", group)


def average(value: float) -> str:
    """An average as people write one: at most one decimal, none when it is whole ("271",
    "271.5"; "271,5" in French), by Babel in the reader's language."""
    return str(format_decimal(value, format="#,##0.#", locale=i18n.current_language.get()))


def day(value: date) -> str:
    """A date as the reader's language writes it briefly: "Nov 30, 2026", "30 nov. 2026"."""
    if isinstance(value, datetime):  # its date as written, as Babel takes it (no zone change)
        value = value.date()
    elif type(value) is not date:  # None (Babel's today) or a subclass: not cached
        return str(format_date(value, "medium", locale=i18n.current_language.get()))
    return _day(value, i18n.current_language.get())


@lru_cache(maxsize=4096)
def _day(value: date, language: str) -> str:
    # Babel takes ~60 µs a date; a year's trend chart labels 200 of them.
    return str(format_date(value, "medium", locale=language))


def moment(value: datetime, zone: str | None = None) -> str:
    """A date and time as the reader's language writes them: "Nov 30, 2026, 2:30 PM",
    "30 nov. 2026, 14:30"; in UTC, or in the time zone ``zone`` names (an IANA name)."""
    language = i18n.current_language.get()
    where = ZoneInfo(zone) if zone else UTC
    when = value.astimezone(where) if value.tzinfo else value.replace(tzinfo=UTC).astimezone(where)
    pattern = str(Locale.parse(language).datetime_formats["medium"])
    return pattern.replace("{1}", format_date(when, "medium", locale=language)).replace(
        "{0}", format_time(when, "short", tzinfo=where, locale=language)
    )


def local_moment(value: datetime) -> str:
    """A date and time in their own time zone (an event's), as the reader's language writes
    them: "Dec 3, 2026, 2:30 PM", "3 déc. 2026, 14:30"."""
    language = i18n.current_language.get()
    pattern = str(Locale.parse(language).datetime_formats["medium"])
    return pattern.replace("{1}", format_date(value, "medium", locale=language)).replace(
        "{0}", format_time(value, "short", tzinfo=value.tzinfo, locale=language)
    )


@cache
def _whole_currency_pattern(language: str) -> str:
    """The language's currency pattern without cents: "¤#,##0", "#,##0 ¤"."""
    pattern = Locale.parse(language).currency_formats["standard"].pattern
    return pattern.split(";")[0].replace(".00", "")


def money(value: float, currency: str = "EUR") -> str:
    """An amount in whole units as the reader's language writes it: "€48,000", "48 000 €"."""
    language = i18n.current_language.get()
    return str(
        format_currency(
            value,
            currency,
            format=_whole_currency_pattern(language),
            locale=language,
            currency_digits=False,
        )
    )


def label(text: str) -> str:
    """A label and its colon: "Level:" in English, "Niveau :" (non-breaking space) in French."""
    return f"{text}\u00a0:" if i18n.current_language.get() == "fr" else f"{text}:"


# Templates' ``_("...")`` and ``gettext("...")`` without variables, per language: the
# translated text as Jinja's newstyle gettext returns it (Markup, formatted with no variables).
# Only messages the templates pass are kept, at most _KEPT_MAX a language.
_KEPT_MAX = 4_000
_kept: dict[str, dict[str, Markup]] = {}


@pass_eval_context
def template_gettext(eval_ctx: EvalContext, message: str, /, **variables: Any) -> str:
    """Jinja's newstyle ``gettext`` (``jinja2.ext._make_new_gettext``) made light: the same
    result (the translation as Markup when autoescaping, formatted with ``variables``, their
    values escaped, "%%" for a percent sign), without the ``_`` alias resolving ``gettext`` in
    the context and each calling through it (its parameters positional-only, as
    Jinja's are, so that a variable may be called ``message`` or ``num``), and the text of a message without variables
    kept per language. It was a quarter of a page's rendering (57 calls on Me)."""
    if not eval_ctx.autoescape:
        return i18n.gettext(message) % variables
    if variables or type(message) is not str:
        return Markup(i18n.gettext(message)) % variables  # noqa: S704 (our catalogue, as Jinja)
    language = i18n.current_language.get()
    kept = _kept.get(language)
    if kept is None:
        kept = _kept[language] = {}
    text = kept.get(message)
    if text is None:
        text = Markup(i18n.gettext(message)) % variables  # noqa: S704 (as above)
        if len(kept) < _KEPT_MAX:
            kept[message] = text
    return text


@pass_eval_context
def template_ngettext(
    eval_ctx: EvalContext, singular: str, plural: str, num: int, /, **variables: Any
) -> str:
    """Jinja's newstyle ``ngettext`` (``jinja2.ext._make_new_ngettext``) without calling the
    translation through the context: ``num`` among the variables unless given."""
    variables.setdefault("num", num)
    text = i18n.ngettext(singular, plural, num)
    if eval_ctx.autoescape:
        return Markup(text) % variables  # noqa: S704 (our catalogue, as Jinja)
    return text % variables


def badge_icons(badges: list[dict[str, Any]]) -> Markup:
    """A board row's earned badges as small icons (each refers to its symbol in the page's
    ``medal_sprite``), their names for screen readers; nothing for none. A streak badge
    (``streak_4``, ``streak_12``) shows its number of weeks.

    In Python rather than a Jinja macro, as :func:`avatar`: the leaderboard shows 50 rows.
    Every value is escaped."""
    if not badges:
        return Markup()
    items = []
    for badge in badges:
        key, name = escape(badge["badge"]), escape(badge["name"])
        weeks = str(badge["badge"]).removeprefix("streak_")
        count = (
            f'<span class="medal__count" aria-hidden="true">{escape(weeks)}</span>'
            if str(badge["badge"]).startswith("streak_")
            else ""
        )
        items.append(
            f'<li class="medal" title="{name}"><svg aria-hidden="true" width="16" height="16">'
            f'<use href="#medal-{key}"/></svg>{count}<span class="visually-hidden">{name}</span>'
            "</li>"
        )
    label = escape(
        i18n.ngettext("%(num)d badge", "%(num)d badges", len(badges)) % {"num": len(badges)}
    )
    return Markup(  # noqa: S704 (escaped above)
        f'<ul class="medals medals--small" aria-label="{label}">{"".join(items)}</ul>'
    )


class KeptRows:
    """The rows of a long list rendered once per language and per the values they show, and
    kept per process: the leaderboard's 50 members, the studio's 50 items. Most rows are the
    same from one view to the next, and Jinja cost more than the queries behind them.

    ``template`` renders one row from ``row`` (and the fixed ``context``); ``key`` says
    everything of a row that the template shows, so a row whose values change is rendered
    again (nothing goes stale: an old key is only dropped, oldest first, past ``max_size``).
    A row is about half a kilobyte: 5,000 of them are a few MB of a process.
    """

    def __init__(
        self,
        template: str,
        key: Callable[[dict[str, Any]], Hashable],
        context: dict[str, Any] | None = None,
        max_size: int = 5_000,
    ) -> None:
        self.template = template
        self.key = key
        self.context = context or {}
        self.max_size = max_size
        self._kept: dict[tuple[str, Hashable], Markup] = {}

    def render(self, env: Environment, rows: Iterable[dict[str, Any]]) -> Markup:
        language = i18n.current_language.get()
        kept = self._kept
        parts = []
        for row in rows:
            key = (language, self.key(row))
            html = kept.get(key)
            if html is None:
                html = Markup(  # noqa: S704 (the template escapes)
                    env.get_template(self.template).render(self.context, row=row)
                )
                if len(kept) >= self.max_size:
                    del kept[next(iter(kept))]
                kept[key] = html
            parts.append(html)
        return Markup("".join(parts))  # noqa: S704 (rendered and escaped above)


def avatar(
    member_id: int | None,
    name: str | None,
    photo: str | None,
    size: int = 40,
    anonymous: Any = False,
) -> Markup:
    """A member's picture: their photo, or their initials in a circle whose colour comes from a
    hash of their id (a fixed palette of classes in app.css, each ≥ 4.5:1 with its text), or,
    for a member who chose not to be named, a neutral figure (no photo, no initials). The name
    is always written next to it, so the picture says nothing more to a screen reader: alt=""
    and aria-hidden. ``size``: 28, 40 or 52 (CSS px).

    In Python rather than a Jinja macro: the leaderboard shows 50 of them, and the macro was a
    fifth of the page's rendering. Every value is escaped, as the template escaped it
    (checked against the macro's output for names, photos and ids with markup in them)."""
    side = escape(size)
    if anonymous:
        return Markup(  # noqa: S704 (escaped above)
            f'<span class="face face--{side} face--neutral" aria-hidden="true"><svg viewBox="0 0 '
            '24 24" focusable="false"><circle cx="12" cy="9" r="4"/><path d="M4 21a8 8 0 0 1 16 '
            '0z"/></svg></span>'
        )
    if photo:
        key = escape(photo)
        return Markup(  # noqa: S704 (escaped above)
            f'<img class="face face--{side}" src="/media/{key}-96.jpg" srcset="/media/{key}-96.jpg '
            f'1x, /media/{key}-192.jpg 2x" alt="" width="{side}" height="{side}" loading="lazy">'
        )
    words = (name or "").split()
    initials = escape(
        ((words[0][:1] if words else "") + (words[-1][:1] if len(words) > 1 else "")).upper()
    )
    colour = ((member_id or 0) * 2654435761) % 4294967296 // 65536 % 8
    return Markup(  # noqa: S704 (escaped above)
        f'<span class="face face--{side} face--c{colour}" aria-hidden="true">{initials}</span>'
    )


class CompiledTemplates(BytecodeCache):
    """Templates compiled once per process, whatever number of environments load them.

    A web process builds one app, so one environment: it has no use for it and keeps no second
    copy of its templates (``COMPILED`` is None). The test suite sets it (tests/conftest.py):
    it builds an app for each of its ~450 app tests, and Jinja compiling again in each the
    templates it renders (all 97: 1.2 s of CPU; the shell's layout and macros, in every
    test) cost the suite minutes. Jinja keys each template by its name and a checksum of its
    source: an edited template is compiled afresh."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self.compiled.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED: BytecodeCache | None = None


def make_environment(templates: Path, assets: Assets) -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates),
        bytecode_cache=COMPILED,
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n", "jinja2.ext.do"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    # The same callables, lighter: `_` straight to gettext rather than Jinja's alias.
    env.globals.update(_=template_gettext, gettext=template_gettext, ngettext=template_ngettext)
    env.filters["number"] = number
    env.filters["average"] = average
    env.filters["day"] = day
    env.filters["moment"] = moment
    env.filters["local_moment"] = local_moment
    env.filters["money"] = money
    env.filters["label"] = label
    env.globals.update(
        static=assets.url,
        htmx_js=HTMX_JS,
        languages=i18n.LANGUAGES,
        current_language=i18n.current_language.get,
        avatar=avatar,
        badge_icons=badge_icons,
    )
    # The form macros (templates/_forms.html) as `forms` in every template, and in every
    # block rendered alone for htmx, where a template's own top-level import does not run.
    env.globals["forms"] = env.get_template("_forms.html").module
    return env


def template_config(templates: Path, assets: Assets) -> TemplateConfig[JinjaTemplateEngine]:
    env = make_environment(templates, assets)
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(env))
