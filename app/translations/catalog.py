"""Keeping the French and English catalogues complete.

`python -m app.translations.catalog update` extracts every string marked for translation,
merges it into both catalogues and, given ``--fill FILE.py`` defining ``FR = {english:
french}``, writes those French translations. `check` lists what is missing; the test suite
runs the same check.
"""

from __future__ import annotations

import argparse
import runpy
import subprocess
import sys
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from app.core.i18n import french_typography
from app.core.settings import ROOT

HERE = Path(__file__).resolve().parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy": None}
METHOD_MAP = [("app/**.py", "python"), ("push/**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {
    "templates/**.html": {
        "extensions": "jinja2.ext.i18n,jinja2.ext.do",
        "trim_blocks": "True",
        "lstrip_blocks": "True",
    }
}


def extract() -> Catalog:
    catalog = Catalog(project="Relay", charset="utf-8")
    for _filename, _lineno, message, comments, context in extract_from_dir(
        str(ROOT), METHOD_MAP, OPTIONS, keywords=KEYWORDS
    ):
        catalog.add(message, None, [], auto_comments=comments, context=context)
    return catalog


def badly_spaced(language: str) -> list[str]:
    """French translations whose punctuation lacks its non-breaking space."""
    if language != "fr":
        return []
    found: list[str] = []
    for message in load(language):
        if not message.id:
            continue  # the header
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        found.extend(str(s) for s in strings if s and french_typography(str(s)) != s)
    return found


def po_path(language: str) -> Path:
    return HERE / language / "LC_MESSAGES" / "messages.po"


def load(language: str) -> Catalog:
    path = po_path(language)
    if not path.exists():
        return Catalog(locale=language, project="Relay", charset="utf-8")
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def missing(language: str) -> list[str]:
    template = extract()
    catalog = load(language)
    gaps = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id, context=message.context)
        if (
            found is None
            or "fuzzy" in found.flags
            or not found.string
            or (isinstance(found.string, tuple) and not all(found.string))
        ):
            gaps.append(message.id if isinstance(message.id, str) else message.id[0])
    return gaps


def update(fill: dict[str, str]) -> None:
    for language in ("en", "fr"):
        catalog = load(language)
        # A fresh template each time: update() may share message objects with it.
        catalog.update(extract(), no_fuzzy_matching=True)
        for message in catalog:
            if not message.id:
                continue
            key = message.id if isinstance(message.id, str) else message.id[0]
            if language == "en":
                message.string = message.id if isinstance(message.id, str) else tuple(message.id)
            elif key in fill:
                value = fill[key]
                message.string = value if isinstance(message.id, str) else tuple(value)
            if language == "fr" and message.string:
                if isinstance(message.string, str):
                    message.string = french_typography(message.string)
                else:
                    message.string = tuple(french_typography(s) for s in message.string)
            message.flags.discard("fuzzy")
        catalog.obsolete.clear()
        catalog.fuzzy = False
        po_path(language).parent.mkdir(parents=True, exist_ok=True)
        out = BytesIO()
        write_po(out, catalog, omit_header=False, sort_output=True, no_location=True, width=100)
        po_path(language).write_bytes(out.getvalue())


def compile_all() -> None:
    for language in ("en", "fr"):
        subprocess.run(  # noqa: S603 - our own fixed arguments
            [
                sys.executable,
                "-m",
                "babel.messages.frontend",
                "compile",
                "-d",
                str(HERE),
                "-l",
                language,
                "--statistics",
            ],
            check=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["update", "check", "compile"])
    parser.add_argument("--fill", type=Path, help="a .py file defining FR = {english: french}")
    args = parser.parse_args()
    if args.action == "update":
        fill = runpy.run_path(str(args.fill))["FR"] if args.fill else {}
        update(fill)
    if args.action == "compile":
        compile_all()
        return 0
    gaps = missing("fr")
    for gap in gaps:
        print(f"missing French: {gap!r}")
    return 1 if gaps else 0


if __name__ == "__main__":
    sys.exit(main())
