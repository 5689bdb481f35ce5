"""Candidates in a real Chromium at phone size: a shared link counts a genuine click."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from app.sharing import service as sharing
from tests.browser import check_accessibility
from tests.content_factories import make_item
from tests.factories import make_member

pytestmark = pytest.mark.browser


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a condition the server reaches on its own (the visit buffer's next write)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_a_candidate_opening_a_shared_link_is_one_genuine_click_for_the_sharer(
    phone: Page, seed: Any
) -> None:
    async def shared() -> tuple[int, int, str]:
        sharer = await make_member(name="Léa Martin")
        item_id = await make_item("offer", "Data engineer")
        return sharer.id, item_id, await sharing.link_code(sharer.id, item_id)

    sharer_id, item_id, code = seed(shared)
    with phone.expect_response(lambda r: r.url.endswith(f"/r/{code}/seen")) as beacon:
        phone.goto(f"/r/{code}")
    assert beacon.value.status == 204
    expect(phone.get_by_text("Shared by Léa")).to_be_visible()
    expect(phone.get_by_role("heading", name="Data engineer")).to_be_visible()
    check_accessibility(phone)

    def clicks() -> int:
        return seed(lambda: sharing.genuine_clicks_by_item(sharer_id, [item_id]))[item_id]

    eventually(lambda: clicks() == 1)
    phone.reload()  # the same visitor again, the same day
    check_accessibility(phone)
    eventually(lambda: seed(lambda: _visits(code)) == 2)
    assert clicks() == 1


async def _visits(code: str) -> int:
    from app.candidates.tables import Visit

    return await Visit.count().where(Visit.link.code == code)
