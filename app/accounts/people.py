"""Admins manage people: the directory, roles, leavers."""

from __future__ import annotations

from typing import Any

from app.accounts import audit
from app.accounts.sessions import end_all_sessions, sessions_changed
from app.accounts.tables import Invitation, Member, Passkey, Role
from app.core.clock import now
from app.core.db import write_transaction
from app.core.i18n import _
from app.core.search import contains_pattern
from app.mail import service as mail


class PeopleError(Exception):
    """An admin action refused, with the reason to show."""


async def directory(search: str = "", status: str = "all") -> list[dict[str, Any]]:
    query = Member.select(
        Member.id,
        Member.name,
        Member.email,
        Member.role,
        Member.active,
        Member.team.name.as_alias("team_name"),
        Member.site.name.as_alias("site_name"),
    ).order_by(Member.name)
    pattern = contains_pattern(search)
    if pattern:
        query = query.where(Member.search_text.like(pattern))  # folded: app.core.search
    if status == "active":
        query = query.where(Member.active.eq(True))
    elif status == "inactive":
        query = query.where(Member.active.eq(False))
    people = await query
    enrolled = {r["member"] for r in await Passkey.select(Passkey.member).distinct()}
    for person in people:
        person["enrolled"] = person["id"] in enrolled
    return people


async def person(member_id: int) -> dict[str, Any] | None:
    row = (
        await Member.select(
            *Member.all_columns(),
            Member.team.name.as_alias("team_name"),
            Member.site.name.as_alias("site_name"),
        )
        .where(Member.id == member_id)
        .first()
    )
    if row is None:
        return None
    row["passkeys"] = (
        await Passkey.select(
            Passkey.id, Passkey.name, Passkey.created_at, Passkey.last_used_at, Passkey.backed_up
        )
        .where(Passkey.member == member_id)
        .order_by(Passkey.created_at)
    )
    row["invitations"] = (
        await Invitation.select(*Invitation.all_columns())
        .where(Invitation.member == member_id)
        .order_by(Invitation.created_at, ascending=False)
        .limit(10)
    )
    moment = now()
    sent = await mail.states([f"invitation:{i['id']}" for i in row["invitations"]])
    for invitation in row["invitations"]:
        invitation["mail"] = sent.get(f"invitation:{invitation['id']}")
        invitation["state"] = (
            "used"
            if invitation["used_at"]
            else "revoked"
            if invitation["revoked_at"]
            else "expired"
            if invitation["expires_at"] <= moment
            else "open"
        )
    return row


async def _other_active_admins(member_id: int) -> int:
    return await Member.count().where(
        (Member.role == Role.admin.value) & Member.active.eq(True) & (Member.id != member_id)
    )


async def change_role(member_id: int, role: str, by: int, client: str = "") -> None:
    if role not in {r.value for r in Role}:
        raise PeopleError(_("Choose a role: employee, editor or admin."))
    async with write_transaction():
        row = await Member.select(Member.role).where(Member.id == member_id).first()
        if row is None:
            raise PeopleError(_("This person is not in Relay."))
        if row["role"] == role:
            return
        if row["role"] == Role.admin.value and not await _other_active_admins(member_id):
            raise PeopleError(
                _("Relay needs at least one active admin: make someone else admin first.")
            )
        await Member.update({Member.role: role}).where(Member.id == member_id)
        await audit.record(
            "role_changed",
            actor=by,
            subject=member_id,
            client=client,
            before=row["role"],
            after=role,
        )
    await sessions_changed()  # the new role holds at once, in every process


async def deactivate(member_id: int, by: int | None, client: str = "", via: str = "") -> None:
    """A leaver is out at once: sessions end, passkeys stop working, links are revoked.
    ``by`` is the admin, or None with ``via`` naming the system (SCIM from an identity
    provider) that asked."""
    if by is not None and member_id == by:
        raise PeopleError(_("You cannot deactivate yourself."))
    async with write_transaction():
        row = await Member.select(Member.role, Member.active).where(Member.id == member_id).first()
        if row is None:
            raise PeopleError(_("This person is not in Relay."))
        if not row["active"]:
            return
        if row["role"] == Role.admin.value and not await _other_active_admins(member_id):
            raise PeopleError(_("Relay needs at least one active admin."))
        moment = now()
        await Member.update({Member.active: False, Member.deactivated_at: moment}).where(
            Member.id == member_id
        )
        ended = await end_all_sessions(member_id)
        await Invitation.update({Invitation.revoked_at: moment}).where(
            (Invitation.member == member_id)
            & Invitation.used_at.is_null()
            & Invitation.revoked_at.is_null()
        )
        await audit.record(
            "deactivated",
            actor=by,
            subject=member_id,
            client=client,
            sessions=ended,
            **({"integration": via} if via else {}),
        )
    await sessions_changed()  # committed now: no process may answer from a kept session


async def reactivate(member_id: int, by: int | None, client: str = "", via: str = "") -> None:
    async with write_transaction():
        await Member.update({Member.active: True, Member.deactivated_at: None}).where(
            Member.id == member_id
        )
        await audit.record(
            "reactivated",
            actor=by,
            subject=member_id,
            client=client,
            **({"integration": via} if via else {}),
        )
    await sessions_changed()
