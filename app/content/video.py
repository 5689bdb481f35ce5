"""Uploaded videos: a short MP4 or WebM for a story or an offer, checked by its content.

A video is at most ``MAX_VIDEO_BYTES`` and ``MAX_SECONDS`` long. What it is comes from
``ffprobe`` (Debian's ffmpeg), never from its name or the type the browser sent: the
container must be MP4 (H.264 video) or WebM (VP8, VP9 or AV1 video), with a picture. A
poster frame is drawn from it with ``ffmpeg``, for the ``<video>`` element and the studio.

Files live in the media folder beside the images (:mod:`app.content.media`), named by a
random key: ``{key}.mp4`` or ``{key}.webm`` and ``{key}-poster.jpg``. They are written
through :mod:`app.core.files`: probed under their temporary name, named once their row
commits, swept when no row names them. Both programs run in a worker thread with a timeout
(the event loop keeps answering), at most ``VIDEO_JOBS`` at once per process.

Without ``ffprobe`` on the server, an upload gets a sentence saying so (not an error page);
the rest of Relay works as before.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from litestar import Response
from litestar.exceptions import NotFoundException
from litestar.response import Stream

from app.content.media import (
    ImageRefused,
    check_upload,
    media_dir,
    save_upload,
)
from app.core.files import StagedFiles, StorageUnavailable, staged
from app.core.files import storage_unavailable_sentence as full_disk
from app.core.i18n import _
from app.web.requests import AnyRequest

MAX_VIDEO_BYTES = 50 * 1024 * 1024
MAX_SECONDS = 60
# The programs, found on PATH when they run (tests point them elsewhere).
FFPROBE = "ffprobe"
FFMPEG = "ffmpeg"
# ffprobe reads a header and an index: seconds at most, even on a loaded machine.
PROBE_TIMEOUT = 20.0
POSTER_TIMEOUT = 30.0
VIDEO_JOBS = 2
_video_jobs = threading.BoundedSemaphore(VIDEO_JOBS)
POSTER_WIDTH = 1080

# ffprobe's names for the two containers, and the video codecs each may carry.
MP4_FORMAT = "mov,mp4,m4a,3gp,3g2,mj2"
WEBM_FORMAT = "matroska,webm"
CODECS = {"mp4": {"h264"}, "webm": {"vp8", "vp9", "av1"}}
AUDIO_CODECS = {"mp4": {"aac", "mp3"}, "webm": {"vorbis", "opus"}}
CODEC_NAMES = {
    "mpeg4": "MPEG-4 Part 2",
    "hevc": "HEVC (H.265)",
    "h264": "H.264",
    "prores": "ProRes",
    "mjpeg": "Motion JPEG",
    "mpeg2video": "MPEG-2",
    "theora": "Theora",
}
TYPES = {"mp4": "video/mp4", "webm": "video/webm"}
KEY = r"[A-Za-z0-9_-]{16}"
VIDEO_NAME = re.compile(rf"^({KEY})\.(mp4|webm)$")
POSTER_NAME = re.compile(rf"^({KEY})-poster\.jpg$")
# A video's name while it is probed, before its container is known.
STAGING_NAME = re.compile(rf"^({KEY})\.video$")


class VideoRefused(ValueError):
    """An upload that is not a video Relay can use; the message says why, for the editor."""


@dataclass(frozen=True)
class Probed:
    container: str  # "mp4" or "webm"
    seconds: float
    width: int
    height: int


def not_a_video() -> str:
    return _("This file is not a video. Choose an MP4 or WebM video.")


def unsupported(codec: str) -> str:
    return _(
        "This video is encoded as %(codec)s, which not every phone can play. Export it as "
        "MP4 (H.264) or WebM (VP9)."
    ) % {"codec": codec}


def no_ffprobe() -> str:
    return _(
        "Videos cannot be checked on this server: ffprobe (part of ffmpeg) is not installed. "
        "Your text is kept; ask your administrator to install ffmpeg."
    )


def _run(program: str, args: list[str], timeout: float) -> subprocess.CompletedProcess[bytes]:
    """Run one of ffmpeg's programs (blocking: called in a worker thread), killed after
    ``timeout``; VideoRefused when it is missing or too slow."""
    path = shutil.which(program)
    if path is None:
        raise VideoRefused(no_ffprobe())
    try:
        # The program is ffmpeg's, the arguments Relay's; the file is a name Relay made.
        return subprocess.run(  # noqa: S603
            [path, *args],
            capture_output=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise VideoRefused(
            _("This video took too long to read. Export it again as MP4 (H.264) and retry.")
        ) from None
    except OSError:  # not executable, or the system refused to start it
        raise VideoRefused(no_ffprobe()) from None


def probe(path: Path) -> Probed:
    """What the file at ``path`` is, or VideoRefused with a sentence (blocking)."""
    done = _run(
        FFPROBE,
        [
            "-v",
            "error",
            "-show_entries",
            "format=format_name,duration:stream=codec_type,codec_name,width,height,duration",
            "-of",
            "json",
            str(path),
        ],
        PROBE_TIMEOUT,
    )
    try:
        found: dict[str, Any] = json.loads(done.stdout or b"{}")
    except ValueError:
        found = {}
    if done.returncode != 0 or not isinstance(found, dict):
        raise VideoRefused(not_a_video())
    fmt = found.get("format") or {}
    streams = [s for s in found.get("streams") or [] if isinstance(s, dict)]
    pictures = [s for s in streams if s.get("codec_type") == "video"]
    container = {MP4_FORMAT: "mp4", WEBM_FORMAT: "webm"}.get(str(fmt.get("format_name", "")))
    if not pictures:
        if any(s.get("codec_type") == "audio" for s in streams):
            raise VideoRefused(
                _("This file is sound only, with no picture. Choose an MP4 or WebM video.")
            )
        raise VideoRefused(not_a_video())
    if container is None:
        name = str(fmt.get("format_name", ""))
        if name.endswith("_pipe") or name in {"image2", "gif", "apng", "webp"}:
            raise VideoRefused(not_a_video())  # a picture: ffprobe calls it a video stream
        raise VideoRefused(
            _("This kind of video file is not accepted. Choose an MP4 or WebM video.")
        )
    picture = pictures[0]
    codec = str(picture.get("codec_name", ""))
    if codec not in CODECS[container]:
        raise VideoRefused(unsupported(CODEC_NAMES.get(codec, codec.upper() or "?")))
    for sound in (s for s in streams if s.get("codec_type") == "audio"):
        codec = str(sound.get("codec_name", ""))
        if codec not in AUDIO_CODECS[container]:
            raise VideoRefused(unsupported(CODEC_NAMES.get(codec, codec.upper() or "?")))
    seconds = _seconds(fmt.get("duration")) or _seconds(picture.get("duration"))
    if seconds is None:
        raise VideoRefused(
            _("This video's length cannot be read. Export it again as MP4 (H.264) and retry.")
        )
    if seconds > MAX_SECONDS + 0.5:  # a 60 s clip often measures 60.02 s
        raise VideoRefused(
            _("This video lasts %(seconds)d seconds: at most 60 are accepted. Cut it shorter.")
            % {"seconds": round(seconds)}
        )
    width, height = int(picture.get("width") or 0), int(picture.get("height") or 0)
    if not width or not height:
        raise VideoRefused(not_a_video())
    return Probed(container=container, seconds=seconds, width=width, height=height)


def _seconds(value: object) -> float | None:
    try:
        seconds = float(str(value))
    except ValueError:
        return None
    return seconds if seconds >= 0 and seconds == seconds else None  # NaN is not a length


def poster_frame(path: Path, probed: Probed) -> bytes:
    """A JPEG of the frame a second in (the first of a shorter video), at most 1080 wide."""
    at = f"{min(1.0, probed.seconds / 2):.2f}"
    done = _run(
        FFMPEG,
        [
            "-v",
            "error",
            "-nostdin",
            "-ss",
            at,
            "-i",
            str(path),
            "-frames:v",
            "1",
            "-vf",
            f"scale='min({POSTER_WIDTH},iw)':-2",
            "-f",
            "image2pipe",
            "-c:v",
            "mjpeg",
            "-q:v",
            "4",
            "pipe:1",
        ],
        POSTER_TIMEOUT,
    )
    if done.returncode != 0 or not done.stdout.startswith(b"\xff\xd8"):
        raise VideoRefused(
            _("This video is damaged: its pictures cannot be read. Export it again and retry.")
        )
    return done.stdout


def _check_size(content: bytes) -> None:
    if len(content) > MAX_VIDEO_BYTES:
        raise VideoRefused(
            _("This video is larger than 50 MB. Shorten it or export it at a lower quality.")
        )
    if not content:
        raise VideoRefused(_("This file is empty. Choose an MP4 or WebM video."))


def check_video_blocking(content: bytes) -> Probed:
    """:func:`probe` on bytes, through a temporary file that is removed (blocking)."""
    _check_size(content)
    with tempfile.TemporaryDirectory(prefix="relay-video-") as folder:
        path = Path(folder) / "upload"
        path.write_bytes(content)
        return probe(path)


def store_video(content: bytes, files: StagedFiles) -> str:
    """Write the video and its poster as staged files, probing the video under its temporary
    name; the video's file name (blocking: call from a thread)."""
    _check_size(content)
    key = secrets.token_urlsafe(12)
    staging = f"{key}.video"  # its container is known once probed
    files.write(staging, content)
    probed = probe(files.part_path(staging))
    name = f"{key}.{probed.container}"
    files.rename(staging, name)
    files.write(f"{key}-poster.jpg", poster_frame(files.part_path(name), probed))
    return name


def _bounded(work: Callable[[], Any]) -> Any:
    with _video_jobs:
        return work()


async def check_video(content: bytes) -> Probed:
    """Raises VideoRefused with a sentence, off the event loop."""
    result: Probed = await anyio.to_thread.run_sync(_bounded, lambda: check_video_blocking(content))
    return result


async def save_video(content: bytes, files: StagedFiles) -> str:
    """:func:`store_video` off the event loop."""
    name: str = await anyio.to_thread.run_sync(_bounded, lambda: store_video(content, files))
    return name


class _Refused(Exception):
    """An upload was refused: the staged files go."""


async def save_with_media(
    data_dir: Path,
    image: tuple[bytes, str] | None,
    video: bytes | None,
    errors: dict[str, str],
    save: Callable[[str | None, str | None], Awaitable[int]],
) -> int | None:
    """A story's or offer's form with an optional image and video: ``save(image_key,
    video_name)`` writes the row inside the staging of their files, which are named only once
    it commits. Returns the row's id, or None with the reasons in ``errors["image"]`` and
    ``errors["video"]``; every upload is checked even when another field is refused, so that
    every problem shows at once."""
    if errors:
        if image:
            try:
                await check_upload(*image)
            except ImageRefused as refused:
                errors["image"] = str(refused)
        if video is not None:
            try:
                await check_video(video)
            except VideoRefused as refused:
                errors["video"] = str(refused)
        return None
    try:
        async with staged(media_dir(data_dir)) as files:
            key = name = None
            if image:
                try:
                    key = (await save_upload(*image, files)).key
                except ImageRefused as refused:
                    errors["image"] = str(refused)
            if video is not None:
                try:
                    name = await save_video(video, files)
                except VideoRefused as refused:
                    errors["video"] = str(refused)
            if errors:
                raise _Refused
            return await save(key, name)
    except _Refused:
        pass
    except StorageUnavailable:
        errors["video" if video is not None and not image else "image"] = full_disk()
    return None


# ---------------------------------------------------------------- serving


def video_key(name: str | None) -> str | None:
    match = VIDEO_NAME.match(name or "")
    return match.group(1) if match else None


def key_of_file(name: str) -> str | None:
    """The key a video or poster file belongs to, for :func:`app.core.files.sweep`."""
    match = VIDEO_NAME.match(name) or POSTER_NAME.match(name) or STAGING_NAME.match(name)
    return match.group(1) if match else None


def video_urls(name: str | None) -> dict[str, str] | None:
    """Where the page finds the video, its poster and its type; None without a video."""
    key = video_key(name)
    if key is None or name is None:
        return None
    container = name.rsplit(".", 1)[1]
    return {
        "src": f"/videos/{name}",
        "poster": f"/videos/{key}-poster.jpg",
        "type": TYPES[container],
        "download": f"video.{container}",
    }


def video_file(data_dir: Path, name: str) -> tuple[Path, str, list[str]] | None:
    """(path, type, the video names a row must hold for it to be served) behind a /videos/
    name, or None for a name Relay did not make or a file that is not there."""
    if match := VIDEO_NAME.match(name):
        media_type, videos = TYPES[match.group(2)], [name]
    elif match := POSTER_NAME.match(name):
        media_type, videos = "image/jpeg", [f"{match.group(1)}.{c}" for c in TYPES]
    else:
        return None
    path = media_dir(data_dir) / name
    with contextlib.suppress(OSError):
        if path.is_file():
            return path, media_type, videos
    return None


# ---------------------------------------------------------------- serving


RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 256 * 1024


def byte_range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """The (first, last) bytes a single-range ``Range`` header asks for; None to send the
    whole file (no header, or several ranges); False when it cannot be satisfied."""
    match = RANGE.match((header or "").replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return False
    if not first:  # the last N bytes
        count = int(last[:12])
        return (max(0, size - count), size - 1) if count else False
    start = int(first[:12])
    end = min(int(last[:12]), size - 1) if last else size - 1
    return (start, end) if start <= end and start < size else False


async def _chunks(path: Any, start: int, length: int) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as file:
        await file.seek(start)
        while length > 0:
            chunk = await file.read(min(CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


async def ranged_file(
    request: AnyRequest, path: Any, media_type: str, cache_control: str
) -> Response[Any]:
    """A file on disk in the byte ranges players ask for (iPhones play nothing otherwise)."""
    try:
        size = (await anyio.Path(path).stat()).st_size
    except OSError:
        raise NotFoundException() from None
    headers = {"Accept-Ranges": "bytes", "Cache-Control": cache_control}
    wanted = byte_range(request.headers.get("range"), size)
    if wanted is False:
        return Response(
            b"", status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"}
        )
    start, end = wanted if isinstance(wanted, tuple) else (0, size - 1)
    if isinstance(wanted, tuple):
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    return Stream(
        _chunks(path, start, end - start + 1),
        media_type=media_type,
        status_code=206 if isinstance(wanted, tuple) else 200,
        headers=headers,
    )
