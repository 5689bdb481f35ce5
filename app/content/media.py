"""Uploaded images: checked by content, size and dimensions, stored as resized web variants.

Files live under ``{data_dir}/media`` named by a random key and a width; the route that
serves them sets year-long cache headers, since a key is never reused.
"""

from __future__ import annotations

import io
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from app.core.i18n import _

MAX_BYTES = 8 * 1024 * 1024
MIN_SIDE = 200
MAX_SIDE = 8000
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
# Widths served: cards on phones, and the large one for link previews (Open Graph).
WIDTHS = (600, 1200)
KEY = re.compile(r"^[A-Za-z0-9_-]{16}$")
FILE_NAME = re.compile(r"^([A-Za-z0-9_-]{16})-(600|1200)\.jpg$")

# Signatures of executables and archives that people rename to .jpg.
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa", b"#!", b"PK\x03\x04")
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"RIFF", b"GIF8")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif")


class ImageRefused(ValueError):
    """An upload that is not an image Relay can use; the message says why, for the editor."""


@dataclass(frozen=True)
class StoredImage:
    key: str
    width: int
    height: int


def media_dir(data_dir: Path) -> Path:
    path = data_dir / "media"
    path.mkdir(parents=True, exist_ok=True)
    return path


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
    width, height = probe.size
    if width > MAX_SIDE or height > MAX_SIDE:
        raise ImageRefused(_("This image is too large: at most 8000 pixels a side."))
    if width < MIN_SIDE or height < MIN_SIDE:
        raise ImageRefused(_("This image is too small: at least 200 pixels a side."))
    try:
        probe.verify()  # reads the whole file: truncated or corrupt data fails here
        image = Image.open(io.BytesIO(content))
        image.load()
    except Exception:  # Pillow raises many kinds for broken data
        raise ImageRefused(
            _("This image is damaged or is not really an image: it cannot be read.")
        ) from None
    return image


def store_image(image: Image.Image, data_dir: Path) -> StoredImage:
    """Write the web variants (JPEG, EXIF orientation applied, metadata dropped)."""
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    image = image.convert("RGB")
    key = secrets.token_urlsafe(12)
    folder = media_dir(data_dir)
    for width in WIDTHS:
        variant = image.copy()
        if variant.width > width:
            variant = variant.resize(
                (width, max(1, round(image.height * width / image.width))), Image.Resampling.LANCZOS
            )
        variant.save(
            folder / f"{key}-{width}.jpg", "JPEG", quality=82, optimize=True, progressive=True
        )
    return StoredImage(key=key, width=image.width, height=image.height)


def save_upload(content: bytes, filename: str, data_dir: Path) -> StoredImage:
    return store_image(check_image(content, filename), data_dir)


def media_path(data_dir: Path, name: str) -> Path | None:
    """The file behind a media URL name, or None for any name Relay did not make."""
    if not FILE_NAME.match(name):
        return None
    path = data_dir / "media" / name
    return path if path.is_file() else None


def image_url(key: str | None, width: int = 600) -> str | None:
    return f"/media/{key}-{width}.jpg" if key else None
