"""Inviting people: one by one or by CSV, single-use enrolment links, resend and revoke."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.accounts import audit
from app.accounts.sessions import end_all_sessions, sessions_changed
from app.accounts.tables import Invitation, Member, Passkey, Role
from app.accounts.tokens import hash_token, new_token
from app.core.clock import now
from app.core.db import write_transaction
from app.core.forms import EMAIL_RE, FormResult
from app.core.i18n import LANGUAGES, _, in_language
from app.core.settings import INVITATION_LIFETIME, Settings
from app.core.validation import name_problem
from app.mail import service as mail
from app.org.tables import Site, Team

MAX_CSV_BYTES = 1_000_000
MAX_CSV_ROWS = 5_000
CSV_COLUMNS = ["email", "name", "role", "team", "site", "language"]


@dataclass
class Person:
    email: str
    name: str
    role: str
    team: int | None
    site: int | None
    language: str


async def teams_and_sites() -> tuple[dict[str, int], dict[str, int]]:
    teams = {r["name"]: r["id"] for r in await Team.select(Team.id, Team.name).order_by(Team.name)}
    sites = {r["name"]: r["id"] for r in await Site.select(Site.id, Site.name).order_by(Site.name)}
    return teams, sites


def check_person(
    values: Mapping[str, Any],
    teams: dict[str, int],
    sites: dict[str, int],
    taken_emails: set[str],
) -> FormResult:
    """Validate one person; ``team`` and ``site`` are given by name, as a CSV has them.
    ``values`` are the columns as typed, with the `Person` as ``values["person"]`` when ok."""
    form = FormResult.of(values)
    form.values = {k: form.raw(k) for k in CSV_COLUMNS}
    form.email(
        "email",
        required=_("Enter an email address."),
        message=_("Enter a valid email address, like name@company.com."),
    )
    email = form.values["email"] = form.values["email"].lower()
    if email in taken_emails:
        form.fail("email", _("Someone with this email address is already in Relay."))
    name = form.text(
        "name",
        max_length=120,
        required=_("Enter the person's name."),
        too_long=_("Keep the name under 120 characters."),
    )
    if problem := name_problem(name):
        form.fail("name", problem)
    role = form.choice(
        "role",
        {r.value for r in Role},
        parse=str.lower,
        default=Role.employee.value,
        message=_("Choose a role: employee, editor or admin."),
    )
    team, site = form.values["team"], form.values["site"]
    if team and team not in teams:
        form.fail("team", _("There is no team with this name."))
    if site and site not in sites:
        form.fail("site", _("There is no site with this name."))
    language = form.choice(
        "language",
        LANGUAGES,
        parse=str.lower,
        default="en",
        message=_("Choose a language: en or fr."),
    )
    if form.ok and role and language:
        form.values["person"] = Person(
            email=email,
            name=name,
            role=role,
            team=teams.get(team) if team else None,
            site=sites.get(site) if site else None,
            language=language,
        )
    return form


async def taken_emails() -> set[str]:
    return {r["email"].lower() for r in await Member.select(Member.email)}


@dataclass
class Invited:
    member_id: int
    token: str
    expires_at: datetime
    invitation_id: int


@dataclass(frozen=True)
class LinkMail:
    """Enrolment links also go out by email (SMTP is configured): from whom, to where."""

    settings: Settings
    org_name: str


async def _new_invitation(
    member_id: int,
    by: int | None,
    purpose: str,
    link_mail: LinkMail | None = None,
    lifetime: timedelta = INVITATION_LIFETIME,
) -> Invited:
    """Revoke the member's open links, then make a new one that works for ``lifetime``
    (the app passes ``settings.invitation_lifetime``), queueing its email with ``link_mail``
    (call it inside a transaction)."""
    moment = now()
    revoked = await (
        Invitation.update({Invitation.revoked_at: moment})
        .where(
            (Invitation.member == member_id)
            & Invitation.used_at.is_null()
            & Invitation.revoked_at.is_null()
        )
        .returning(Invitation.id)
    )
    await mail.cancel([f"invitation:{row['id']}" for row in revoked])
    token, token_hash = new_token()
    expires_at = moment + lifetime
    rows = await Invitation.insert(
        Invitation(
            member=member_id,
            token_hash=token_hash,
            purpose=purpose,
            created_by=by,
            created_at=moment,
            expires_at=expires_at,
        )
    ).returning(Invitation.id)
    invited = Invited(member_id, token, expires_at, int(rows[0]["id"]))
    if link_mail is not None:
        await _queue_link_mail(link_mail, invited)
    return invited


async def _add_invited_member(
    person: Person, by: int | None, link_mail: LinkMail | None, lifetime: timedelta
) -> Invited:
    rows = await Member.insert(
        Member(
            email=person.email,
            name=person.name,
            role=person.role,
            team=person.team,
            site=person.site,
            language=person.language,
        )
    ).returning(Member._meta.primary_key)
    return await _new_invitation(int(rows[0]["id"]), by, "invite", link_mail, lifetime)


async def invite(
    person: Person,
    by: int | None,
    client: str = "",
    link_mail: LinkMail | None = None,
    lifetime: timedelta = INVITATION_LIFETIME,
    via: str = "",
) -> Invited:
    """Add a member and their enrolment link: an admin's invitation (``by``), or a system's
    (``by`` None, ``via`` naming it: SCIM provisioning from an identity provider)."""
    async with write_transaction():
        if await Member.exists().where(Member.email == person.email):
            raise ValueError("email taken")
        invited = await _add_invited_member(person, by, link_mail, lifetime)
        await audit.record(
            "invited",
            actor=by,
            subject=invited.member_id,
            client=client,
            role=person.role,
            **({"integration": via} if via else {}),
        )
    if link_mail is not None:
        mail.kick()
    return invited


async def import_people(
    people: list[Person],
    by: int | None,
    client: str = "",
    link_mail: LinkMail | None = None,
    lifetime: timedelta = INVITATION_LIFETIME,
) -> list[Invited]:
    """All or nothing: every person is invited (and their email queued), or none is."""
    async with write_transaction():
        taken = await taken_emails()
        if any(p.email in taken for p in people):
            raise ValueError("email taken")
        invited = [await _add_invited_member(person, by, link_mail, lifetime) for person in people]
        await audit.record("imported", actor=by, client=client, count=len(people))
    if link_mail is not None:
        mail.kick()
    return invited


async def issue_link(
    member_id: int,
    by: int | None,
    revoke_passkeys: bool = False,
    client: str = "",
    link_mail: LinkMail | None = None,
    lifetime: timedelta = INVITATION_LIFETIME,
) -> Invited:
    """A new enrolment link: resent invitation, or recovery for someone who lost a phone."""
    async with write_transaction():
        has_passkey = await Passkey.exists().where(Passkey.member == member_id)
        purpose = "recovery" if has_passkey else "invite"
        if revoke_passkeys:
            await Passkey.delete().where(Passkey.member == member_id)
            await end_all_sessions(member_id)
        invited = await _new_invitation(member_id, by, purpose, link_mail, lifetime)
        await audit.record(
            "recovery_link" if purpose == "recovery" else "invitation_resent",
            actor=by,
            subject=member_id,
            client=client,
            revoked_passkeys=revoke_passkeys,
        )
    if link_mail is not None:
        mail.kick()
    return invited


async def revoke(invitation_id: int, by: int | None, client: str = "") -> int | None:
    async with write_transaction():
        row = (
            await Invitation.select(Invitation.member)
            .where(
                (Invitation.id == invitation_id)
                & Invitation.used_at.is_null()
                & Invitation.revoked_at.is_null()
            )
            .first()
        )
        if row is None:
            return None
        await Invitation.update({Invitation.revoked_at: now()}).where(
            Invitation.id == invitation_id
        )
        await mail.cancel([f"invitation:{invitation_id}"])
        await audit.record("invitation_revoked", actor=by, subject=row["member"], client=client)
        return int(row["member"])


async def open_invitation(token: str) -> tuple[dict[str, Any], Member] | None:
    """The usable invitation behind a link: not used, revoked or expired, member active."""
    if not token or len(token) > 100:
        return None
    invitation = (
        await Invitation.select(*Invitation.all_columns())
        .where(Invitation.token_hash == hash_token(token))
        .first()
    )
    if (
        invitation is None
        or invitation["used_at"] is not None
        or invitation["revoked_at"] is not None
        or invitation["expires_at"] <= now()
    ):
        return None
    member = await Member.objects().where(Member.id == invitation["member"]).first()
    if member is None or not member.active:
        return None
    return invitation, member


def enrolment_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url}/enrol/{token}"


async def _queue_link_mail(link_mail: LinkMail, invited: Invited) -> None:
    """The enrolment link by email, in the invitee's language, queued in the outbox."""
    member = (
        await Member.select(Member.email, Member.name, Member.language)
        .where(Member.id == invited.member_id)
        .first()
    )
    assert member is not None
    with in_language(member["language"]):
        subject = _("{org} invites you to Relay").format(org=link_mail.org_name)
        text = _(
            "Hello {name},\n\n"
            "{org} uses Relay to share its news and job offers, and to thank the people who "
            "help it hire.\n\n"
            "Open this link on your phone to create your passkey (no password needed):\n"
            "{link}\n\n"
            "The link works once and expires on {date}.\n"
        ).format(
            name=member["name"],
            org=link_mail.org_name,
            link=enrolment_url(link_mail.settings, invited.token),
            date=invited.expires_at.strftime("%Y-%m-%d"),
        )
    await mail.enqueue(
        link_mail.settings,
        member["email"],
        subject,
        text,
        about=f"invitation:{invited.invitation_id}",
    )


def parse_people_csv(
    content: bytes, teams: dict[str, int], sites: dict[str, int], taken: set[str]
) -> tuple[list[FormResult], str | None]:
    """Every row checked, with a file-level error when the file itself is unusable."""
    if len(content) > MAX_CSV_BYTES:
        return [], _("The file is too large: at most 1 MB.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], _("The file must be a CSV saved as UTF-8.")
    if "\x00" in text:
        return [], _("The file must be a CSV saved as UTF-8.")
    lines = text.splitlines()
    if not lines:
        return [], _("The file is empty.")
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    try:
        return _people_rows(
            csv.DictReader(io.StringIO(text), delimiter=delimiter), teams, sites, taken
        )
    except csv.Error:  # a field over csv's 128 KB limit, a quote never closed…
        return [], _("A line of the file could not be read: check it is a CSV of names and emails.")


def _people_rows(
    reader: csv.DictReader[str], teams: dict[str, int], sites: dict[str, int], taken: set[str]
) -> tuple[list[FormResult], str | None]:
    headers = [h.strip().lower() for h in reader.fieldnames or []]
    if "email" not in headers or "name" not in headers:
        return [], _("The first line must name the columns, at least: email, name.")
    reader.fieldnames = headers
    rows: list[FormResult] = []
    seen: set[str] = set()
    for values in reader:
        if len(rows) >= MAX_CSV_ROWS:
            return [], _("The file has too many rows: at most 5,000.")
        if not any((v or "").strip() for v in values.values() if isinstance(v, str)):
            continue
        checked = check_person(
            {k: v for k, v in values.items() if isinstance(k, str)}, teams, sites, taken
        )
        if checked.values["email"] in seen:
            checked.fail("email", _("This email address appears twice in the file."))
            checked.values.pop("person", None)
        seen.add(checked.values["email"])
        rows.append(checked)
    if not rows:
        return [], _("The file has no one in it.")
    return rows, None


async def enrolment_for_admin(
    email: str, name: str, lifetime: timedelta = INVITATION_LIFETIME
) -> Invited:
    """The first admin (or the demo admin): created if missing, then given a fresh link."""
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise ValueError(_("Enter a valid email address, like name@company.com."))
    async with write_transaction():
        row = await Member.select(Member.id).where(Member.email == email).first()
        if row is None:
            rows = await Member.insert(
                Member(email=email, name=name or email.split("@")[0], role=Role.admin.value)
            ).returning(Member._meta.primary_key)
            member_id = int(rows[0]["id"])
        else:
            member_id = int(row["id"])
            await Member.update({Member.role: Role.admin.value, Member.active: True}).where(
                Member.id == member_id
            )
        invited = await _new_invitation(member_id, None, "invite", lifetime=lifetime)
        await audit.record("invited", subject=member_id, role=Role.admin.value, via="command line")
    await sessions_changed()
    return invited


async def has_passkey(email: str) -> bool:
    return await Passkey.exists().where(Passkey.member.email == email.lower())
