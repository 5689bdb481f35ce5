"""Durable files under the data directory: the one way Relay writes and deletes them.

A file and the row that names it cannot change in one transaction, so the order decides what
a crash (SIGKILL, power loss, full disk) can leave behind:

- **Writing**: the bytes go to a temporary name beside the final one (``NAME.part``) and are
  fsynced; the caller commits its row; only then is the file renamed into place. A crash
  before the commit leaves a ``.part`` no row names; a crash after it leaves a complete
  ``.part`` whose row exists. A file under its final name is therefore always whole.
- **Deleting**: the row first, the file after the commit. A crash in between leaves a file no
  row names.
- **The sweep** (:func:`sweep`, run by the periodic jobs and ``relay purge``) repairs both:
  it renames a ``.part`` whose key a row names, and removes files and ``.part`` files no row
  names once they are older than an hour (younger ones may belong to an upload in progress).

Writes that fail for want of space or permission raise :class:`StorageUnavailable`, which
pages turn into a sentence while keeping the visitor's form.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import anyio.to_thread

from app.core.i18n import _

log = logging.getLogger("relay.files")

PART = ".part"
# An upload takes seconds; an hour leaves room for a slow one and for clock steps.
ORPHAN_AGE = timedelta(hours=1)


class StorageUnavailable(OSError):
    """The data directory refused a write: disk full, read-only, or not a directory."""


def storage_unavailable_sentence() -> str:
    return _(
        "The server could not store the file: its disk is full or read-only. Your text is "
        "kept; try again later or tell your administrator."
    )


def _fsync_dir(folder: Path) -> None:
    """Make a rename or a new name in ``folder`` survive a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_part(folder: Path, name: str, data: bytes, mode: int) -> None:
    part = folder / (name + PART)
    try:
        folder.mkdir(mode=mode, parents=True, exist_ok=True)
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)  # a 0-byte or short part; else the sweep takes it
        raise StorageUnavailable(exc.errno or errno.EIO, exc.strerror or str(exc)) from exc


def _publish(folder: Path, name: str) -> None:
    try:
        os.replace(folder / (name + PART), folder / name)
    except FileNotFoundError:
        if not (folder / name).is_file():  # else the sweep renamed it first: same result
            raise


@dataclass
class StagedFiles:
    """Files written for one database change, named only once it commits (see module).

    Use :func:`staged` around the write and the commit, or call :meth:`discard` when the
    change fails and :meth:`publish` after it commits.
    """

    folder: Path
    mode: int = 0o755  # of the folder, when it has to be made
    names: list[str] = field(default_factory=list)

    def write(self, name: str, data: bytes) -> None:
        """Write and fsync ``data`` under a temporary name (blocking: call from a thread).
        Raises StorageUnavailable when the disk refuses."""
        _write_part(self.folder, name, data, self.mode)
        self.names.append(name)

    def rename(self, name: str, new_name: str) -> None:
        """Give a written file another name before it is published (blocking), as when what
        it is, and so its name, is known only once written. Raises StorageUnavailable."""
        try:
            os.replace(self.folder / (name + PART), self.folder / (new_name + PART))
        except OSError as exc:
            raise StorageUnavailable(exc.errno or errno.EIO, exc.strerror or str(exc)) from exc
        self.names[self.names.index(name)] = new_name

    def part_path(self, name: str) -> Path:
        """Where a written file is until it is published."""
        return self.folder / (name + PART)

    async def write_async(self, name: str, data: bytes) -> None:
        await anyio.to_thread.run_sync(self.write, name, data)

    async def publish(self) -> None:
        """Name the files, after the commit. A failure here (the disk turned read-only)
        leaves ``.part`` files the sweep renames later; it is logged, not raised, since the
        change itself is committed."""
        try:
            await anyio.to_thread.run_sync(self.publish_blocking)
        except OSError:
            log.exception("Could not rename stored files into place; the sweep will retry")

    def discard(self) -> None:
        """Remove the temporary files of a change that failed; the sweep takes any left."""
        for name in self.names:
            with contextlib.suppress(OSError):
                (self.folder / (name + PART)).unlink(missing_ok=True)
        self.names.clear()

    def publish_blocking(self) -> None:
        """:meth:`publish` for code outside the event loop (it raises)."""
        for name in self.names:
            _publish(self.folder, name)
        if self.names:
            _fsync_dir(self.folder)


@contextlib.asynccontextmanager
async def staged(folder: Path, mode: int = 0o755) -> AsyncIterator[StagedFiles]:
    """Write files inside the block and commit their rows inside it too: leaving the block
    normally names the files, an exception removes them."""
    files = StagedFiles(folder, mode)
    try:
        yield files
    except BaseException:
        files.discard()
        raise
    await files.publish()


def remove(folder: Path, name: str) -> None:
    """Delete a file whose row was deleted and committed; what fails, the sweep removes."""
    try:
        (folder / name).unlink(missing_ok=True)
    except OSError:
        log.warning("Could not delete %s; the sweep will retry", folder / name)


def sweep(
    folder: Path,
    key_of: Callable[[str], str | None],
    in_use: Collection[str],
    now: datetime,
) -> int:
    """Repair ``folder`` after crashes (see module); the number of files removed.

    ``key_of`` gives the key a final file name belongs to (None: not one of Relay's files,
    left alone); ``in_use`` holds every key a row names, read before this call, so a file
    committed meanwhile is young and stays.
    """
    if not folder.is_dir():
        return 0
    cutoff = (now - ORPHAN_AGE).timestamp()
    removed = 0
    with os.scandir(folder) as entries:
        listed = [(e.name, e.stat(follow_symlinks=False).st_mtime) for e in entries if e.is_file()]
    for name, mtime in listed:
        final = name.removesuffix(PART)
        key = key_of(final)
        if key is None:
            continue
        try:
            if key in in_use:
                if final != name:
                    _publish(folder, final)  # committed, then the process died before naming
                continue
            if mtime < cutoff:
                (folder / name).unlink(missing_ok=True)
                removed += 1
        except OSError:
            log.warning("Could not sweep %s", folder / name)
    return removed


def data_dir_writable(data_dir: Path) -> bool:
    """Whether a file can be created, written and deleted in the data directory now (a real
    write: permission bits say nothing to root, and a full disk shows only on writing)."""
    probe = data_dir / f".health-{secrets.token_hex(6)}{PART}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"relay" * 200)
        finally:
            os.close(fd)
        probe.unlink()
    except OSError:
        with contextlib.suppress(OSError):
            probe.unlink(missing_ok=True)
        return False
    return True
