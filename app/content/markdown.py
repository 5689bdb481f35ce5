"""Markdown to safe HTML: markdown-it-py without raw HTML, then nh3's allow-list.

Both layers matter: markdown-it escapes any HTML an editor types, and nh3 strips whatever
a future change of parser options might let through (event handlers, javascript: links).
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_parser.disable("image")  # images come from the studio's checked uploads, not from any URL

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "a", "ul", "ol", "li", "blockquote", "h2", "h3", "h4",
    "code", "pre", "hr",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


# The same text always renders the same: a small per-process cache keeps the public page,
# a hot path, from parsing and cleaning the body on every request.
@lru_cache(maxsize=1024)
def render_markdown(text: str) -> Markup:
    html = _parser.render(text or "")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)  # noqa: S704 - cleaned by nh3 just above


@lru_cache(maxsize=1024)
def plain_excerpt(text: str, length: int = 180) -> str:
    """The first words of the body as plain text: card teasers and link previews."""
    plain = nh3.clean(_parser.render(text or ""), tags=set()).replace("\n", " ")
    plain = " ".join(plain.split())
    import html

    plain = html.unescape(plain)
    return plain if len(plain) <= length else plain[: length - 1].rsplit(" ", 1)[0] + "…"
