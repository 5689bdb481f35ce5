"""Reading and setting up the organisation."""

from __future__ import annotations

from app.core.cache import TTLMap
from app.org.tables import Organisation

_kept_name: TTLMap[str, str] = TTLMap(ttl_s=15.0, max_size=1)
_kept_colour: TTLMap[str, str] = TTLMap(ttl_s=15.0, max_size=1)


async def organisation_name() -> str:
    """The organisation's name for the app bar.

    Kept for a few seconds per process: it is shown on every page and changes rarely, and a
    rename made through another process shows here within the TTL.
    """
    name = _kept_name.get("name")
    if name is None:
        row = await Organisation.select(Organisation.name).first()
        name = _kept_name.put("name", row["name"] if row else "Relay")
    return name


async def organisation_colour() -> str:
    """The organisation's brand colour ("#rrggbb"), kept like its name."""
    colour = _kept_colour.get("colour")
    if colour is None:
        row = await Organisation.select(Organisation.brand_colour).first()
        colour = _kept_colour.put("colour", row["brand_colour"] if row else "#4f46e5")
    return colour
