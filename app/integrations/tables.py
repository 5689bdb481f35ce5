from enum import StrEnum

from piccolo.columns import Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import Member
from app.content.tables import ContentItem
from app.core.db import NeverReusedSerial
from app.org.tables import Team


class IntegrationToken(Table):
    """A bearer token an outside system calls Relay with. Its ``kind`` says which door it
    opens (``scim``: an identity provider provisioning people; later ``api`` for an ATS) and
    ``scopes`` what it may do behind it; a token never opens another kind's door. Only its
    hash is kept: the admin sees the token once, when it is made."""

    id = NeverReusedSerial(primary_key=True)

    kind = Varchar(length=20, index=True)
    name = Varchar(length=80)  # the identity provider or system, as the admin named it
    scopes = Varchar(length=200, default="")  # space-separated
    token_hash = Varchar(length=64, unique=True)
    created_by = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class ScimUser(Table, tablename="scim_user"):
    """What an identity provider calls a member (SCIM's userName, externalId, name parts),
    once it has provisioned or touched them. A member without one is known to SCIM by their
    email address, so that a provider can match the people an admin invited first."""

    id = NeverReusedSerial(primary_key=True)

    member = ForeignKey(references=Member, unique=True, on_delete=OnDelete.cascade)
    token = ForeignKey(references=IntegrationToken, null=True, on_delete=OnDelete.set_null)
    user_name = Varchar(length=254, unique=True)  # lower-cased: SCIM's userName ignores case
    external_id = Varchar(length=254, null=True, default=None, index=True)
    given_name = Varchar(length=120, default="")
    family_name = Varchar(length=120, default="")
    # As the provider sent them (None: not sent). The member's name and language come from
    # them; Relay's language is en or fr, the provider's may be any tag ("fr-CA").
    display_name = Varchar(length=120, null=True, default=None)
    preferred_language = Varchar(length=64, null=True, default=None)
    # The email's type and primary flag as sent: providers address it as emails[type eq "work"].
    email_type = Varchar(length=20, null=True, default=None)
    email_primary = Boolean(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    # Deleted through SCIM: the member is deactivated (their history stays) and SCIM answers
    # 404 for them until the provider creates the same user again, which brings them back.
    deleted_at = Timestamptz(null=True, default=None)


class ScimGroup(Table, tablename="scim_group"):
    """A team as an identity provider knows it (its externalId), and when SCIM last changed it."""

    id = NeverReusedSerial(primary_key=True)

    team = ForeignKey(references=Team, unique=True, on_delete=OnDelete.cascade)
    external_id = Varchar(length=254, null=True, default=None, index=True)
    updated_at = Timestamptz(default=TimestamptzNow())


class ExternalOffer(Table, tablename="external_offer"):
    """An offer an applicant tracking system keeps in sync through the API: its own id for
    the offer (``external_id``, unique), so that the same call twice updates, never doubles."""

    id = NeverReusedSerial(primary_key=True)

    item = ForeignKey(references=ContentItem, unique=True, on_delete=OnDelete.cascade)
    external_id = Varchar(length=100, unique=True)
    token = ForeignKey(references=IntegrationToken, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class WebhookEndpoint(Table, tablename="webhook_endpoint"):
    """Where Relay posts its events (Standard Webhooks): an https address on a public host,
    and the ``whsec_`` secret the receiver verifies signatures with (shown once to the admin;
    kept sealed, since signing needs it)."""

    id = NeverReusedSerial(primary_key=True)

    url = Varchar(length=500)
    description = Varchar(length=80, default="")
    # "whsec_" + base64 of 32 random bytes, sealed with a key derived from SECRET_KEY
    # (app.core.sealed): signing needs it back, a copy of the database alone must not give it.
    sealed_secret = Text(default="")
    created_by = ForeignKey(references=Member, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    disabled_at = Timestamptz(null=True, default=None)


class WebhookState(StrEnum):
    pending = "pending"  # waiting for its next attempt (or claimed by a sender until then)
    delivered = "delivered"
    failed = "failed"  # given up after the last attempt


class WebhookDelivery(Table, tablename="webhook_delivery"):
    """One event for one endpoint: the outbox row, written in the transaction of the event,
    and its delivery log (attempts, the receiver's last answer)."""

    id = NeverReusedSerial(primary_key=True)

    endpoint = ForeignKey(references=WebhookEndpoint, on_delete=OnDelete.cascade, index=True)
    message_id = Varchar(length=40)  # webhook-id: the same on every attempt
    event_type = Varchar(length=40)
    payload = Text()  # the JSON body, as signed
    state = Varchar(length=10, default=WebhookState.pending.value, choices=WebhookState, index=True)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=TimestamptzNow(), index=True)
    claimed_by = Varchar(length=80, default="")
    last_status = Integer(null=True, default=None)  # the receiver's last HTTP status
    last_answer = Varchar(length=300, default="")  # its body's start, or the error
    last_attempt_at = Timestamptz(null=True, default=None)
    delivered_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


class OidcProvider(Table, tablename="oidc_provider"):
    """An OpenID Connect identity provider people sign in with ("Sign in with <name>").

    The client secret is kept encrypted (app.integrations.oidc: a key derived from SECRET_KEY).
    The provider's discovery document and signing keys are cached here, so that every process
    shares them and a sign-in makes at most the one call it needs (the token exchange)."""

    id = NeverReusedSerial(primary_key=True)

    name = Varchar(length=80)  # as the sign-in button says it: the company or the provider
    issuer = Varchar(length=300)
    client_id = Varchar(length=300)
    client_secret = Text(default="")  # Fernet token
    allowed_domains = Varchar(length=1000, default="")  # space-separated, lower-case
    team_claim = Varchar(length=60, default="")
    site_claim = Varchar(length=60, default="")
    jit = Boolean(default=False)  # create unknown people of the allowed domains, as employees
    enabled = Boolean(default=True)
    metadata = Text(default="")  # the discovery document, JSON
    jwks = Text(default="")  # the provider's public keys, JSON
    fetched_at = Timestamptz(null=True, default=None)
    # The last thing found wrong with the provider's set-up (app.integrations.oidc.PROBLEMS),
    # until a sign-in or a check succeeds; shown to the admin and on the sign-in page.
    problem = Varchar(length=30, default="")
    problem_detail = Text(default="")  # JSON: what the sentence names
    problem_at = Timestamptz(null=True, default=None)
    checked_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class OidcIdentity(Table, tablename="oidc_identity"):
    """A member's account at a provider (its ``sub``), linked at their first SSO sign-in."""

    id = NeverReusedSerial(primary_key=True)

    provider = ForeignKey(references=OidcProvider, on_delete=OnDelete.cascade)
    member = ForeignKey(references=Member, index=True, on_delete=OnDelete.cascade)
    # "<provider id>:<sub>": one member per account of a provider.
    subject_key = Varchar(length=320, unique=True)
    email = Varchar(length=254, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)


class OidcLogin(Table, tablename="oidc_login"):
    """A sign-in on its way through a provider: its ``state`` (hashed), ``nonce`` and PKCE
    verifier. Single-use and short-lived: a replayed or stale ``state`` finds nothing."""

    id = NeverReusedSerial(primary_key=True)

    state_hash = Varchar(length=64, unique=True)
    provider = ForeignKey(references=OidcProvider, on_delete=OnDelete.cascade)
    nonce = Varchar(length=64)
    verifier = Varchar(length=128)
    next = Varchar(length=300, default="/")
    expires_at = Timestamptz(index=True)
    used_at = Timestamptz(null=True, default=None)


class SsoPolicy(Table, tablename="sso_policy"):
    """One row: whether everyone signs in through single sign-on first (invitations then
    send no enrolment link: people sign in with their company account, then add a passkey)."""

    id = NeverReusedSerial(primary_key=True)

    required = Boolean(default=False)
    updated_at = Timestamptz(default=TimestamptzNow())
