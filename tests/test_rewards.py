"""The rewards shop: redeeming never overspends nor oversells, fulfilment refunds once."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from app.accounts.tables import AuditEvent
from app.core.clock import now
from app.notifications.tables import Nudge
from app.points import ledger
from app.points.tables import PointsLine, Reason
from app.rewards import service
from app.rewards.service import Refused
from app.rewards.tables import Redemption, Reward
from app.sharing import service as sharing
from tests.factories import jpeg_bytes, make_item, make_member, make_reward
from tests.helpers import HTML, as_member, csrf_token_of, sign_in

_keys = itertools.count(1)


async def give(member_id: int, points: int) -> None:
    """Points from an admin's correction: the ledger's own writer."""
    await ledger.credit(member_id, points, Reason.correction.value, f"test:{next(_keys)}")


async def stock_of(reward_id: int) -> int | None:
    row = await Reward.select(Reward.stock).where(Reward.id == reward_id).first()
    assert row is not None
    return row["stock"]


async def outcomes(*calls: Any) -> tuple[list[int], list[Refused]]:
    """Run redemptions at once: the ids made, and the refusals."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    made = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, Refused)]
    assert len(made) + len(refused) == len(results), results
    return made, refused


# --- Never overspending, never overselling ---------------------------------------------------


async def test_fifty_concurrent_redemptions_a_balance_affords_once_succeed_once(
    database: str,
) -> None:
    member = await make_member()
    await give(member.id, 150)
    earned = await ledger.earned(member.id)  # a correction is not earned either (issue 11)
    reward = await make_reward(cost=100, stock=10)
    made, refused = await outcomes(*(service.redeem(member.id, reward) for _ in range(50)))
    assert len(made) == 1
    assert {r.code for r in refused} == {"points"}
    assert refused[0].message == "Not enough points: you need 50 more points."
    assert await ledger.balance(member.id) == 50
    assert await stock_of(reward) == 9
    assert await Redemption.count() == 1
    lines = await PointsLine.select(PointsLine.points, PointsLine.key).where(
        PointsLine.reason == Reason.redemption.value
    )
    assert lines == [{"points": -100, "key": f"redemption:{made[0]}"}]
    # Spending is not earning: lifetime points (levels, leaderboards) are untouched.
    assert await ledger.earned(member.id) == earned


async def test_concurrent_redemptions_through_the_route_succeed_once(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    member = await sign_in(client, "employee")
    await give(member.id, 120)
    reward = await make_reward("A day off", cost=100)
    page = await client.get(f"/rewards/{reward}", headers=HTML)
    token = csrf_token_of(page.text)
    responses = await asyncio.gather(
        *(
            client.post(
                f"/rewards/{reward}/redeem",
                data={"_csrf_token": token},
                headers={**HTML, "hx-request": "true"},
            )
            for _ in range(6)
        )
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 422, 422, 422, 422, 422]
    done = next(r for r in responses if r.status_code == 200)
    assert "Your request for A day off is sent" in done.text
    assert '<dd id="reward-balance" data-balance hx-swap-oob="true">20 points</dd>' in done.text
    assert done.text.count("20 points") == 1  # one balance, the new one
    refused = next(r for r in responses if r.status_code == 422)
    assert "Not enough points: you need 80 more points." in refused.text
    assert await ledger.balance(member.id) == 20


async def test_a_reward_with_one_left_and_twenty_members_at_once_goes_to_one(
    database: str,
) -> None:
    members = [await make_member() for _ in range(20)]
    for member in members:
        await give(member.id, 500)
    reward = await make_reward("Company hoodie", cost=300, stock=1)
    made, refused = await outcomes(*(service.redeem(m.id, reward) for m in members))
    assert len(made) == 1
    assert {r.code for r in refused} == {"stock"}
    assert refused[0].message == "Out of stock: there are none left."
    assert await stock_of(reward) == 0
    balances = sorted([await ledger.balance(m.id) for m in members])
    assert balances == [200] + [500] * 19


async def test_redeeming_spends_points_and_a_non_htmx_form_lands_on_my_rewards(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    member = await sign_in(client, "employee")
    await give(member.id, 400)
    reward = await make_reward("Charity donation", cost=300, stock=None)
    page = await client.get(f"/rewards/{reward}/redeem", headers=HTML)
    assert "Spend 300 of your 400 points on Charity donation?" in page.text
    response = await client.post(
        f"/rewards/{reward}/redeem",
        data={"_csrf_token": csrf_token_of(page.text)},
        headers=HTML,
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/me/rewards#redemption-")
    mine = await client.get("/me/rewards", headers=HTML)
    assert "Charity donation" in mine.text and "Requested" in mine.text
    assert await stock_of(reward) is None  # unlimited stays unlimited


# --- Refusals, each with its reason ---------------------------------------------------------


async def test_limits_windows_inactive_and_unknown_rewards_are_refused_with_the_reason(
    database: str,
) -> None:
    member = await make_member()
    await give(member.id, 10_000)
    once = await make_reward("A day off", cost=100, limit_per_member=1)
    assert await service.redeem(member.id, once)
    with pytest.raises(Refused) as limit:
        await service.redeem(member.id, once)
    assert limit.value.message == ("Limit reached: this reward can be redeemed 1 time per person.")
    later = await make_reward("Summer party", starts_at=now() + timedelta(days=2))
    ended = await make_reward("Winter party", ends_at=now() - timedelta(minutes=1))
    off = await make_reward("Old mug", active=False)
    for reward in (later, ended, off):
        with pytest.raises(Refused) as unavailable:
            await service.redeem(member.id, reward)
        assert unavailable.value.message == "This reward is not available right now."
    with pytest.raises(Refused) as unknown:
        await service.redeem(member.id, 999_999)
    assert unknown.value.message == "This reward does not exist."
    # Nothing was spent by the refusals.
    assert await ledger.balance(member.id) == 10_000 - 100
    # A rejected redemption gives the member's limit back.
    first = await Redemption.select(Redemption.id).first()
    assert first is not None
    editor = await make_member(role="editor")
    await service.reject(first["id"], editor.id, "Leave calendar is full")
    assert await service.redeem(member.id, once)


async def test_the_shop_tells_each_member_what_they_can_afford(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    member = await sign_in(client, "employee")
    await give(member.id, 250)
    empty = (await client.get("/rewards", headers=HTML)).text
    assert "250 points" in empty and "No rewards on offer right now." in empty
    await make_reward("Café voucher", cost=150)
    await make_reward("Company hoodie", cost=500, stock=12)
    await make_reward("Gone", cost=10, stock=0)
    await make_reward("Hidden", cost=10, active=False)
    await make_reward("Later", cost=10, starts_at=now() + timedelta(days=1))
    page = await client.get("/rewards", headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert "250 points" in text
    assert text.index("Gone") < text.index("Café voucher") < text.index("Company hoodie")
    assert "You can afford it" in text
    assert "250 more points to go" in text
    assert "12 left" in text and "Out of stock" in text
    assert "Hidden" not in text and "Later" not in text
    assert 'aria-current="page"' in text and 'href="/rewards"' in text
    assert "as many times as allowed" not in text
    once = await make_reward("Team lunch", cost=50, limit_per_member=1)
    await service.redeem(member.id, once)
    text = (await client.get("/rewards", headers=HTML)).text
    assert "200 points" in text  # the balance after the redemption
    assert "You have redeemed it as many times as allowed." in text
    hidden = await Reward.select(Reward.id).where(Reward.name == "Hidden").first()
    assert hidden is not None
    off = await client.get(f"/rewards/{hidden['id']}", headers=HTML)
    assert off.status_code == 200 and "Not available right now" in off.text
    assert f'href="/rewards/{hidden["id"]}/redeem"' not in off.text
    refused = await client.post(
        f"/rewards/{hidden['id']}/redeem",
        data={"_csrf_token": csrf_token_of(page.text)},
        headers={**HTML, "hx-request": "true"},
    )
    assert refused.status_code == 422
    assert "This reward is not available right now." in refused.text
    unknown = await client.post(
        "/rewards/999999/redeem",
        data={"_csrf_token": csrf_token_of(page.text)},
        headers={**HTML, "hx-request": "true"},
    )
    assert unknown.status_code == 404
    assert "This reward does not exist." in unknown.text


async def test_redeeming_is_rate_limited_per_member(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    member = await sign_in(client, "employee")
    await give(member.id, 1_000)
    reward = await make_reward("Sticker", cost=1)
    page = await client.get(f"/rewards/{reward}", headers=HTML)
    token = csrf_token_of(page.text)
    statuses = [
        (
            await client.post(
                f"/rewards/{reward}/redeem",
                data={"_csrf_token": token},
                headers={**HTML, "hx-request": "true"},
            )
        ).status_code
        for _ in range(11)
    ]
    assert statuses == [200] * 10 + [429]
    assert await ledger.balance(member.id) == 990


# --- Fulfilment ------------------------------------------------------------------------------


async def test_rejecting_refunds_once_and_returns_the_stock_even_when_repeated(
    database: str,
) -> None:
    member = await make_member()
    editor = await make_member(role="editor")
    await give(member.id, 1_000)
    reward = await make_reward("Company hoodie", cost=300, stock=5)
    first = await service.redeem(member.id, reward)
    second = await service.redeem(member.id, reward)
    assert await ledger.balance(member.id) == 400
    assert await stock_of(reward) == 3

    await service.reject(first, editor.id, "Size out of stock")
    with pytest.raises(Refused) as twice:
        await service.reject(first, editor.id, "Again")
    assert twice.value.message == ("This request is already rejected: it can no longer change.")
    # Five editors reject the other one at the same moment: one refund.
    results = await asyncio.gather(
        *(service.reject(second, editor.id, "Duplicate") for _ in range(5)),
        return_exceptions=True,
    )
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, Refused) for r in results if r is not None)
    assert await ledger.balance(member.id) == 1_000
    assert await stock_of(reward) == 5
    refunds = await PointsLine.select(PointsLine.key, PointsLine.points).where(
        PointsLine.reason == Reason.refund.value
    )
    assert sorted(r["key"] for r in refunds) == [f"refund:{first}", f"refund:{second}"]
    assert {r["points"] for r in refunds} == {300}
    with pytest.raises(Refused) as empty:
        await service.reject(await service.redeem(member.id, reward), editor.id, "   ")
    assert empty.value.code == "reason"


async def test_impossible_moves_are_refused(database: str) -> None:
    member = await make_member()
    editor = await make_member(role="editor")
    await give(member.id, 1_000)
    reward = await make_reward(cost=100)
    redemption = await service.redeem(member.id, reward)
    with pytest.raises(Refused):
        await service.deliver(redemption, editor.id, "CODE")  # not approved yet
    await service.approve(redemption, editor.id)
    with pytest.raises(Refused):
        await service.approve(redemption, editor.id)
    await service.deliver(redemption, editor.id, "CODE-123")
    with pytest.raises(Refused) as late:
        await service.reject(redemption, editor.id, "Changed our mind")
    assert late.value.message == ("This request is already delivered: it can no longer change.")
    with pytest.raises(Refused):
        await service.approve(redemption, editor.id)
    assert await ledger.balance(member.id) == 900
    with pytest.raises(Refused) as unknown:
        await service.approve(999_999, editor.id)
    assert unknown.value.code == "unknown"


async def test_an_editor_approves_and_delivers_and_only_the_member_sees_the_code(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    member = await make_member(name="Léa Martin", language="fr")
    other = await make_member(name="Tom Nguyen")
    await give(member.id, 500)
    await give(other.id, 500)
    reward = await make_reward("Café voucher", cost=150)
    redemption = await service.redeem(member.id, reward)
    await service.redeem(other.id, reward)

    editor = await sign_in(client, "editor")
    listing = await client.get("/rewards/requests", headers=HTML)
    assert "Léa Martin" in listing.text and "Tom Nguyen" in listing.text
    token = csrf_token_of(listing.text)
    htmx = {**HTML, "hx-request": "true"}
    early = await client.post(
        f"/rewards/requests/{redemption}/deliver",
        data={"_csrf_token": token, "note": "CAFE-7731"},
        headers=htmx,
    )
    assert early.status_code == 422
    assert "Approve this request before marking it delivered." in early.text
    approved = await client.post(
        f"/rewards/requests/{redemption}/approve", data={"_csrf_token": token}, headers=htmx
    )
    assert approved.status_code == 200 and "Mark as delivered" in approved.text
    delivered = await client.post(
        f"/rewards/requests/{redemption}/deliver",
        data={"_csrf_token": token, "note": "CAFE-7731"},
        headers=htmx,
    )
    assert delivered.status_code == 200
    assert "Delivered" in delivered.text and "CAFE-7731" not in delivered.text
    late = await client.post(
        f"/rewards/requests/{redemption}/reject",
        data={"_csrf_token": token, "reason": "Too late"},
        headers=htmx,
    )
    assert late.status_code == 422
    assert "already delivered: it can no longer change" in late.text
    done = await client.get("/rewards/requests?state=delivered", headers=HTML)
    assert "Léa Martin" in done.text and "CAFE-7731" not in done.text

    await as_member(client, member.id)
    mine = await client.get("/me/rewards", headers=HTML)
    assert "CAFE-7731" in mine.text and "Remise" in mine.text
    await as_member(client, other.id)
    theirs = await client.get("/me/rewards", headers=HTML)
    assert "CAFE-7731" not in theirs.text and "Requested" in theirs.text

    nudges = await Nudge.select(Nudge.key, Nudge.title, Nudge.body, Nudge.url).where(
        Nudge.kind == "redemption"
    )
    assert [n["key"] for n in nudges] == [
        f"redemption:{redemption}:approved",
        f"redemption:{redemption}:delivered",
    ]
    assert nudges[1]["title"] == "Votre récompense est prête"
    assert all("CAFE-7731" not in n["body"] for n in nudges)
    assert {n["url"] for n in nudges} == {"/me/rewards"}
    audited = await AuditEvent.select(AuditEvent.action, AuditEvent.actor).where(
        AuditEvent.action.like("redemption_%")
    )
    assert [(a["action"], a["actor"]) for a in audited] == [
        ("redemption_approved", editor.id),
        ("redemption_delivered", editor.id),
    ]


async def test_a_rejection_needs_a_reason_and_the_member_sees_it_and_the_refund(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    member = await make_member()
    await give(member.id, 500)
    reward = await make_reward("A day off", cost=400, stock=2)
    redemption = await service.redeem(member.id, reward)
    await sign_in(client, "editor")
    listing = await client.get("/rewards/requests", headers=HTML)
    token = csrf_token_of(listing.text)
    htmx = {**HTML, "hx-request": "true"}
    blank = await client.post(
        f"/rewards/requests/{redemption}/reject",
        data={"_csrf_token": token, "reason": ""},
        headers=htmx,
    )
    assert blank.status_code == 422
    assert "Say why, so that the person understands." in blank.text
    assert await ledger.balance(member.id) == 100
    rejected = await client.post(
        f"/rewards/requests/{redemption}/reject",
        data={"_csrf_token": token, "reason": "Everyone is needed that week"},
        headers=htmx,
    )
    assert rejected.status_code == 200 and "points refunded" in rejected.text
    assert await ledger.balance(member.id) == 500
    assert await stock_of(reward) == 2
    await as_member(client, member.id)
    mine = await client.get("/me/rewards", headers=HTML)
    assert "Everyone is needed that week" in mine.text
    assert "400 points refunded" in mine.text
    nudge = await Nudge.select(Nudge.key, Nudge.title).where(Nudge.kind == "redemption").first()
    assert nudge == {
        "key": f"redemption:{redemption}:rejected",
        "title": "Your reward request was declined",
    }


@pytest.mark.parametrize("role", ["editor", "admin"])
async def test_nobody_approves_delivers_or_rejects_their_own_reward_request(
    database: str, role: str
) -> None:
    lea = await make_member(role=role, name="Léa Martin")
    other = await make_member(role="editor")
    await give(lea.id, 1_000)
    reward = await make_reward(cost=300, stock=5)
    first = await service.redeem(lea.id, reward)
    second = await service.redeem(lea.id, reward)
    for move in (
        service.approve(first, lea.id),
        service.deliver(first, lea.id, "CODE"),
        service.reject(second, lea.id, "Not needed after all"),
    ):
        with pytest.raises(Refused) as refused:
            await move
        assert refused.value.code == "own"
        assert refused.value.message == (
            "Your own reward request: another editor or an admin decides."
        )
    states = await Redemption.select(Redemption.state).order_by(Redemption.id)
    assert [s["state"] for s in states] == ["requested", "requested"]
    assert await ledger.balance(lea.id) == 400 and await stock_of(reward) == 3
    refusals = await AuditEvent.select(AuditEvent.actor).where(
        AuditEvent.action == "own_decision_refused"
    )
    assert [r["actor"] for r in refusals] == [lea.id] * 3
    # Someone else decides.
    await service.approve(first, other.id)
    await service.deliver(first, other.id, "CODE-1")
    await service.reject(second, other.id, "One is enough")
    assert await ledger.balance(lea.id) == 700 and await stock_of(reward) == 4


async def test_an_editors_own_request_shows_no_buttons_and_a_forged_move_is_refused(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    lea = await sign_in(client, "editor", name="Léa Martin")
    tom = await make_member(name="Tom Nguyen")
    await give(lea.id, 500)
    await give(tom.id, 500)
    reward = await make_reward("Café voucher", cost=150)
    mine = await service.redeem(lea.id, reward)
    toms = await service.redeem(tom.id, reward)

    listing = await client.get("/rewards/requests", headers=HTML)
    assert "Your own reward request: another editor or an admin decides." in listing.text
    assert f"/rewards/requests/{mine}/" not in listing.text
    assert f'action="/rewards/requests/{toms}/approve"' in listing.text
    token = csrf_token_of(listing.text)
    htmx = {**HTML, "hx-request": "true"}
    for path, data in (
        ("approve", {}),
        ("deliver", {"note": "CAFE-1"}),
        ("reject", {"reason": "Changed my mind"}),
    ):
        forged = await client.post(
            f"/rewards/requests/{mine}/{path}", data={"_csrf_token": token, **data}, headers=htmx
        )
        assert forged.status_code == 403, path
        assert "Your own reward request: another editor or an admin decides." in forged.text
    plain = await client.post(
        f"/rewards/requests/{mine}/approve", data={"_csrf_token": token}, headers=HTML
    )
    assert plain.status_code == 403 and "Your own reward request" in plain.text
    assert (await service.redemption_by_id(mine))["state"] == "requested"  # type: ignore[index]
    approved = await client.post(
        f"/rewards/requests/{toms}/approve", data={"_csrf_token": token}, headers=htmx
    )
    assert approved.status_code == 200 and "Mark as delivered" in approved.text

    await sign_in(client, "admin")
    listing = await client.get("/rewards/requests", headers=HTML)
    assert "Your own reward request" not in listing.text
    approved = await client.post(
        f"/rewards/requests/{mine}/approve",
        data={"_csrf_token": csrf_token_of(listing.text)},
        headers=htmx,
    )
    assert approved.status_code == 200
    assert (await service.redemption_by_id(mine))["state"] == "approved"  # type: ignore[index]


# --- Affordability nudges --------------------------------------------------------------------


async def test_a_share_that_makes_a_reward_affordable_nudges_once(database: str) -> None:
    member = await make_member()
    within = await make_reward("Sticker pack", cost=7)  # the first share: 2 + weekly bonus 5
    further = await make_reward("Café voucher", cost=9)
    await make_reward("Gone", cost=5, stock=0)
    await make_reward("Off", cost=5, active=False)
    stories = [await make_item("story", f"Story {n}") for n in range(6)]

    async def keys() -> list[str]:
        rows = await Nudge.select(Nudge.key).where(Nudge.kind == "reward").order_by(Nudge.id)
        return [r["key"] for r in rows]

    assert await sharing.record_share(member.id, stories[0], "linkedin")
    assert await keys() == [f"reward:{member.id}:{within}"]
    row = await Nudge.select(Nudge.url, Nudge.body).first()
    assert row == {"url": f"/rewards/{within}", "body": "You have enough points for Sticker pack."}
    assert await sharing.record_share(member.id, stories[1], "linkedin")  # 9 points
    assert await keys() == [f"reward:{member.id}:{within}", f"reward:{member.id}:{further}"]
    # Spent, then earned back past its cost: no second nudge about the same reward.
    await service.redeem(member.id, within)
    for story in stories[2:]:
        assert await sharing.record_share(member.id, story, "linkedin")
    assert await ledger.balance(member.id) == 10
    assert await keys() == [f"reward:{member.id}:{within}", f"reward:{member.id}:{further}"]


async def test_a_reward_whose_limit_the_member_reached_is_not_announced(database: str) -> None:
    member = await make_member()
    once = await make_reward("Lunch with the CEO", cost=2, limit_per_member=1)
    await give(member.id, 2)
    await service.redeem(member.id, once)  # their one time
    story = await make_item("story", "A story")
    assert await sharing.record_share(member.id, story, "linkedin")  # back to 7 points
    assert await Nudge.count().where(Nudge.kind == "reward") == 0


# --- Managing rewards ------------------------------------------------------------------------


async def test_an_admin_creates_a_reward_with_an_image_and_sees_errors_by_the_fields(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    admin = await sign_in(client, "admin")
    form = await client.get("/admin/rewards/new", headers=HTML)
    token = csrf_token_of(form.text)
    bad = await client.post(
        "/admin/rewards/new",
        data={
            "_csrf_token": token,
            "name": "",
            "cost": "0",
            "stock": "-3",
            "limit_per_member": "zero",
            "starts_at": "2026-12-10T10:00",
            "ends_at": "2026-12-01T10:00",
        },
        files={"image": ("hoodie.jpg", b"MZ\x90\x00 not an image", "image/jpeg")},
        headers=HTML,
    )
    assert bad.status_code == 422
    for message in (
        "Give the reward a name.",
        "Enter a cost in points: a whole number above zero.",
        "Enter how many are left (0 or more), or leave it empty for unlimited.",
        "Enter how many times one person may redeem it (1 or more), or leave it empty.",
        "The end must come after the start.",
        "named like an image but is a program",
    ):
        assert message in bad.text
    assert await Reward.count() == 0
    made = await client.post(
        "/admin/rewards/new",
        data={
            "_csrf_token": token,
            "name": "Company hoodie",
            "description": "Organic cotton, **XS to XXL**. <script>alert(1)</script>",
            "cost": "500",
            "stock": "25",
            "limit_per_member": "1",
            "active": "on",
        },
        files={"image": ("hoodie.jpg", jpeg_bytes(1600, 900), "image/jpeg")},
        headers=HTML,
        follow_redirects=False,
    )
    assert made.status_code == 303
    reward = await Reward.select().first()
    assert reward is not None
    assert (reward["cost"], reward["stock"], reward["limit_per_member"], reward["active"]) == (
        500,
        25,
        1,
        True,
    )
    assert reward["image"]
    edit = await client.get(made.headers["location"], headers=HTML)
    assert "Saved." in edit.text
    updated = await client.post(
        f"/admin/rewards/{reward['id']}",
        data={
            "_csrf_token": token,
            "name": "Company hoodie",
            "description": "Organic cotton, **XS to XXL**. <script>alert(1)</script>",
            "cost": "450",
            "stock": "",
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert updated.status_code == 303
    row = await Reward.select(Reward.cost, Reward.stock, Reward.active, Reward.image).first()
    assert row == {"cost": 450, "stock": None, "active": False, "image": reward["image"]}
    audited = await AuditEvent.select(AuditEvent.action, AuditEvent.actor).where(
        AuditEvent.action.like("reward_%")
    )
    assert [(a["action"], a["actor"]) for a in audited] == [
        ("reward_created", admin.id),
        ("reward_updated", admin.id),
    ]
    await Reward.update({Reward.active: True}).where(Reward.id == reward["id"])
    await as_member(client, (await make_member()).id)
    page = await client.get(f"/rewards/{reward['id']}", headers=HTML)
    assert "<strong>XS to XXL</strong>" in page.text and "<script>alert" not in page.text
    assert f"/media/{reward['image']}-1200.jpg" in page.text


async def test_employees_cannot_manage_rewards_nor_fulfil_them(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await sign_in(client, "employee")
    for path in ("/admin/rewards", "/admin/rewards/new", "/rewards/requests"):
        assert (await client.get(path, headers=HTML)).status_code == 403
    await sign_in(client, "editor")
    assert (await client.get("/rewards/requests", headers=HTML)).status_code == 200
    assert (await client.get("/admin/rewards", headers=HTML)).status_code == 403


async def test_the_demo_organisation_has_rewards(database: str, tmp_path: Any) -> None:
    from app.rewards.demo import load_demo_rewards

    assert await load_demo_rewards(tmp_path)
    assert not await load_demo_rewards(tmp_path)
    rows = await Reward.select(Reward.name, Reward.stock, Reward.image).order_by(Reward.id)
    assert [r["name"] for r in rows] == [
        "Café voucher",
        "A day off",
        "Atelier Nova hoodie",
        "Charity donation",
    ]
    assert rows[2]["stock"] == 25 and all(r["image"] for r in rows)
