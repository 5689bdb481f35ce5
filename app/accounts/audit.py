"""The audit trail: sign-ins, failed ceremonies, passkeys, invitations, roles, leavers, and
candidates' data deleted on request."""

from __future__ import annotations

import json
from typing import Any

from app.accounts.tables import AuditEvent
from app.core.i18n import lazy

ACTIONS = {
    "signin": lazy("Signed in"),
    "signin_failed": lazy("Sign-in refused"),
    "enrol_failed": lazy("Enrolment refused"),
    "passkey_added": lazy("Passkey added"),
    "passkey_renamed": lazy("Passkey renamed"),
    "passkey_removed": lazy("Passkey removed"),
    "signout": lazy("Signed out"),
    "signout_everywhere": lazy("Signed out on every device"),
    "invited": lazy("Invited"),
    "invitation_resent": lazy("Enrolment link sent again"),
    "invitation_revoked": lazy("Enrolment link revoked"),
    "recovery_link": lazy("Recovery link issued"),
    "role_changed": lazy("Role changed"),
    "deactivated": lazy("Deactivated"),
    "reactivated": lazy("Reactivated"),
    "imported": lazy("People imported"),
    "points_rules_changed": lazy("Points rules changed"),
    "points_levels_changed": lazy("Levels changed"),
    "challenge_saved": lazy("Challenge saved"),
    "challenge_ended": lazy("Challenge ended early"),
    "points_corrected": lazy("Points corrected"),
    "reward_created": lazy("Reward created"),
    "reward_updated": lazy("Reward changed"),
    "redemption_approved": lazy("Reward request approved"),
    "redemption_delivered": lazy("Reward delivered"),
    "redemption_rejected": lazy("Reward request rejected and refunded"),
    "candidate_deleted": lazy("Candidate's data deleted"),
    "wall_of_fame_consent": lazy("Wall of fame consent recorded"),
    "bonus_paid": lazy("Referral bonus marked paid"),
    "bonus_settings_changed": lazy("Referral bonus settings changed"),
    "own_decision_refused": lazy("Refused: a decision on their own referral, reward or points"),
    "integration_token_created": lazy("Integration token created"),
    "integration_token_revoked": lazy("Integration token revoked"),
    "scim_user_changed": lazy("Changed by the identity provider"),
    "scim_group_changed": lazy("Team changed by the identity provider"),
    "scim_group_deleted": lazy("Team removed by the identity provider"),
    "api_offer_saved": lazy("Offer saved by the ATS"),
    "api_stage_set": lazy("Candidate moved by the ATS"),
    "api_candidates_read": lazy("Candidates read by the ATS"),
    "webhook_endpoint_added": lazy("Webhook endpoint added"),
    "webhook_endpoint_removed": lazy("Webhook endpoint removed"),
    "sso_provider_added": lazy("Single sign-on provider added"),
    "sso_provider_changed": lazy("Single sign-on provider changed"),
    "sso_provider_removed": lazy("Single sign-on provider removed"),
    "sso_provider_checked": lazy("Single sign-on provider checked"),
    "sso_policy_changed": lazy("Single sign-on requirement changed"),
    "sso_linked": lazy("Account linked to single sign-on"),
    "sso_created": lazy("Account created at first single sign-on"),
}


async def record(
    action: str,
    *,
    actor: int | None = None,
    subject: int | None = None,
    client: str = "",
    **detail: Any,
) -> None:
    assert action in ACTIONS, action
    await AuditEvent.insert(
        AuditEvent(
            action=action,
            actor=actor,
            subject=subject,
            client=client[:64],
            detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else "",
        )
    ).run()


async def recent(limit: int = 100, before: int | None = None) -> list[dict[str, Any]]:
    query = AuditEvent.select(
        AuditEvent.id,
        AuditEvent.at,
        AuditEvent.action,
        AuditEvent.detail,
        AuditEvent.client,
        AuditEvent.actor.name.as_alias("actor_name"),
        AuditEvent.subject.name.as_alias("subject_name"),
        AuditEvent.subject.id.as_alias("subject_id"),
    ).order_by(AuditEvent.id, ascending=False)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows = await query.limit(limit)
    for row in rows:
        row["detail"] = json.loads(row["detail"]) if row["detail"] else {}
    return rows
