"""Accent- and case-insensitive search, the same on SQLite and PostgreSQL.

Neither database folds accents the same way without extensions (``unaccent`` on PostgreSQL,
nothing built in on SQLite, whose ``LOWER`` knows only ASCII). So a searchable table keeps a
``search_text`` column: its text folded here (no accents, lower case, one space between
words), written with the row, and a search is a ``LIKE`` of the folded term on that column:
``developpeur``, ``DÉVELOPPEUR`` and ``développeur`` all find "Développeur".
"""

from __future__ import annotations

import unicodedata

# Letters that decomposition does not split into a base letter and a mark.
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ı": "i"})
MAX_TERM = 100


def folded(text: str) -> str:
    """``text`` without accents, in lower case, its whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.translate(_LIGATURES).split())


def contains_pattern(term: str) -> str | None:
    """The ``LIKE`` pattern finding ``term`` in a ``search_text`` column, None when there is
    nothing to look for. ``%`` is taken out (no wildcard typed by a user); ``_`` matches
    itself among others, which is harmless."""
    cleaned = folded(term[:MAX_TERM]).replace("%", "").replace("\\", "")
    return f"%{cleaned}%" if cleaned.strip() else None
