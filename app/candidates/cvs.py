"""CVs: PDF or Word, at most 5 MB, recognised by their content, kept under the data directory.

The file's name and the browser's content type prove nothing: a PDF starts with ``%PDF-``, a
DOCX is a zip holding ``word/document.xml``, a DOC is an OLE compound file. CVs are never
served publicly: only the pipeline's download route (editors and admins) reads them.
"""

from __future__ import annotations

import io
import re
import secrets
import zipfile
from pathlib import Path

from app.core import files

MAX_CV_BYTES = 5 * 1024 * 1024
KEY = re.compile(r"^[0-9a-f]{32}$")
OLE_HEADER = bytes.fromhex("d0cf11e0a1b11ae1")
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "doc": "application/msword",
}


def cv_type(data: bytes) -> str | None:
    """``pdf``, ``docx`` or ``doc`` by content; None for anything else."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(OLE_HEADER):
        return "doc"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "word/document.xml" in archive.namelist():
                    return "docx"
        except zipfile.BadZipFile:
            return None
    return None


def cv_folder(data_dir: Path) -> Path:
    folder = data_dir / "cvs"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def staged_cvs(data_dir: Path) -> files.StagedFiles:
    """Where a CV is written before its candidate row commits (see app.core.files)."""
    return files.StagedFiles(data_dir / "cvs", mode=0o700)


async def store_cv(staged: files.StagedFiles, data: bytes) -> str:
    """Write a CV under a new key, named once the caller publishes ``staged`` after its
    commit; raises StorageUnavailable when the disk refuses."""
    key = secrets.token_hex(16)
    await staged.write_async(key, data)
    return key


def key_of_file(name: str) -> str | None:
    """The key a CV file belongs to, for :func:`app.core.files.sweep`."""
    return name if KEY.match(name) else None


def cv_path(data_dir: Path, key: str) -> Path | None:
    if not key or not key.isalnum():
        return None
    path = cv_folder(data_dir) / key
    return path if path.is_file() else None


def delete_cv(data_dir: Path, key: str | None) -> None:
    """After the candidate's row is deleted and committed (app.core.files)."""
    if key and key.isalnum():
        files.remove(data_dir / "cvs", key)
