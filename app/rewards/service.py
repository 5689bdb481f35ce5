"""The rewards shop: rewards admins manage, redeeming them, and their fulfilment by editors.

A redemption is one write transaction: the member's points lock first (as every ledger
write takes it), then the checks (the reward on offer, the balance, the member's limit),
then the stock taken by a conditional update, the redemption row and its debit line. So a
balance never goes below zero and a stock never below zero, whatever the concurrency, on
SQLite (one writer at a time) and PostgreSQL (row locks). Rejecting one gives the points and
the stock back in one transaction too, and the state machine makes that happen once.
Nobody approves, delivers or rejects their own request: another editor or an admin does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from piccolo.columns import Column
from piccolo.query.functions.aggregate import Count

from app.accounts import audit
from app.core import db
from app.core.clock import now
from app.core.events import publish
from app.core.forms import SPACES, FormResult
from app.core.i18n import _, lazy, ngettext
from app.points import ledger
from app.points.tables import Reason
from app.rewards.tables import Redemption, RedemptionState, Reward

NAME_MAX = 120
DESCRIPTION_MAX = 5000
COST_MAX = 10_000_000
NOTE_MAX = 2000
REASON_MAX = 1000

STATE_NAMES = {
    RedemptionState.requested.value: lazy("Requested"),
    RedemptionState.approved.value: lazy("Approved"),
    RedemptionState.delivered.value: lazy("Delivered"),
    RedemptionState.rejected.value: lazy("Rejected"),
}


def state_names() -> dict[str, str]:
    """The states' names in the reader's language."""
    return {state: _(name) for state, name in STATE_NAMES.items()}


# The moves editors may make; delivered and rejected are final.
MOVES = {
    RedemptionState.requested.value: {
        RedemptionState.approved.value,
        RedemptionState.rejected.value,
    },
    RedemptionState.approved.value: {
        RedemptionState.delivered.value,
        RedemptionState.rejected.value,
    },
}

# What editors see first: what waits for them.
OPEN_STATES = [RedemptionState.requested.value, RedemptionState.approved.value]


class Refused(Exception):
    """A redemption that cannot be made, or a move that cannot be made; ``code`` says
    which rule refused it, the message says why in the reader's language."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RedemptionDecided:
    """An editor moved a member's redemption to ``state`` (approved, delivered, rejected),
    published in the move's transaction: the member's nudge is written with the move."""

    member: int
    redemption: int
    reward_name: str
    state: str
    at: datetime


# --- Rewards, as admins manage them -------------------------------------------------------


def check_reward(data: dict[str, Any]) -> FormResult:
    """The admin's form, checked: clean values, or a message per field."""
    form = FormResult.of(data)
    form.text("name", max_length=NAME_MAX, required=_("Give the reward a name."))
    form.text("description", max_length=DESCRIPTION_MAX)
    form.integer(
        "cost",
        low=1,
        high=COST_MAX,
        grouping=SPACES,
        message=_("Enter a cost in points: a whole number above zero."),
    )
    form.integer(
        "stock",
        low=0,
        high=COST_MAX,
        grouping=SPACES,
        optional=True,
        message=_("Enter how many are left (0 or more), or leave it empty for unlimited."),
    )
    form.integer(
        "limit_per_member",
        low=1,
        high=1000,
        grouping=SPACES,
        optional=True,
        message=_("Enter how many times one person may redeem it (1 or more), or leave it empty."),
    )
    starts_at = form.datetime("starts_at", message=_("Enter a date and time, or leave it empty."))
    ends_at = form.datetime("ends_at", message=_("Enter a date and time, or leave it empty."))
    if starts_at and ends_at and ends_at <= starts_at:
        form.fail("ends_at", _("The end must come after the start."))
    form.checkbox("active")
    return form


async def save_reward(
    reward_id: int | None, checked: FormResult, by: int, *, image: str | None = None
) -> int:
    """Create or update a reward from checked values (audited); its id."""
    values: dict[Column | str, Any] = {
        Reward.name: checked.values["name"],
        Reward.description: checked.values["description"],
        Reward.cost: checked.values["cost"],
        Reward.stock: checked.values["stock"],
        Reward.limit_per_member: checked.values["limit_per_member"],
        Reward.starts_at: checked.values["starts_at"],
        Reward.ends_at: checked.values["ends_at"],
        Reward.active: checked.values["active"],
        Reward.updated_at: now(),
    }
    if image is not None:
        values[Reward.image] = image
    async with db.write_transaction():
        if reward_id is None:
            rows = await Reward.insert(
                Reward(**{_name(column): value for column, value in values.items()})
            ).returning(Reward.id)
            reward_id = int(rows[0]["id"])
            action = "reward_created"
        else:
            await Reward.update(values).where(Reward.id == reward_id)
            action = "reward_updated"
        await audit.record(
            action,
            actor=by,
            reward=reward_id,
            name=checked.values["name"],
            cost=checked.values["cost"],
            stock=checked.values["stock"],
            active=checked.values["active"],
        )
    return reward_id


def _name(column: Column | str) -> str:
    return column if isinstance(column, str) else column._meta.name


async def reward_by_id(reward_id: int) -> dict[str, Any] | None:
    return await Reward.select().where(Reward.id == reward_id).first()


async def all_rewards() -> list[dict[str, Any]]:
    """Every reward, for admins, with how many were redeemed (rejected ones aside)."""
    rewards = await Reward.select().order_by(Reward.active, ascending=False).order_by(Reward.name)
    counts = await (
        Redemption.select(Redemption.reward, Count(Redemption.id, alias="taken"))
        .where(Redemption.state != RedemptionState.rejected.value)
        .group_by(Redemption.reward)
    )
    taken = {row["reward"]: row["taken"] for row in counts}
    for reward in rewards:
        reward["taken"] = taken.get(reward["id"], 0)
    return rewards


# --- The shop -------------------------------------------------------------------------------


def is_available(reward: dict[str, Any], at: datetime) -> bool:
    """On offer at ``at``: switched on and within its window (stock aside)."""
    return bool(
        reward["active"]
        and (reward["starts_at"] is None or reward["starts_at"] <= at)
        and (reward["ends_at"] is None or at < reward["ends_at"])
    )


def _available_now(at: datetime) -> list[Any]:
    return [
        Reward.active.eq(True),
        Reward.starts_at.is_null() | (Reward.starts_at <= at),
        Reward.ends_at.is_null() | (Reward.ends_at > at),
    ]


async def _taken_by(member_id: int, reward_ids: list[int] | None = None) -> dict[int, int]:
    """How many of each reward the member holds (rejected ones are given back)."""
    sql = "SELECT reward, COUNT(id) AS taken FROM redemption WHERE member = {} AND state <> {}"
    args: list[Any] = [member_id, RedemptionState.rejected.value]
    if reward_ids is not None:
        if not reward_ids:
            return {}
        sql += f" AND reward IN ({', '.join(['{}'] * len(reward_ids))})"
        args += reward_ids
    rows = await Redemption.raw(sql + " GROUP BY reward", *args)
    return {row["reward"]: int(row["taken"]) for row in rows}


def shop_view(reward: dict[str, Any], balance: int, taken: int, at: datetime) -> dict[str, Any]:
    """A reward as one member sees it: can they afford it, is any left, is their limit reached."""
    limit = reward["limit_per_member"]
    return {
        **reward,
        "available": is_available(reward, at),
        "affordable": balance >= reward["cost"],
        "missing": max(0, reward["cost"] - balance),
        "sold_out": reward["stock"] is not None and reward["stock"] <= 0,
        "limit_reached": limit is not None and taken >= limit,
        "taken": taken,
    }


# The shop in one statement: the member's balance on a row of its own, joined to each reward
# on offer now with how many of it the member holds (rejected ones given back); a single row
# with no reward when none is on offer.
SHOP_SQL = f"""
SELECT b.balance AS balance, r.*,
  (SELECT COUNT(d.id) FROM redemption d
   WHERE d.reward = r.id AND d.member = {{}} AND d.state <> {{}}) AS taken
FROM (SELECT ({ledger.BALANCE_SQL}) AS balance) b
LEFT JOIN reward r ON r.active = {{}} AND (r.starts_at IS NULL OR r.starts_at <= {{}})
  AND (r.ends_at IS NULL OR r.ends_at > {{}})
ORDER BY r.cost, r.id
"""  # noqa: S608 (placeholders only)


async def shop(member_id: int, at: datetime | None = None) -> dict[str, Any]:
    """The member's balance and the rewards on offer now, cheapest first: one query (the
    shop is read on every visit)."""
    at = at or now()
    rows = await Reward.raw(
        SHOP_SQL, member_id, RedemptionState.rejected.value, member_id, True, at, at
    )
    balance = int(rows[0]["balance"] or 0) if rows else 0
    rewards = []
    for row in rows:
        if row["id"] is None:
            continue
        reward = {**row, "active": bool(row["active"])}
        taken = int(reward.pop("taken") or 0)
        del reward["balance"]
        rewards.append(shop_view(reward, balance, taken, at))
    return {"balance": balance, "rewards": rewards}


async def reward_for_member(
    member_id: int, reward_id: int, at: datetime | None = None
) -> dict[str, Any] | None:
    """One reward as the member sees it on its page (None if there is no such reward).

    A reward switched off or out of its window still has a page, which says it is not
    available: someone may have opened it just before, or followed an old link."""
    at = at or now()
    reward = await reward_by_id(reward_id)
    if reward is None:
        return None
    balance = await ledger.balance(member_id)
    taken = await _taken_by(member_id, [reward_id])
    return {"balance": balance, **shop_view(reward, balance, taken.get(reward_id, 0), at)}


async def rewards_within(
    member_id: int, before: int, after: int, at: datetime
) -> list[dict[str, Any]]:
    """Rewards on offer, in stock, whose cost lies in ``(before, after]`` and that the member
    may still redeem (their limit not reached): those a balance that grew from ``before`` to
    ``after`` has just reached."""
    rows = await Reward.select(Reward.id, Reward.name, Reward.limit_per_member).where(
        *_available_now(at),
        Reward.cost > before,
        Reward.cost <= after,
        Reward.stock.is_null() | (Reward.stock > 0),
    )
    limited = [r["id"] for r in rows if r["limit_per_member"] is not None]
    taken = await _taken_by(member_id, limited) if limited else {}
    return [
        r
        for r in rows
        if r["limit_per_member"] is None or taken.get(r["id"], 0) < int(r["limit_per_member"])
    ]


# --- Redeeming ------------------------------------------------------------------------------


def _unknown() -> Refused:
    return Refused("unknown", _("This reward does not exist."))


def _unavailable() -> Refused:
    return Refused("unavailable", _("This reward is not available right now."))


async def redeem(member_id: int, reward_id: int, at: datetime | None = None) -> int:
    """Spend the member's points on a reward; the new redemption's id, or :class:`Refused`.

    One transaction: nothing is written unless everything is, and the member lock plus
    the conditional stock update make overspending and overselling impossible.
    """
    at = at or now()
    async with db.write_transaction():
        await ledger.lock_member(member_id)
        reward = await reward_by_id(reward_id)
        if reward is None:
            raise _unknown()
        if not is_available(reward, at):
            raise _unavailable()
        cost = int(reward["cost"])
        balance = await ledger.balance(member_id)
        if balance < cost:
            missing = cost - balance
            raise Refused(
                "points",
                ngettext(
                    "Not enough points: you need %(num)d more point.",
                    "Not enough points: you need %(num)d more points.",
                    missing,
                )
                % {"num": missing},
            )
        limit = reward["limit_per_member"]
        held = (await _taken_by(member_id, [reward_id])).get(reward_id, 0)
        if limit is not None and held >= int(limit):
            raise Refused(
                "limit",
                ngettext(
                    "Limit reached: this reward can be redeemed %(num)d time per person.",
                    "Limit reached: this reward can be redeemed %(num)d times per person.",
                    int(limit),
                )
                % {"num": int(limit)},
            )
        # The stock is taken here, whatever was read above: PostgreSQL re-checks the
        # condition on the row's latest version once another taker's lock is released.
        taken = await Reward.raw(
            "UPDATE reward SET stock = stock - 1 "
            "WHERE id = {} AND active = {} AND (stock IS NULL OR stock > 0) RETURNING id",
            reward_id,
            True,
        )
        if not taken:
            latest = await reward_by_id(reward_id)
            if latest is None or not latest["active"]:
                raise _unavailable()
            raise Refused("stock", _("Out of stock: there are none left."))
        rows = await Redemption.insert(
            Redemption(
                reward=reward_id,
                member=member_id,
                cost=cost,
                state=RedemptionState.requested.value,
                requested_at=at,
            )
        ).returning(Redemption.id)
        redemption_id = int(rows[0]["id"])
        line = await ledger.credit(
            member_id,
            -cost,
            Reason.redemption.value,
            f"redemption:{redemption_id}",
            at=at,
            subject=f"redemption:{redemption_id}",
            note=str(reward["name"]),
        )
        if line is None:  # pragma: no cover - a fresh redemption's key cannot exist
            raise RuntimeError(f"redemption:{redemption_id} was debited already")
    return redemption_id


# --- Fulfilment -----------------------------------------------------------------------------


def _columns() -> list[Any]:
    return [
        *Redemption.all_columns(),
        Redemption.reward.name.as_alias("reward_name"),
        Redemption.reward.image.as_alias("reward_image"),
        Redemption.member.name.as_alias("member_name"),
        Redemption.member.email.as_alias("member_email"),
    ]


async def redemption_by_id(redemption_id: int) -> dict[str, Any] | None:
    return await Redemption.select(*_columns()).where(Redemption.id == redemption_id).first()


async def requests(state: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Redemptions for editors: those waiting (oldest first) unless a state is chosen."""
    query = Redemption.select(*_columns()).limit(limit)
    if state in STATE_NAMES:
        query = query.where(Redemption.state == state).order_by(Redemption.id, ascending=False)
    else:
        query = query.where(Redemption.state.is_in(OPEN_STATES)).order_by(Redemption.id)
    return await query


async def redemptions_of(member_id: int, limit: int = 100) -> list[dict[str, Any]]:
    """The member's redemptions, newest first, with their notes and reasons."""
    # Written out (the member's page): _columns() through the builder cost more than the query.
    rows = await Redemption.raw(
        "SELECT r.*, rw.name AS reward_name, rw.image AS reward_image, m.name AS member_name, "
        "m.email AS member_email FROM redemption r LEFT JOIN reward rw ON rw.id = r.reward "
        "LEFT JOIN member m ON m.id = r.member WHERE r.member = {} ORDER BY r.id DESC LIMIT {}",
        member_id,
        limit,
    )
    return [dict(r) for r in rows]


async def _locked(redemption_id: int, target: str) -> dict[str, Any]:
    """The redemption, locked until the transaction ends, if ``target`` is a move it allows."""
    query = Redemption.select(*Redemption.all_columns(), Redemption.reward.name.as_alias("name"))
    query = query.where(Redemption.id == redemption_id)
    if db.is_postgres():
        query = query.lock_rows("NO KEY UPDATE", of=(Redemption,))
    row = await query.first()
    if row is None:
        raise Refused("unknown", _("This request does not exist."))
    state = row["state"]
    if target not in MOVES.get(state, set()):
        named = {"state": _(STATE_NAMES[state]).lower()}
        if state not in MOVES:
            message = _("This request is already %(state)s: it can no longer change.") % named
        elif state == target:
            message = _("This request is already %(state)s.") % named
        else:
            message = _("Approve this request before marking it delivered.")
        raise Refused("move", message)
    return row


def own_request_text() -> str:
    return _("Your own reward request: another editor or an admin decides.")


async def _owner_unless_self(redemption_id: int, by: int, move: str, client: str) -> int:
    """Who redeemed; :class:`Refused` (``own``, audited) when it is ``by``: nobody approves,
    delivers or rejects their own reward. Checked before the move's transaction, so the audit
    event stays; a redemption's member never changes."""
    row = await Redemption.select(Redemption.member).where(Redemption.id == redemption_id).first()
    if row is None:
        raise Refused("unknown", _("This request does not exist."))
    if row["member"] == by:
        await audit.record(
            "own_decision_refused",
            actor=by,
            subject=by,
            client=client,
            redemption=redemption_id,
            move=move,
        )
        raise Refused("own", own_request_text())
    return int(row["member"])


async def approve(
    redemption_id: int, by: int, at: datetime | None = None, *, client: str = ""
) -> None:
    at = at or now()
    await _owner_unless_self(redemption_id, by, RedemptionState.approved.value, client)
    async with db.write_transaction():
        row = await _locked(redemption_id, RedemptionState.approved.value)
        await Redemption.update(
            {
                Redemption.state: RedemptionState.approved.value,
                Redemption.approved_at: at,
                Redemption.handled_by: by,
            }
        ).where(Redemption.id == redemption_id)
        await _told(row, RedemptionState.approved.value, by, at)


async def deliver(
    redemption_id: int, by: int, note: str, at: datetime | None = None, *, client: str = ""
) -> None:
    """Delivered, with a note only the member sees (a gift code, where to pick it up)."""
    at = at or now()
    await _owner_unless_self(redemption_id, by, RedemptionState.delivered.value, client)
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise Refused("note", _("At most %(num)d characters.") % {"num": NOTE_MAX})
    async with db.write_transaction():
        row = await _locked(redemption_id, RedemptionState.delivered.value)
        await Redemption.update(
            {
                Redemption.state: RedemptionState.delivered.value,
                Redemption.delivered_at: at,
                Redemption.note: note,
                Redemption.handled_by: by,
            }
        ).where(Redemption.id == redemption_id)
        await _told(row, RedemptionState.delivered.value, by, at)


async def reject(
    redemption_id: int, by: int, reason: str, at: datetime | None = None, *, client: str = ""
) -> None:
    """Rejected with a reason: the points refunded and the stock returned, once."""
    at = at or now()
    owner = await _owner_unless_self(redemption_id, by, RedemptionState.rejected.value, client)
    reason = reason.strip()
    if not reason:
        raise Refused("reason", _("Say why, so that the person understands."))
    if len(reason) > REASON_MAX:
        raise Refused("reason", _("At most %(num)d characters.") % {"num": REASON_MAX})
    async with db.write_transaction():
        # The member's lock first, as every ledger write takes it: no deadlock with a redemption.
        await ledger.lock_member(owner)
        row = await _locked(redemption_id, RedemptionState.rejected.value)
        await Redemption.update(
            {
                Redemption.state: RedemptionState.rejected.value,
                Redemption.rejected_at: at,
                Redemption.reason: reason,
                Redemption.handled_by: by,
            }
        ).where(Redemption.id == redemption_id)
        await Reward.raw(
            "UPDATE reward SET stock = stock + 1 WHERE id = {} AND stock IS NOT NULL",
            row["reward"],
        )
        await ledger.credit(
            row["member"],
            int(row["cost"]),
            Reason.refund.value,
            f"refund:{redemption_id}",
            at=at,
            subject=f"redemption:{redemption_id}",
            by=by,
            note=reason,
        )
        await _told(row, RedemptionState.rejected.value, by, at)


async def _told(row: dict[str, Any], state: str, by: int, at: datetime) -> None:
    """Audit the move and tell the member (see :class:`RedemptionDecided`), in the move's
    transaction."""
    await audit.record(
        f"redemption_{state}",
        actor=by,
        subject=row["member"],
        redemption=row["id"],
        reward=row["name"],
        points=row["cost"],
    )
    await publish(RedemptionDecided(row["member"], row["id"], str(row["name"]), state, at))
