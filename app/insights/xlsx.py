"""A small streaming XLSX writer: sheets of plain values (numbers and text), nothing else.

openpyxl's write-only mode spent tens of microseconds a cell (measured: 3.5 s for the 6,000
rows of a year at 5,000 members, 30 s expected at 50,000); a workbook is a zip of XML parts,
and the sheets' rows are written straight into it here, a few microseconds a cell. Text goes
in as inline strings, XML-escaped, without the control characters XML forbids; the callers
neutralise formulas (:func:`app.candidates.pipeline.safe_cell`).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from typing import Any
from xml.sax.saxutils import escape

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006"
FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
SHEET_NAME = re.compile(r"[\[\]:*?/\\]")
HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
STYLES = (
    f'{HEAD}<styleSheet xmlns="{MAIN}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    '</cellStyleXfs><cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" '
    'xfId="0"/></cellXfs></styleSheet>'
)


def column(n: int) -> str:
    """A, B, … Z, AA, … for the 0-based column n."""
    name = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        name = chr(65 + rest) + name
    return name


def _cell(ref: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    text = escape(FORBIDDEN.sub("", str(value)))
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def sheet_data(rows: Iterable[list[Any]]) -> bytes:
    """A sheet's rows as the XML of its ``sheetData`` (to keep, and write into a workbook)."""
    return b"".join(_sheet_rows(rows))


def _sheet_rows(rows: Iterable[list[Any]]) -> Iterable[bytes]:
    names: list[str] = []
    chunk: list[str] = []
    for r, row in enumerate(rows, 1):
        while len(names) < len(row):
            names.append(column(len(names)))
        cells = [f'<row r="{r}">']
        for c, value in enumerate(row):
            kind = type(value)
            # Numbers first, without a call: most cells of a breakdown (50,000 rows of 8).
            if kind is int or kind is float:
                cells.append(f'<c r="{names[c]}{r}"><v>{value!r}</v></c>')
            elif value is not None and value != "":
                cells.append(_cell(f"{names[c]}{r}", value))
        cells.append("</row>")
        chunk.append("".join(cells))
        if len(chunk) >= 1000:
            yield "".join(chunk).encode()
            chunk.clear()
    yield "".join(chunk).encode()


def workbook(sheets: Iterable[tuple[str, Iterable[list[Any]] | bytes]]) -> bytes:
    """The workbook of the sheets (title, rows), written as the rows come; a sheet's rows
    may be given already written (:func:`sheet_data`)."""
    out = io.BytesIO()
    titles: list[str] = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        for number, (title, rows) in enumerate(sheets, 1):
            titles.append(SHEET_NAME.sub(" ", title)[:31] or f"Sheet{number}")
            with book.open(f"xl/worksheets/sheet{number}.xml", "w") as part:
                part.write(f'{HEAD}<worksheet xmlns="{MAIN}"><sheetData>'.encode())
                for written in [rows] if isinstance(rows, bytes) else _sheet_rows(rows):
                    part.write(written)
                part.write(b"</sheetData></worksheet>")
        sheet_list = "".join(
            f'<sheet name="{escape(t, {chr(34): "&quot;"})}" sheetId="{n}" r:id="rId{n}"/>'
            for n, t in enumerate(titles, 1)
        )
        book.writestr(
            "xl/workbook.xml",
            f'{HEAD}<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>{sheet_list}</sheets>'
            "</workbook>",
        )
        links = "".join(
            f'<Relationship Id="rId{n}" Type="{RELS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
            for n in range(1, len(titles) + 1)
        )
        styles = len(titles) + 1
        book.writestr(
            "xl/_rels/workbook.xml.rels",
            f'{HEAD}<Relationships xmlns="{PACKAGE}/relationships">{links}'
            f'<Relationship Id="rId{styles}" Type="{RELS}/styles" Target="styles.xml"/>'
            "</Relationships>",
        )
        book.writestr("xl/styles.xml", STYLES)
        book.writestr(
            "_rels/.rels",
            f'{HEAD}<Relationships xmlns="{PACKAGE}/relationships">'
            f'<Relationship Id="rId1" Type="{RELS}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        kinds = "application/vnd.openxmlformats-officedocument.spreadsheetml"
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" '
            f'ContentType="{kinds}.worksheet+xml"/>'
            for n in range(1, len(titles) + 1)
        )
        book.writestr(
            "[Content_Types].xml",
            f'{HEAD}<Types xmlns="{PACKAGE}/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{kinds}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{kinds}.styles+xml"/>'
            f"{overrides}</Types>",
        )
    return out.getvalue()
