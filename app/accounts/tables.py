from enum import StrEnum
from typing import Any

from piccolo.columns import (
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.core.db import NeverReusedSerial
from app.core.search import folded
from app.org.tables import Site, Team


class Role(StrEnum):
    employee = "employee"
    editor = "editor"
    admin = "admin"


ROLE_RANK = {Role.employee: 0, Role.editor: 1, Role.admin: 2}


class Member(Table):
    """A person of the organisation who uses Relay: an employee, an editor or an admin."""

    id = NeverReusedSerial(primary_key=True)

    email = Varchar(length=254, unique=True)
    name = Varchar(length=120)
    # The name and email folded for search (app.core.search), set whenever they are.
    search_text = Varchar(length=400, default="")
    role = Varchar(length=10, default=Role.employee.value, choices=Role)
    team = ForeignKey(references=Team, null=True, on_delete=OnDelete.set_null)
    site = ForeignKey(references=Site, null=True, on_delete=OnDelete.set_null)
    language = Varchar(length=5, default="en")
    active = Boolean(default=True, index=True)
    # The WebAuthn user handle: 32 random bytes, never the email, so passkeys reveal
    # nothing. Random enough to be unique without a constraint SQLite can't add later.
    webauthn_user_id = Varchar(length=64, null=True, default=None, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    deactivated_at = Timestamptz(null=True, default=None)
    # The member chose to appear as "Anonymous ambassador" on leaderboards and the wall of fame.
    leaderboard_anonymous = Boolean(default=False)
    # The media key of the member's profile photo (app.content.media square variants), or None.
    photo = Varchar(length=16, null=True, default=None)

    def __init__(
        self,
        _data: Any = None,
        _ignore_missing: bool = False,
        _exists_in_db: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(_data, _ignore_missing, _exists_in_db, **kwargs)
        if not _exists_in_db:
            self.search_text = member_search_text(self.name or "", self.email or "")


def member_search_text(name: str, email: str) -> str:
    return folded(f"{name} {email}")


class Passkey(Table):
    """A WebAuthn credential a member signs in with."""

    id = NeverReusedSerial(primary_key=True)

    member = ForeignKey(references=Member, on_delete=OnDelete.cascade, index=True)
    credential_id = Varchar(length=1400, unique=True)  # base64url
    public_key = Bytea()
    sign_count = Integer(default=0)
    transports = Varchar(length=200, default="")
    backed_up = Boolean(default=False)
    device_type = Varchar(length=20, default="single_device")
    aaguid = Varchar(length=36, default="")
    name = Varchar(length=60)
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)


class Invitation(Table):
    """A single-use enrolment link: the first one for a new member, or one for recovery."""

    id = NeverReusedSerial(primary_key=True)

    member = ForeignKey(references=Member, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True)
    purpose = Varchar(length=10, default="invite")  # invite | recovery
    created_by = ForeignKey(
        references=Member,
        null=True,
        on_delete=OnDelete.set_null,
    )
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    # Whether its email went out: app.mail.service.states(["invitation:{id}"]).


class Session(Table, tablename="member_session"):
    """A signed-in device. The cookie holds a random token; only its hash is stored."""

    id = NeverReusedSerial(primary_key=True)

    token_hash = Varchar(length=64, unique=True)
    member = ForeignKey(references=Member, on_delete=OnDelete.cascade, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_seen_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    # Until when a sensitive action needs no new passkey confirmation.
    fresh_until = Timestamptz(null=True, default=None)
    user_agent = Varchar(length=200, default="")


class Ceremony(Table):
    """A WebAuthn challenge: random, single-use, short-lived, tied to one ceremony."""

    id = NeverReusedSerial(primary_key=True)

    token = Varchar(length=64, unique=True)
    challenge = Varchar(length=128)  # base64url
    purpose = Varchar(length=12)  # signin | enrol | add | confirm
    member = ForeignKey(references=Member, null=True, on_delete=OnDelete.cascade)
    invitation = ForeignKey(references=Invitation, null=True, on_delete=OnDelete.cascade)
    expires_at = Timestamptz()


class AuditEvent(Table):
    """Who did what to whom: sign-ins, failed ceremonies, passkeys, invitations, roles."""

    id = NeverReusedSerial(primary_key=True)

    at = Timestamptz(default=TimestamptzNow(), index=True)
    action = Varchar(length=40, index=True)
    actor = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    subject = ForeignKey(
        references=Member,
        null=True,
        on_delete=OnDelete.set_null,
    )
    detail = Text(default="")
    client = Varchar(length=64, default="")
