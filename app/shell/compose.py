"""What a domain's page shows of a later domain, read here and handed to the page.

The domains import only the domains before them (tests/test_layers.py), so a page that shows
something of a later domain does not ask it: ``create_app`` puts these functions in
``app.state``, as it does ``page_context`` for every page, and the page calls them through
:mod:`app.web.requests`. The shell comes last and may import any domain.
"""

from __future__ import annotations

from typing import Any

from app.notifications.preferences import preferences_of
from app.points import corrections, history


async def member_time_zone(member_id: int) -> str:
    """The time zone a member types and reads times in: the one their notification preferences
    keep (the browser reports it when they opt in). The points admin's challenge form uses it."""
    return (await preferences_of(member_id)).time_zone


async def person_points(member_id: int) -> dict[str, Any]:
    """The points part of the admin's page on a person: their points and the correction form's
    one-time key."""
    return {
        "points": await history.summary(member_id),
        "correction_key": corrections.correction_key(),
    }
