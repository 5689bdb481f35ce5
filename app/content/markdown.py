"""Markdown to safe HTML: markdown-it-py without raw HTML, then nh3's allow-list.

Both layers matter: markdown-it escapes any HTML an editor types, and nh3 strips whatever
a future change of parser options might let through (event handlers, javascript: links).
"""

from __future__ import annotations

import re
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


# Where one block of text ends and the next begins, an excerpt puts a space after a sentence
# and a middle dot otherwise: "…plan 2027. Workshops on our roadmap · A hike…", never
# "roadmap A hike".
_SENTENCE_END = (".", "!", "?", "…", ":", ";")
_INLINE_TEXT = {"text", "code_inline"}
_INLINE_BREAKS = {"softbreak", "hardbreak"}
_SPACES = re.compile(r"[ \t\n\r\f\v]+")


def _plain_blocks(text: str) -> list[str]:
    """The text of each block (paragraph, heading, list item, code block…), in order."""
    blocks: list[str] = []
    for token in _parser.parse(text or ""):
        if token.type == "inline":
            words = "".join(
                child.content
                if child.type in _INLINE_TEXT
                else " "
                if child.type in _INLINE_BREAKS
                else ""
                for child in token.children or []
            )
        elif token.type in {"code_block", "fence"}:
            words = token.content
        else:
            continue
        # Runs of ordinary white space become one space; a no-break space stays (French
        # typography: "Stack\u00a0: Python").
        words = _SPACES.sub(" ", words).strip(" ")
        if words:
            blocks.append(words)
    return blocks


@lru_cache(maxsize=1024)
def plain_excerpt(text: str, length: int = 180) -> str:
    """The first words of the body as plain text: card teasers and link previews. Built from
    the Markdown's blocks, so list items and paragraphs stay apart."""
    plain = ""
    for block in _plain_blocks(text):
        if not plain:
            plain = block
        elif plain.endswith(_SENTENCE_END):
            plain = f"{plain} {block}"
        else:
            plain = f"{plain} · {block}"
        if len(plain) > length:
            break
    return plain if len(plain) <= length else plain[: length - 1].rsplit(" ", 1)[0] + "…"
