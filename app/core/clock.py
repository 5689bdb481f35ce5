"""The one source of the current time, so every part agrees on what "now" is (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
