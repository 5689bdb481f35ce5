"""The Jinja2 environment every page is rendered with."""

from __future__ import annotations

from pathlib import Path

from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from app.web import i18n
from app.web.assets import Assets

HTMX_VERSION = "2.0.11"


def number(value: float, decimals: int = 0) -> str:
    """A number as the reader's language writes it: 12,345 in English, 12 345 in French."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return str(format_decimal(value, format=pattern, locale=i18n.current_language.get()))


def make_environment(templates: Path, assets: Assets) -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n", "jinja2.ext.do"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["number"] = number
    env.globals.update(
        static=assets.url,
        htmx_js=f"htmx-{HTMX_VERSION}.min.js",
        languages=i18n.LANGUAGES,
        current_language=i18n.current_language.get,
    )
    return env


def template_config(templates: Path, assets: Assets) -> TemplateConfig[JinjaTemplateEngine]:
    env = make_environment(templates, assets)
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(env))
