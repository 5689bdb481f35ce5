"""Reading and setting up the organisation."""

from __future__ import annotations

from typing import Any

from app.core.cache import TTLMap
from app.org.tables import Organisation, Team

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


async def active_teams_and_sites() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The active teams and the active sites (id, name), each by name, in one query: the
    forms that target them (the studio's audience, a campaign's) read both on every view."""
    rows = await Team.raw(
        "SELECT 't' AS kind, id, name FROM team WHERE active = {} "
        "UNION ALL SELECT 's' AS kind, id, name FROM site WHERE active = {} "
        "ORDER BY kind DESC, name",
        True,
        True,
    )
    teams = [{"id": r["id"], "name": r["name"]} for r in rows if r["kind"] == "t"]
    sites = [{"id": r["id"], "name": r["name"]} for r in rows if r["kind"] == "s"]
    return teams, sites
