"""Reading and setting up the organisation."""

from __future__ import annotations

import time

from app.org.tables import Organisation

_NAME_TTL_S = 15.0
_name_cache: tuple[float, str] | None = None


async def organisation_name() -> str:
    """The organisation's name for the app bar.

    Kept for a few seconds per process: it is shown on every page and changes rarely, and a
    rename made through another process shows here within the TTL.
    """
    global _name_cache
    now = time.monotonic()
    if _name_cache and now - _name_cache[0] < _NAME_TTL_S:
        return _name_cache[1]
    row = await Organisation.select(Organisation.name).first()
    name = row["name"] if row else "Relay"
    _name_cache = (now, name)
    return name
