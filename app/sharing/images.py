"""The images Relay makes for Instagram and TikTok: a 1080×1920 story and a 1080×1080 post per
item and member, in the organisation's colour, with the item's image and title, the
organisation's name and a QR code of the member's tracked link.

Instagram strips links from captions: the QR code is how a candidate gets back to the
tracked page. Its link carries ``?via=qr`` so that the visit is known to come from an image.

An image is made on demand and cached under ``{data_dir}/share-images/{item}/``, named
``{member}-{format}-{hash}.jpg`` where the hash covers everything drawn: a new title, image,
colour or name makes a new file (and the member's older one goes). The name is unguessable
(the hash covers the member's link code), so the file is served without a database read.
An item leaving the feeds takes its folder with it (:func:`forget_item`).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import threading
import unicodedata
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import anyio.to_thread
from PIL import Image, ImageDraw, ImageFont, ImageOps

from app.content.editing import ItemWithdrawn
from app.core.files import StagedFiles, remove

VERSION = "1"  # of the drawing: bump it when the layout changes, to make new files
FORMATS = {"story": (1080, 1920), "post": (1080, 1080)}
FILE_NAME = re.compile(r"^(\d{1,12})-(story|post)-([0-9a-f]{20})\.jpg$")
FOLDER = "share-images"
QR_SOURCE = "qr"  # ?via=qr on the tracked link a QR code carries
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/noto"))
BOLD = ("DejaVuSans-Bold.ttf", "NotoSans-Bold.ttf")
REGULAR = ("DejaVuSans.ttf", "NotoSans-Regular.ttf")
ELLIPSIS = "…"
# Drawing is CPU work: at most two at once per process, off the event loop.
_jobs = threading.BoundedSemaphore(2)
# The images being made in this process, each under its own lock.
_making: dict[Path, threading.Lock] = {}
_making_guard = threading.Lock()


@dataclass(frozen=True)
class Poster:
    """Everything an image shows; its hash names the file."""

    format: str
    title: str
    org_name: str
    colour: str  # "#rrggbb"
    qr_url: str
    call_to_action: str  # "Scan to apply" / "Scan to read", in the member's language
    image: str | None  # the item's image file (its 1200-px JPEG), or None

    def digest(self) -> str:
        data = json.dumps({**asdict(self), "version": VERSION}, sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()[:20]


def qr_url(tracked_url: str) -> str:
    return f"{tracked_url}?via={QR_SOURCE}"


def folder_of(data_dir: Path, item_id: int) -> Path:
    return data_dir / FOLDER / str(item_id)


def file_name(member_id: int, poster: Poster) -> str:
    return f"{member_id}-{poster.format}-{poster.digest()}.jpg"


def cached_bytes(data_dir: Path, item_id: int, name: str) -> bytes | None:
    """The image behind an image URL when it was made, or None (never made, removed, or a
    name Relay does not make)."""
    if not FILE_NAME.match(name):
        return None
    try:
        return (folder_of(data_dir, item_id) / name).read_bytes()
    except OSError:
        return None


def forget_item(data_dir: Path, item_id: int) -> None:
    """Remove every image made from an item (it was unpublished or archived)."""
    shutil.rmtree(folder_of(data_dir, item_id), ignore_errors=True)


def make(data_dir: Path, item_id: int, member_id: int, poster: Poster) -> str:
    """The file's name, drawn and written (atomically) unless it exists; the member's older
    image of that format goes. Blocking: call from a thread. Two requests for the same image
    at once (the sheet's preview and its script's fetch) draw it once."""
    folder = folder_of(data_dir, item_id)
    name = file_name(member_id, poster)
    path = folder / name
    if path.is_file():
        return name
    with _making_guard:
        lock = _making.setdefault(path, threading.Lock())
    try:
        with lock:
            if not path.is_file():
                _draw_and_write(folder, name, poster)
    finally:
        with _making_guard:
            _making.pop(path, None)
    for old in folder.glob(f"{member_id}-{poster.format}-*.jpg"):
        if old.name != name:
            remove(folder, old.name)
    return name


def _draw_and_write(folder: Path, name: str, poster: Poster) -> None:
    with _jobs:
        data = draw(poster)
    files = StagedFiles(folder)
    try:
        files.write(name, data)
        files.publish_blocking()
    except BaseException:
        files.discard()
        raise


# ---------------------------------------------------------------- drawing


@cache
def font(bold: bool, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu (Debian's fonts-dejavu-core), else Noto, else Pillow's own (Latin only)."""
    for folder in FONT_DIRS:
        for name in BOLD if bold else REGULAR:
            if (folder / name).is_file():
                return ImageFont.truetype(str(folder / name), size)
    return ImageFont.load_default(size)


def warm_up() -> None:
    """Load what the first image made in a process would otherwise pay for: the fonts at
    their sizes, the glyph checks of common Latin characters, Pillow's JPEG encoder and
    segno (about 50 ms of a first request's 110 ms, measured in bench/share_images.py)."""
    for bold, size in ((True, 76), (True, 54), (True, 44), (True, 40), (True, 36), (True, 32)):
        font(bold, size)
    for char in "".join(map(chr, range(0x20, 0x7F))) + "àâäçéèêëîïôöùûüÿœæÀÂÇÉÈÊÎÔÙÛŒ’«»…–—€":
        _drawable(char, True)
    _qr("https://localhost/warm-up", 300).save(io.BytesIO(), "JPEG")


@cache
def _notdef(bold: bool) -> bytes:
    return bytes(font(bold, 40).getmask("\ue000"))


@cache
def _drawable(char: str, bold: bool) -> bool:
    """Whether the font has a glyph for ``char`` (else it would draw an empty box: tofu)."""
    if char.isspace() or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return True
    return bytes(font(bold, 40).getmask(char)) != _notdef(bold)


def clean(text: str, bold: bool = True) -> str:
    """``text`` without the characters the font cannot draw (emoji without a glyph…)."""
    kept = "".join(c for c in text if _drawable(c, bold))
    return re.sub(r"\s+", " ", kept).strip()


def _direction(text: str) -> str:
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def _width(
    draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont | ImageFont.ImageFont
) -> float:
    return draw.textlength(text, font=face, direction=_direction(text))


def wrap(
    draw: ImageDraw.ImageDraw,
    text: str,
    face: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    width: int,
    max_lines: int,
) -> list[str]:
    """Lines of at most ``width`` pixels, at most ``max_lines``; the last one ends with an
    ellipsis when the text does not fit. A word longer than a line is cut."""
    lines: list[str] = []
    words = text.split(" ")
    current = ""
    cut = False
    while words:
        word = words.pop(0)
        attempt = f"{current} {word}" if current else word
        if _width(draw, attempt, face) <= width:
            current = attempt
            continue
        if not current:  # one word wider than the line: cut it
            head = word
            while len(head) > 1 and _width(draw, head, face) > width:
                head = head[:-1]
            current, rest = head, word[len(head) :]
            words.insert(0, rest)
        else:
            words.insert(0, word)
        lines.append(current)
        current = ""
        if len(lines) == max_lines:
            cut = bool(words)
            break
    if current and len(lines) < max_lines:
        lines.append(current)
    if cut and lines:
        last = lines[-1]
        while last and _width(draw, last + ELLIPSIS, face) > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + ELLIPSIS
    return lines


def _rgb(colour: str) -> tuple[int, int, int]:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", colour or ""):
        colour = "#4f46e5"
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _ink(background: tuple[int, int, int]) -> tuple[int, int, int]:
    """White or near-black, whichever reads better on ``background``."""
    r, g, b = (c / 255 for c in background)
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return (255, 255, 255) if luminance < 0.55 else (28, 27, 41)


def _qr(url: str, side: int) -> Image.Image:
    import segno  # here, not in every web process: 5 MB of memory (app.accounts.routes_signin)

    code = segno.make(url, error="m")
    matrix = [bytes(0 if dark else 255 for dark in row) for row in code.matrix_iter(border=4)]
    small = Image.frombytes("L", (len(matrix[0]), len(matrix)), b"".join(matrix))
    return small.resize((side, side), Image.Resampling.NEAREST)


def _cover(path: str | None, size: tuple[int, int]) -> Image.Image | None:
    if not path:
        return None
    try:
        with Image.open(path) as source:
            source.draft("RGB", (size[0], size[1]))
            return ImageOps.fit(source.convert("RGB"), size, Image.Resampling.BILINEAR)
    except OSError:
        return None


def draw(poster: Poster) -> bytes:
    """The image as JPEG bytes."""
    width, height = FORMATS[poster.format]
    story = poster.format == "story"
    background = _rgb(poster.colour)
    ink = _ink(background)
    canvas = Image.new("RGB", (width, height), background)
    pen = ImageDraw.Draw(canvas)
    margin = 72 if story else 60
    inner = width - 2 * margin

    y = margin + (40 if story else 0)
    org = font(True, 44 if story else 36)
    name = wrap(pen, clean(poster.org_name), org, inner, 1)
    if name:
        pen.text((margin, y), name[0], font=org, fill=ink, direction=_direction(name[0]))
    y += 90 if story else 70

    qr_side = 420 if story else 300
    picture = _cover(poster.image, (inner, 480 if story else 360))
    if picture is not None:
        canvas.paste(picture, (margin, y))
        y += picture.height + (64 if story else 36)
    elif story:
        y += 40

    title_size = 76 if story else 54
    max_lines = (5 if picture else 8) if story else (2 if picture else 5)
    face = font(True, title_size)
    for line in wrap(pen, clean(poster.title), face, inner, max_lines):
        direction = _direction(line)
        x = margin if direction == "ltr" else width - margin - _width(pen, line, face)
        pen.text((x, y), line, font=face, fill=ink, direction=direction)
        y += int(title_size * 1.25)

    # The QR code on a white tile (it must read on any brand colour), and its line.
    tile = qr_side + 40
    label = font(True, 40 if story else 32)
    words = clean(poster.call_to_action)
    if story:
        left, top = (width - tile) // 2, height - margin - tile - 90
        canvas.paste((255, 255, 255), (left, top, left + tile, top + tile))
        canvas.paste(_qr(poster.qr_url, qr_side), (left + 20, top + 20))
        text_width = _width(pen, words, label)
        pen.text(((width - text_width) / 2, top + tile + 30), words, font=label, fill=ink)
    else:
        left, top = width - margin - tile, height - margin - tile
        canvas.paste((255, 255, 255), (left, top, left + tile, top + tile))
        canvas.paste(_qr(poster.qr_url, qr_side), (left + 20, top + 20))
        lines = wrap(pen, words, label, left - 2 * margin, 3)
        ty = top + tile - len(lines) * 44
        for line in lines:
            pen.text((margin, ty), line, font=label, fill=ink, direction=_direction(line))
            ty += 44

    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=88, optimize=False)
    return out.getvalue()


async def forget_withdrawn_item(event: ItemWithdrawn) -> None:
    """An item left the feeds: the images made from it go (wired in app.wiring)."""
    await anyio.to_thread.run_sync(forget_item, event.data_dir, event.item_id)
