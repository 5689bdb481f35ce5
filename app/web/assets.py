"""Static files under content-hashed URLs, served from memory, compressed once.

``/static/app.3f2a9c1d7e.css`` can be cached for a year: a change of content is a change
of URL. Each process builds this table at start-up from the files on disk; nothing in it
is shared state, so any number of processes serve the same URLs.

ES modules import each other by relative path (``import { postJSON } from "./relay.js"``),
which the browser would resolve to the unhashed URL. So at start-up each script's imports
are rewritten to the hashed URL of the module they name, and a script is hashed after its
rewrite: a change to ``relay.js`` changes the URL of every script importing it, and every
URL stays immutable (the service worker caches ``/static/`` cache-first). The other ways
out were worse: an import map is inline JSON, which ``script-src 'self'`` forbids, and
unhashed modules under ``no-cache`` would revalidate on each page and go stale in the
service worker's cache.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

COMPRESSIBLE = {".js", ".css", ".svg", ".json", ".webmanifest", ".txt", ".html"}
IMMUTABLE = "public, max-age=31536000, immutable"
# The version is in the file name only: upgrading htmx is replacing the file and this line.
HTMX_JS = "htmx-2.0.11.min.js"
# `from "./relay.js"`, `import "./relay.js"` and `import("./relay.js")`: a module in static/.
RELATIVE_IMPORT = re.compile(r"""(\bfrom\s*|\bimport\s*\(?\s*)(["'])\./([\w./-]+\.js)\2""")


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
        sources = {
            path.relative_to(directory).as_posix(): path.read_bytes()
            for path in sorted(directory.rglob("*"))
            if path.is_file() and not path.name.startswith(".")
        }
        for name in sources:
            self._add(name, sources, importers=())

    def _add(self, name: str, sources: dict[str, bytes], importers: tuple[str, ...]) -> Asset:
        """The asset ``name``, built after the modules it imports (their URLs are in it)."""
        if name in self.by_name:
            return self.by_name[name]
        if name in importers:
            raise ValueError(f"static/{name} imports itself through {' -> '.join(importers)}.")
        if name not in sources:
            raise ValueError(f"static/{importers[-1]} imports static/{name}, which is missing.")
        body = sources[name]
        suffix = Path(name).suffix
        if suffix in {".js", ".mjs"}:

            def hashed(match: re.Match[str]) -> str:
                path = posixpath.normpath(posixpath.join(posixpath.dirname(name), match[3]))
                imported = self._add(path, sources, (*importers, name))
                return f"{match[1]}{match[2]}{imported.url}{match[2]}"

            body = RELATIVE_IMPORT.sub(hashed, body.decode()).encode()
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if suffix in {".js", ".mjs"}:
            media_type = "text/javascript"
        gzipped = None
        if suffix in COMPRESSIBLE and len(body) > 512:
            gzipped = gzip.compress(body, compresslevel=9, mtime=0)
        digest = hashlib.sha256(body).hexdigest()[:10]
        asset = self.by_name[name] = Asset(name, digest, body, gzipped, media_type)
        return asset

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
