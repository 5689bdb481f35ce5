"""Uploaded images: checked by content, size and dimensions, stored as resized web variants.

Files live under ``{data_dir}/media`` named by a random key and a width; the route that
serves them sets year-long cache headers, since a key is never reused. They are written
through :mod:`app.core.files` (named only once their row commits, swept when no row names them).

Decoding is the costly part: a 265 KB PNG can declare 8000×8000 RGBA pixels, 256 MB once
decoded and over a gigabyte through the conversions. So the declared size is checked from
the header before any decoding (at most ``MAX_PIXELS``), decoding and resizing run in a
thread (Pillow releases the GIL there, so the event loop keeps answering), and at most
``IMAGE_JOBS`` images are processed at once per process, which bounds the memory a burst of
uploads can take.
"""

from __future__ import annotations

import io
import re
import secrets
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import anyio.to_thread
from PIL import Image, ImageOps, UnidentifiedImageError

from app.core.files import StagedFiles, StorageUnavailable, staged, storage_unavailable_sentence
from app.core.i18n import _

MAX_BYTES = 8 * 1024 * 1024
MIN_SIDE = 200
MAX_SIDE = 8000
# 40 million pixels: 160 MB decoded as RGBA, about 320 MB at the peak of one job.
MAX_PIXELS = 40_000_000
IMAGE_JOBS = 2
# A thread semaphore, taken in the worker thread: an asyncio one belongs to one event loop.
_image_jobs = threading.BoundedSemaphore(IMAGE_JOBS)
T = TypeVar("T")
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
# Widths served: cards on phones, and the large one for link previews (Open Graph).
WIDTHS = (600, 1200)
# Members' profile photos: square, small (a leaderboard row, and twice that for sharp screens).
PHOTO_SIDES = (96, 192)
KEY = re.compile(r"^[A-Za-z0-9_-]{16}$")
FILE_NAME = re.compile(r"^([A-Za-z0-9_-]{16})-(96|192|600|1200)\.jpg$")

# Signatures of executables and archives that people rename to .jpg.
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa", b"#!", b"PK\x03\x04")
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"RIFF", b"GIF8")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif")


@dataclass(frozen=True)
class MediaInUse:
    """Asked before unused media files are swept: later domains add the image keys and
    video names their own rows hold (an employee's proposed story), so they are kept."""

    images: set[str]
    videos: set[str]


class ImageRefused(ValueError):
    """An upload that is not an image Relay can use; the message says why, for the editor."""


@dataclass(frozen=True)
class StoredImage:
    key: str
    width: int
    height: int


def media_dir(data_dir: Path) -> Path:
    """The folder of media files (made by the first write, app.core.files)."""
    return data_dir / "media"


def check_image(content: bytes, filename: str = "") -> Image.Image:
    """The decoded image, or ImageRefused with a sentence the editor can act on."""
    if len(content) > MAX_BYTES:
        raise ImageRefused(_("This image is larger than 8 MB. Choose a smaller one."))
    if not content:
        raise ImageRefused(_("This file is empty. Choose a JPEG, PNG or WebP image."))
    named_like_image = filename.lower().endswith(IMAGE_SUFFIXES)
    if content.startswith(EXECUTABLE_MAGIC):
        if named_like_image:
            raise ImageRefused(
                _(
                    "This file is named like an image but is a program or an archive. It was refused."
                )
            )
        raise ImageRefused(_("This file is not an image. Choose a JPEG, PNG or WebP image."))
    try:
        probe = Image.open(io.BytesIO(content))
        fmt = probe.format
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        if named_like_image or content.startswith(IMAGE_MAGIC):
            raise ImageRefused(
                _("This image is damaged or is not really an image: it cannot be read.")
            ) from None
        raise ImageRefused(
            _("This file is not an image. Choose a JPEG, PNG or WebP image.")
        ) from None
    except Image.DecompressionBombError:
        raise ImageRefused(_("This image is too large: at most 8000 pixels a side.")) from None
    if fmt not in ACCEPTED_FORMATS:
        raise ImageRefused(
            _("This kind of image is not accepted. Choose a JPEG, PNG or WebP image.")
        )
    width, height = probe.size  # from the header: nothing is decoded yet
    if width > MAX_SIDE or height > MAX_SIDE:
        raise ImageRefused(_("This image is too large: at most 8000 pixels a side."))
    if width * height > MAX_PIXELS:
        raise ImageRefused(
            _(
                "This image has too many pixels: at most 40 million (for example 8000 × 5000). "
                "Choose a smaller one."
            )
        )
    if width < MIN_SIDE or height < MIN_SIDE:
        raise ImageRefused(_("This image is too small: at least 200 pixels a side."))
    try:
        probe.verify()  # reads the whole file: truncated or corrupt data fails here
        image = Image.open(io.BytesIO(content))
        # A JPEG decodes at 1/2, 1/4 or 1/8 scale for free: no more than the variants need.
        image.draft(image.mode, (max(WIDTHS), max(1, height * max(WIDTHS) // width)))
        image.load()
    except Exception:  # Pillow raises many kinds for broken data
        raise ImageRefused(
            _("This image is damaged or is not really an image: it cannot be read.")
        ) from None
    return image


def store_image(image: Image.Image, files: StagedFiles) -> StoredImage:
    """Write the web variants (JPEG, EXIF orientation applied, metadata dropped) as staged
    files: they are named once the caller's row commits (blocking: call from a thread)."""
    image = ImageOps.exif_transpose(image)
    key = secrets.token_urlsafe(12)
    size = image.size
    # Resize first, flatten after: the conversions then work on 1200 pixels, not 40 million.
    if image.mode in ("P", "PA", "1", "I", "I;16", "F"):
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    for width in sorted(WIDTHS, reverse=True):
        if image.width > width:
            image = image.resize(
                (width, max(1, round(size[1] * width / size[0]))), Image.Resampling.LANCZOS
            )
        out = io.BytesIO()
        _flat(image).save(out, "JPEG", quality=82, optimize=True, progressive=True)
        files.write(f"{key}-{width}.jpg", out.getvalue())
    return StoredImage(key=key, width=size[0], height=size[1])


def store_photo(image: Image.Image, files: StagedFiles) -> StoredImage:
    """A profile photo: the centre square, as the ``PHOTO_SIDES`` JPEG variants (EXIF
    orientation applied, metadata dropped), staged like :func:`store_image` (blocking)."""
    image = ImageOps.exif_transpose(image)
    key = secrets.token_urlsafe(12)
    if image.mode in ("P", "PA", "1", "I", "I;16", "F"):
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    side = max(PHOTO_SIDES)
    square = ImageOps.fit(image, (side, side), Image.Resampling.LANCZOS)
    for width in sorted(PHOTO_SIDES, reverse=True):
        if square.width != width:
            square = square.resize((width, width), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        _flat(square).save(out, "JPEG", quality=85, optimize=True, progressive=True)
        files.write(f"{key}-{width}.jpg", out.getvalue())
    return StoredImage(key=key, width=side, height=side)


def _flat(image: Image.Image) -> Image.Image:
    """RGB on white for anything with transparency; JPEG has none."""
    if image.mode in ("RGB", "L"):
        return image
    if "A" not in image.getbands():
        return image.convert("RGB")  # CMYK and the like
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _bounded(work: Callable[[], T]) -> T:
    with _image_jobs:
        return work()


async def check_upload(content: bytes, filename: str) -> None:
    """:func:`check_image` off the event loop: raises ImageRefused or returns."""
    await anyio.to_thread.run_sync(_bounded, lambda: check_image(content, filename).close())


async def save_upload(content: bytes, filename: str, files: StagedFiles) -> StoredImage:
    """Check, decode, resize and write an upload off the event loop (see module)."""
    return await anyio.to_thread.run_sync(
        _bounded, lambda: store_image(check_image(content, filename), files)
    )


async def save_photo(content: bytes, filename: str, files: StagedFiles) -> StoredImage:
    """:func:`check_image` then :func:`store_photo`, off the event loop (see module)."""
    return await anyio.to_thread.run_sync(
        _bounded, lambda: store_photo(check_image(content, filename), files)
    )


async def save_with_image(
    data_dir: Path,
    upload: tuple[bytes, str] | None,
    errors: dict[str, str],
    save: Callable[[str | None], Awaitable[int]],
) -> int | None:
    """A form with an optional image (a story, an offer, a reward): ``save(image_key)`` writes
    the row, in the same staging as the image's files, so they are named only once it commits.
    Returns the row's id, or None with the reason in ``errors["image"]``; with other errors
    already in ``errors``, the image is still checked so that every problem shows at once."""
    if upload and errors:
        try:
            await check_upload(*upload)
        except ImageRefused as refused:
            errors["image"] = str(refused)
    if errors:
        return None
    try:
        async with staged(media_dir(data_dir)) as files:
            key = (await save_upload(*upload, files)).key if upload else None
            return await save(key)
    except ImageRefused as refused:
        errors["image"] = str(refused)
    except StorageUnavailable:
        errors["image"] = storage_unavailable_sentence()
    return None


def key_of_file(name: str) -> str | None:
    """The key a media file belongs to, for :func:`app.core.files.sweep`."""
    match = FILE_NAME.match(name)
    return match.group(1) if match else None


def media_path(data_dir: Path, name: str) -> Path | None:
    """The file behind a media URL name, or None for any name Relay did not make."""
    if not FILE_NAME.match(name):
        return None
    path = data_dir / "media" / name
    return path if path.is_file() else None


def image_url(key: str | None, width: int = 600) -> str | None:
    return f"/media/{key}-{width}.jpg" if key else None
