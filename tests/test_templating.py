"""Pages' gettext in templates: Relay's light callables say exactly what Jinja's own did."""

from __future__ import annotations

import re

import pytest
from jinja2 import Environment

from app.core import i18n
from app.web.templating import KeptRows, badge_icons, template_gettext, template_ngettext

SOURCES = [
    '{{ _("Leaderboard") }}',
    '{{ gettext("Leaderboard") }}|{{ _("Leaderboard") }}',
    '{{ _("requested %(when)s", when="<b>today</b>") }}',
    '{{ _("A message not in the catalogue, 100%%") }}',
    '{{ ngettext("%(num)d point", "%(num)d points", n) }}',
    '{{ ngettext("%(num)s point earned", "%(num)s points earned", n, num="<1>") }}',
    '{% for x in [1, 2] %}{{ _("Leaderboard") ~ x }}{% endfor %}',
    "{% trans %}Leaderboard{% endtrans %}{% trans n=n %}{{ n }} apple{% pluralize %}{{ n }} apples{% endtrans %}",
    '{% autoescape false %}{{ _("requested %(when)s", when="<b>") }}{% endautoescape %}',
    '{% set label = _("Leaderboard") %}{{ label is string }}{{ label.__html__ is defined }}',
]


def environment(light: bool) -> Environment:
    env = Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    if light:
        env.globals.update(_=template_gettext, gettext=template_gettext, ngettext=template_ngettext)
    return env


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_page_reads_the_same_translations_escaped_the_same_way(language: str) -> None:
    jinja, light = environment(light=False), environment(light=True)
    with i18n.in_language(language):
        for source in SOURCES:
            for n in (1, 3):
                expected = jinja.from_string(source).render(n=n)
                assert light.from_string(source).render(n=n) == expected, source
                # A second time, as the kept text of a message answers.
                assert light.from_string(source).render(n=n) == expected, source
    with i18n.in_language("fr"):
        assert light.from_string('{{ _("Leaderboard") }}').render() != "Leaderboard"
    with i18n.in_language("en"):
        assert light.from_string('{{ _("Leaderboard") }}').render() == "Leaderboard"


# What the badge_icons macro of templates/boards/_badges.html was, before it became Python.
MACRO_BADGE_ICONS = """{% macro badge_icons(badges) %}
{% if badges %}
<ul class="medals medals--small" aria-label="{{ ngettext('%(num)d badge', '%(num)d badges', badges|length) }}">
  {% for b in badges %}<li class="medal" title="{{ b.name }}"><svg aria-hidden="true" width="16" height="16"><use href="#medal-{{ b.badge }}"/></svg>{% if b.badge == "streak_4" %}<span class="medal__count" aria-hidden="true">4</span>{% elif b.badge == "streak_12" %}<span class="medal__count" aria-hidden="true">12</span>{% endif %}<span class="visually-hidden">{{ b.name }}</span></li>{% endfor %}
</ul>
{% endif %}
{% endmacro %}{{ badge_icons(badges) }}"""


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_rows_badge_icons_are_what_the_macro_wrote_escaped_alike(language: str) -> None:
    macro = environment(light=True).from_string(MACRO_BADGE_ICONS)
    rows = [
        [],
        [{"badge": "first_share", "name": 'Premier <b>"partage"</b> & co'}],
        [
            {"badge": "streak_4", "name": "Four weeks"},
            {"badge": "streak_12", "name": "Twelve weeks"},
            {"badge": "first_<hire>", "name": "x"},
        ],
    ]
    with i18n.in_language(language):
        for badges in rows:
            expected = re.sub(r">\s+<", "><", macro.render(badges=badges)).strip()
            assert str(badge_icons(badges)) == expected


def test_kept_rows_render_a_row_once_per_language_and_values_and_stay_bounded() -> None:
    from jinja2 import DictLoader

    rendered: list[str] = []

    def seen(name: str) -> str:
        rendered.append(name)
        return name

    env = Environment(
        autoescape=True, loader=DictLoader({"row.html": "<li>{{ seen(row.name) }}</li>"})
    )
    env.globals["seen"] = seen
    rows = KeptRows("row.html", lambda row: row["name"], max_size=3)
    first = rows.render(env, [{"name": "Ann"}, {"name": "<Bob>"}])
    assert first == "<li>Ann</li><li>&lt;Bob&gt;</li>" and rendered == ["Ann", "<Bob>"]
    assert (
        rows.render(env, [{"name": "<Bob>"}, {"name": "Ann"}]) == "<li>&lt;Bob&gt;</li><li>Ann</li>"
    )
    assert rendered == ["Ann", "<Bob>"]  # both kept: not rendered again
    token = i18n.current_language.set("fr")
    try:
        rows.render(env, [{"name": "Ann"}])  # another language is another row
    finally:
        i18n.current_language.reset(token)
    assert rendered == ["Ann", "<Bob>", "Ann"]
    rows.render(env, [{"name": "Cy"}])  # a fourth: the oldest goes
    rows.render(env, [{"name": "Ann"}, {"name": "Cy"}])
    assert rendered == ["Ann", "<Bob>", "Ann", "Cy", "Ann"] and len(rows._kept) == 3


def test_a_day_is_written_as_babel_writes_it_for_a_date_and_a_moment() -> None:
    from datetime import UTC, date, datetime, timedelta, timezone

    from babel.dates import format_date

    from app.web.templating import day

    moments = [
        datetime(2026, 11, 30, 23, 59, tzinfo=UTC),
        datetime(2026, 12, 1, 0, 30, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2026, 1, 2, 8, 0),
        date(2026, 7, 14),
    ]
    for language in ("en", "fr"):
        token = i18n.current_language.set(language)
        try:
            for value in moments:
                assert day(value) == format_date(value, "medium", locale=language)
        finally:
            i18n.current_language.reset(token)
    assert day(datetime(2026, 11, 30, 23, 59, tzinfo=UTC)) == "Nov 30, 2026"
