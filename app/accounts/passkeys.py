"""Passkey ceremonies with py_webauthn: options → browser → verify → store, a function each.

Every ceremony gets a random challenge kept server-side in a :class:`Ceremony` row that is
deleted when it is used, so a challenge works once, for one purpose, for five minutes.
User verification is required in every ceremony; attestation is not asked for.

py_webauthn (about 5 MB once imported) is imported by the functions that use it, so a web
process that never runs a ceremony does not load it (issue 15).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from app.accounts.sessions import sessions_changed
from app.accounts.tables import Ceremony, Invitation, Member, Passkey
from app.accounts.tokens import new_token
from app.core.clock import now
from app.core.db import write_transaction
from app.core.i18n import _
from app.core.settings import Settings

CEREMONY_LIFETIME = timedelta(minutes=5)
TIMEOUT_MS = 120_000


class PasskeyError(Exception):
    """A ceremony refused; the message is for the person in front of the screen."""


@dataclass
class Started:
    token: str
    options: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"ceremony": self.token, "publicKey": self.options}


async def _start(
    purpose: str, challenge: bytes, member: int | None = None, invitation: int | None = None
) -> str:
    from webauthn.helpers import bytes_to_base64url

    token, _hash = new_token()
    await Ceremony.insert(
        Ceremony(
            token=token,
            challenge=bytes_to_base64url(challenge),
            purpose=purpose,
            member=member,
            invitation=invitation,
            expires_at=now() + CEREMONY_LIFETIME,
        )
    ).run()
    # Old, abandoned ceremonies go as new ones start.
    await Ceremony.delete().where(Ceremony.expires_at < now() - CEREMONY_LIFETIME)
    return token


async def take_ceremony(token: str, purpose: str) -> dict[str, Any]:
    """Use up a ceremony: it can never be used again, whatever the outcome."""
    if not token or len(token) > 64:
        raise PasskeyError(_("This sign-in attempt has expired. Please try again."))
    rows = await Ceremony.delete().where(Ceremony.token == token).returning(*Ceremony.all_columns())
    if not rows or rows[0]["purpose"] != purpose or rows[0]["expires_at"] <= now():
        raise PasskeyError(_("This sign-in attempt has expired. Please try again."))
    return rows[0]


async def ensure_user_handle(member_id: int) -> bytes:
    from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

    row = await Member.select(Member.webauthn_user_id).where(Member.id == member_id).first()
    if row and row["webauthn_user_id"]:
        return base64url_to_bytes(row["webauthn_user_id"])
    handle = secrets.token_bytes(32)
    await Member.update({Member.webauthn_user_id: bytes_to_base64url(handle)}).where(
        Member.id == member_id
    )
    await sessions_changed()
    return handle


async def registration_options(
    settings: Settings, member: Member, purpose: str, invitation: int | None = None
) -> Started:
    """Options to create a discoverable passkey with user verification, no attestation."""
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers import base64url_to_bytes
    from webauthn.helpers.structs import (
        AttestationConveyancePreference,
        AuthenticatorSelectionCriteria,
        PublicKeyCredentialDescriptor,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    handle = await ensure_user_handle(member.id)
    existing = await Passkey.select(Passkey.credential_id, Passkey.transports).where(
        Passkey.member == member.id
    )
    options = generate_registration_options(
        rp_id=settings.host,
        rp_name="Relay",
        user_id=handle,
        user_name=member.email,
        user_display_name=member.name,
        timeout=TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            require_resident_key=True,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(row["credential_id"]))
            for row in existing
        ],
    )
    token = await _start(purpose, options.challenge, member=member.id, invitation=invitation)
    return Started(token, json.loads(options_to_json(options)))


async def finish_registration(
    settings: Settings,
    ceremony: dict[str, Any],
    credential: dict[str, Any],
    device_name: str,
    use_invitation: int | None = None,
) -> int:
    """Verify a new passkey and store it; returns the passkey's id.

    With ``use_invitation``, the enrolment link is used up in the same transaction: the
    passkey is stored only if the link was still unused, and the link is used only if the
    passkey is stored.
    """
    from webauthn import verify_registration_response
    from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
    from webauthn.helpers.exceptions import InvalidJSONStructure, WebAuthnException

    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(ceremony["challenge"]),
            expected_rp_id=settings.host,
            expected_origin=settings.public_url,
            require_user_verification=True,
        )
    except (WebAuthnException, InvalidJSONStructure, KeyError, ValueError, TypeError) as exc:
        raise PasskeyError(
            _("Your device's passkey could not be verified. Please try again.")
        ) from exc
    transports = credential.get("response", {}).get("transports") or []
    credential_id = bytes_to_base64url(verified.credential_id)
    async with write_transaction():
        if await Passkey.exists().where(Passkey.credential_id == credential_id):
            raise PasskeyError(_("This passkey is already registered."))
        rows = await Passkey.insert(
            Passkey(
                member=ceremony["member"],
                credential_id=credential_id,
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                transports=",".join(t for t in transports if isinstance(t, str))[:200],
                backed_up=verified.credential_backed_up,
                device_type=verified.credential_device_type.value,
                aaguid=verified.aaguid,
                name=device_name[:60],
            )
        ).returning(Passkey.id)
        if use_invitation is not None:
            used = (
                await Invitation.update({Invitation.used_at: now()})
                .where(
                    (Invitation.id == use_invitation)
                    & Invitation.used_at.is_null()
                    & Invitation.revoked_at.is_null()
                    & (Invitation.expires_at > now())
                )
                .returning(Invitation.id)
            )
            if not used:
                raise PasskeyError(
                    _("This link can't be used any more. Ask your Relay admin for a new one.")
                )
    return int(rows[0]["id"])


async def authentication_options(
    settings: Settings, purpose: str = "signin", member: Member | None = None
) -> Started:
    """Usernameless sign-in (no allowCredentials), or a confirmation by a known member."""
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers import base64url_to_bytes
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor, UserVerificationRequirement

    allow = []
    if member is not None:
        rows = await Passkey.select(Passkey.credential_id).where(Passkey.member == member.id)
        allow = [
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(r["credential_id"])) for r in rows
        ]
    options = generate_authentication_options(
        rp_id=settings.host,
        timeout=TIMEOUT_MS,
        allow_credentials=allow,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    token = await _start(purpose, options.challenge, member=member.id if member else None)
    return Started(token, json.loads(options_to_json(options)))


async def finish_authentication(
    settings: Settings, ceremony: dict[str, Any], credential: dict[str, Any]
) -> tuple[int, int]:
    """Verify a passkey assertion; returns (member id, passkey id)."""
    from webauthn import verify_authentication_response
    from webauthn.helpers import (
        base64url_to_bytes,
        bytes_to_base64url,
        parse_authentication_credential_json,
    )
    from webauthn.helpers.exceptions import InvalidJSONStructure, WebAuthnException

    try:
        parsed = parse_authentication_credential_json(credential)
    except (InvalidJSONStructure, WebAuthnException, ValueError, TypeError) as exc:
        raise PasskeyError(_("Your device's answer could not be read. Please try again.")) from exc
    credential_id = bytes_to_base64url(parsed.raw_id)
    passkey = (
        await Passkey.objects(Passkey.member).where(Passkey.credential_id == credential_id).first()
    )
    if passkey is None:
        raise PasskeyError(
            _(
                "This passkey is not known to Relay. It may have been removed: ask your admin for a new link."
            )
        )
    if ceremony["member"] is not None and passkey.member.id != ceremony["member"]:
        raise PasskeyError(_("Please confirm with one of your own passkeys."))
    if parsed.response.user_handle is not None and passkey.member.webauthn_user_id not in (
        None,
        bytes_to_base64url(parsed.response.user_handle),
    ):
        raise PasskeyError(_("This passkey does not belong to this account."))
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=base64url_to_bytes(ceremony["challenge"]),
            expected_rp_id=settings.host,
            expected_origin=settings.public_url,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except WebAuthnException as exc:
        message = str(exc).lower()
        if "user verification" in message:
            raise PasskeyError(
                _(
                    "Your device did not verify it's you (fingerprint, face or PIN). Please try again."
                )
            ) from exc
        if "sign count" in message:
            raise PasskeyError(
                _("This passkey looks cloned and was refused. Please contact your admin.")
            ) from exc
        raise PasskeyError(_("Your passkey could not be verified. Please try again.")) from exc
    if not passkey.member.active:
        raise PasskeyError(_("Your Relay account is no longer active."))
    await Passkey.update(
        {
            Passkey.sign_count: verified.new_sign_count,
            Passkey.backed_up: verified.credential_backed_up,
            Passkey.device_type: verified.credential_device_type.value,
            Passkey.last_used_at: now(),
        }
    ).where(Passkey.id == passkey.id)
    return passkey.member.id, passkey.id
