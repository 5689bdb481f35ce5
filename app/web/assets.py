"""Static files under content-hashed URLs, served from memory, compressed once.

``/static/app.3f2a9c1d7e.css`` can be cached for a year: a change of content is a change
of URL. Each process builds this table at start-up from the files on disk; nothing in it
is shared state, so any number of processes serve the same URLs.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

COMPRESSIBLE = {".js", ".css", ".svg", ".json", ".webmanifest", ".txt", ".html"}
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    name: str
    digest: str
    body: bytes
    gzipped: bytes | None
    media_type: str

    @property
    def url(self) -> str:
        stem, dot, suffix = self.name.rpartition(".")
        return f"/static/{stem}.{self.digest}.{suffix}" if dot else f"/static/{self.name}"


class Assets:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.by_name: dict[str, Asset] = {}
        for path in sorted(directory.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                name = path.relative_to(directory).as_posix()
                body = path.read_bytes()
                media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                if path.suffix in {".js", ".mjs"}:
                    media_type = "text/javascript"
                gzipped = None
                if path.suffix in COMPRESSIBLE and len(body) > 512:
                    gzipped = gzip.compress(body, compresslevel=9, mtime=0)
                digest = hashlib.sha256(body).hexdigest()[:10]
                self.by_name[name] = Asset(name, digest, body, gzipped, media_type)

    def url(self, name: str) -> str:
        return self.by_name[name].url

    def find(self, requested: str) -> tuple[Asset, bool] | None:
        """The asset a URL path names, and whether its hash is the current one."""
        requested = requested.lstrip("/")
        if requested in self.by_name:
            return self.by_name[requested], False
        head, _dot, suffix = requested.rpartition(".")
        stem, _dot, digest = head.rpartition(".")
        asset = self.by_name.get(f"{stem}.{suffix}")
        if asset is None:
            return None
        return asset, asset.digest == digest

    def fingerprint(self, names: list[str]) -> str:
        """One short hash over several assets: the service worker's cache version."""
        joined = "".join(self.by_name[n].digest for n in names)
        return hashlib.sha256(joined.encode()).hexdigest()[:12]
