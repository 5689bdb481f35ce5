"""Single sign-on with OpenID Connect: the providers an admin configures, and the sign-in
through one of them (authorization code flow with PKCE, ``state`` and ``nonce``).

- The client secret is stored sealed (app.core.sealed: Fernet under a key derived from
  SECRET_KEY by HKDF-SHA256); it never appears in a page, a log or the audit.
- The discovery document and the provider's keys (JWKS) are fetched with short timeouts and
  cached in the provider's row, so every process shares them: a sign-in makes one call of
  its own, the token exchange; the keys are fetched again when a token names one not known.
- The ID token's signature and claims (issuer, audience, expiry, issue time, nonce) are
  checked by authlib, with two minutes of leeway for clocks.
- What goes wrong with a provider's set-up (unreachable, not an OpenID provider, another
  issuer, a refused client secret, a clock off, another audience, a bad signature) is kept on
  the provider as a problem code, and shown as a sentence to the admin and on the sign-in
  page; what goes wrong with one person's sign-in is told to them and audited.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

import aiohttp
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt as jose_jwt
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError
from joserfc.jwk import KeySet

from app.accounts import audit
from app.accounts.tables import Member, Passkey, Role, member_search_text
from app.accounts.tokens import hash_token
from app.core.clock import now
from app.core.db import write_transaction
from app.core.forms import FormResult
from app.core.i18n import _, lazy
from app.core.sealed import seal, unseal
from app.core.settings import Settings
from app.core.validation import name_problem
from app.integrations.tables import OidcIdentity, OidcLogin, OidcProvider, SsoPolicy
from app.org.tables import Site, Team

CALLBACK_PATH = "/signin/sso/callback"
LOGIN_LIFETIME = timedelta(minutes=10)
HTTP_TIMEOUT_S = 5.0
MAX_DOCUMENT_BYTES = 512 * 1024
METADATA_MAX_AGE = timedelta(hours=24)
KEYS_REFRESH_MIN = timedelta(
    minutes=5
)  # a token naming an unknown key fetches keys at most so often
LEEWAY_S = 120
SCOPES = "openid email profile"
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]

# The provider's set-up problems: the admin reads the sentence and knows what to fix.
PROBLEMS = {
    "unreachable": lazy(
        "Relay could not reach %(issuer)s: check the issuer URL, and that this server may "
        "connect to it."
    ),
    "not_oidc": lazy(
        "%(issuer)s did not answer as an OpenID provider: Relay found no discovery document "
        "at /.well-known/openid-configuration. Check the issuer URL."
    ),
    "issuer_mismatch": lazy(
        "The provider names itself %(found)s, not %(issuer)s: copy the issuer URL exactly as "
        "the provider gives it."
    ),
    "secret": lazy(
        "The identity provider refused Relay's client ID or client secret: copy both again "
        "from the application registered there (a secret may have expired)."
    ),
    "secret_unreadable": lazy(
        "The client secret can no longer be read (SECRET_KEY has changed): enter it again."
    ),
    "clock": lazy(
        "The identity provider's clock and Relay's differ by about %(minutes)s minutes, so "
        "its sign-ins look expired or not yet valid: check the time of both servers (NTP)."
    ),
    "audience": lazy(
        "The identity provider's answer was meant for another application (%(audience)s): "
        "check the client ID."
    ),
    "signature": lazy(
        "The identity provider's answer could not be verified with the keys it publishes."
    ),
    "refused": lazy("The identity provider refused to complete the sign-in (%(error)s)."),
}

# One person's sign-in refused: told to them, and audited.
REFUSALS = {
    "state": lazy("This sign-in attempt has expired or was already used. Please try again."),
    "cancelled": lazy("Sign-in was cancelled at %(provider)s."),
    "domain": lazy(
        "Addresses of %(domain)s can't sign in to Relay through %(provider)s. Ask your Relay admin."
    ),
    "no_account": lazy(
        "There is no Relay account for %(email)s yet. Ask your Relay admin for an invitation."
    ),
    "deactivated": lazy("This account is deactivated. Ask your Relay admin."),
    "no_email": lazy("%(provider)s did not give Relay a verified email address."),
    "taken": lazy("Another Relay account is already linked to this %(provider)s account."),
    "unavailable": lazy(
        "Sign-in with %(provider)s is not working at the moment. Sign in with a passkey, or "
        "ask your Relay admin."
    ),
}


class SsoError(Exception):
    """A sign-in that cannot go on: ``code`` is a key of PROBLEMS (the provider's set-up) or of
    REFUSALS (this one sign-in), ``params`` what its sentence names."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    @property
    def is_problem(self) -> bool:
        return self.code in PROBLEMS

    def sentence(self) -> str:
        template = PROBLEMS.get(self.code) or REFUSALS[self.code]
        return str(template) % self.params if self.params else str(template)


def problem_sentence(code: str, detail: str) -> str:
    """The admin's sentence for a provider's stored problem."""
    if code not in PROBLEMS:
        return ""
    params = json.loads(detail) if detail else {}
    try:
        return str(PROBLEMS[code]) % params
    except (KeyError, TypeError, ValueError):
        return str(PROBLEMS[code])


# --- The client secret, encrypted at rest ---------------------------------------------------


SEAL_PURPOSE = "oidc client secret"  # the key app.core.sealed derives for it


def encrypt_secret(settings: Settings, secret: str) -> str:
    return seal(settings.secret_key, SEAL_PURPOSE, secret)


def decrypt_secret(settings: Settings, stored: str) -> str | None:
    return unseal(settings.secret_key, SEAL_PURPOSE, stored)


# --- The admin's form -----------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_provider(values: dict[str, Any], editing: bool = False) -> FormResult:
    form = FormResult.of(values)
    form.text(
        "name",
        max_length=80,
        required=_("Name the button: your company, or the provider (Okta, Google…)."),
        too_long=_("Keep the name under 80 characters."),
    )
    issuer = form.text(
        "issuer",
        max_length=300,
        required=_("Enter the provider's issuer URL."),
        too_long=_("Keep the address under 300 characters."),
    ).rstrip("/")
    form.values["issuer"] = issuer
    if issuer:
        try:
            parts = urlsplit(issuer)
            host = parts.hostname or ""
            parts.port  # noqa: B018 - a port out of range or not a number raises here
        except ValueError:
            parts, host = urlsplit(""), ""
        if not host or parts.query or parts.fragment or parts.username:
            form.fail(
                "issuer", _("Enter the issuer as an address, like https://login.company.com.")
            )
        elif parts.scheme != "https" and not (parts.scheme == "http" and _is_loopback(host)):
            form.fail("issuer", _("The issuer's address must start with https://."))
    form.text(
        "client_id",
        max_length=300,
        required=_("Enter the client ID the provider gave Relay."),
        too_long=_("Keep the client ID under 300 characters."),
    )
    form.text(
        "client_secret",
        max_length=1000,
        required=None if editing else _("Enter the client secret the provider gave Relay."),
        too_long=_("Keep the client secret under 1,000 characters."),
    )
    domains_text = form.text("allowed_domains", max_length=1000, too_long=_("Too many domains."))
    domains = sorted(
        {d.strip().lstrip("@").lower() for d in domains_text.replace(",", " ").split()}
    )
    for domain in domains:
        if "." not in domain or not all(
            part and all(c.isalnum() or c == "-" for c in part) for part in domain.split(".")
        ):
            form.fail(
                "allowed_domains",
                _("%(domain)s is not a domain: write them like company.com, company.fr.")
                % {"domain": domain[:60]},
            )
            break
    form.values["domains"] = domains
    for claim in ("team_claim", "site_claim"):
        value = form.text(claim, max_length=60, too_long=_("Keep the claim under 60 characters."))
        if value and not all(c.isalnum() or c in "_-:./" for c in value):
            form.fail(claim, _("A claim's name has letters, digits, _ - : . or / only."))
    jit = form.checkbox("jit")
    if jit and not domains:
        form.fail(
            "allowed_domains",
            _("Creating accounts at first sign-in needs the email domains it is allowed for."),
        )
    return form


async def providers(enabled_only: bool = False) -> list[dict[str, Any]]:
    query = OidcProvider.select(
        OidcProvider.id,
        OidcProvider.name,
        OidcProvider.issuer,
        OidcProvider.client_id,
        OidcProvider.allowed_domains,
        OidcProvider.team_claim,
        OidcProvider.site_claim,
        OidcProvider.jit,
        OidcProvider.enabled,
        OidcProvider.problem,
        OidcProvider.problem_detail,
        OidcProvider.problem_at,
        OidcProvider.checked_at,
    ).order_by(OidcProvider.id)
    if enabled_only:
        query = query.where(OidcProvider.enabled == True)  # noqa: E712
    rows = await query
    for row in rows:
        row["problem_sentence"] = problem_sentence(row["problem"], row["problem_detail"])
    return rows


async def provider(provider_id: int) -> dict[str, Any] | None:
    return await OidcProvider.select().where(OidcProvider.id == provider_id).first()


async def save_provider(
    settings: Settings, values: dict[str, Any], by: int, client: str, provider_id: int | None
) -> int:
    row: dict[Any, Any] = {
        OidcProvider.name: values["name"],
        OidcProvider.issuer: values["issuer"],
        OidcProvider.client_id: values["client_id"],
        OidcProvider.allowed_domains: " ".join(values["domains"]),
        OidcProvider.team_claim: values["team_claim"],
        OidcProvider.site_claim: values["site_claim"],
        OidcProvider.jit: bool(values["jit"]),
    }
    if values.get("client_secret"):
        row[OidcProvider.client_secret] = encrypt_secret(settings, values["client_secret"])
    async with write_transaction():
        if provider_id is None:
            inserted = await OidcProvider.insert(
                OidcProvider(**{column._meta.name: value for column, value in row.items()})
            ).returning(OidcProvider.id)
            provider_id = int(inserted[0]["id"])
            action = "sso_provider_added"
        else:
            # A new issuer is another provider: its cached documents go.
            row.update(
                {OidcProvider.metadata: "", OidcProvider.jwks: "", OidcProvider.fetched_at: None}
            )
            await OidcProvider.update(row).where(OidcProvider.id == provider_id)
            action = "sso_provider_changed"
        await audit.record(
            action,
            actor=by,
            client=client,
            provider=values["name"],
            issuer=values["issuer"],
            jit=bool(values["jit"]),
            domains=" ".join(values["domains"]),
            secret_changed=bool(values.get("client_secret")),
        )
    return provider_id


async def remove_provider(provider_id: int, by: int, client: str) -> bool:
    async with write_transaction():
        row = (
            await OidcProvider.select(OidcProvider.name)
            .where(OidcProvider.id == provider_id)
            .first()
        )
        if row is None:
            return False
        await OidcProvider.delete().where(OidcProvider.id == provider_id)
        await audit.record("sso_provider_removed", actor=by, client=client, provider=row["name"])
    return True


async def sso_required() -> bool:
    row = await SsoPolicy.select(SsoPolicy.required).first()
    return bool(row and row["required"])


async def set_sso_required(required: bool, by: int, client: str) -> None:
    async with write_transaction():
        if await SsoPolicy.exists():
            await SsoPolicy.update(
                {SsoPolicy.required: required, SsoPolicy.updated_at: now()}
            ).where(SsoPolicy.id > 0)
        else:
            await SsoPolicy.insert(SsoPolicy(required=required))
        await audit.record("sso_policy_changed", actor=by, client=client, required=required)


async def sign_in_choices() -> list[dict[str, Any]]:
    """The buttons of the sign-in page: each enabled provider, and whether it works."""
    return [
        {
            "id": row["id"],
            "name": row["name"],
            "broken": str(REFUSALS["unavailable"]) % {"provider": row["name"]}
            if row["problem"]
            else "",
        }
        for row in await providers(enabled_only=True)
    ]


# --- Talking to the provider ------------------------------------------------------------------


async def _get_json(url: str) -> tuple[int, Any]:
    timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT_S)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(url, allow_redirects=False, headers={"Accept": "application/json"}) as answer,
    ):
        body = await answer.content.read(MAX_DOCUMENT_BYTES + 1)
        if len(body) > MAX_DOCUMENT_BYTES:
            return answer.status, None
        try:
            return answer.status, json.loads(body)
        except ValueError:
            return answer.status, None


async def _post_form(url: str, form: dict[str, str], auth: str | None) -> tuple[int, Any]:
    timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT_S)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(
            url,
            data=form,
            allow_redirects=False,
            headers={"Accept": "application/json", **({"Authorization": auth} if auth else {})},
        ) as answer,
    ):
        body = await answer.content.read(MAX_DOCUMENT_BYTES + 1)
        try:
            return answer.status, json.loads(body[:MAX_DOCUMENT_BYTES])
        except ValueError:
            return answer.status, None


def _aware(value: datetime | str | None) -> datetime | None:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


@dataclass
class Documents:
    metadata: dict[str, Any]
    jwks: dict[str, Any]
    fetched_at: datetime | None = None
    fresh: bool = field(default=False)


async def _fetch_documents(issuer: str) -> Documents:
    try:
        status, metadata = await _get_json(f"{issuer}/.well-known/openid-configuration")
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError):
        raise SsoError("unreachable", issuer=issuer) from None
    if status != 200 or not isinstance(metadata, dict):
        raise SsoError("not_oidc", issuer=issuer)
    if str(metadata.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
        raise SsoError(
            "issuer_mismatch", issuer=issuer, found=str(metadata.get("issuer", ""))[:200]
        )
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(metadata.get(key), str):
            raise SsoError("not_oidc", issuer=issuer)
    jwks = await _fetch_keys(issuer, metadata)
    return Documents(metadata, jwks, now(), fresh=True)


async def _fetch_keys(issuer: str, metadata: dict[str, Any]) -> dict[str, Any]:
    try:
        status, jwks = await _get_json(metadata["jwks_uri"])
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError):
        raise SsoError("unreachable", issuer=issuer) from None
    if status != 200 or not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise SsoError("not_oidc", issuer=issuer)
    return jwks


async def documents(row: dict[str, Any], refresh: bool = False) -> Documents:
    """The provider's discovery document and keys: cached in its row for a day."""
    fetched_at = _aware(row.get("fetched_at"))
    cached = bool(row.get("metadata") and row.get("jwks")) and fetched_at is not None
    if not refresh and cached and now() - fetched_at < METADATA_MAX_AGE:  # type: ignore[operator]
        return Documents(json.loads(row["metadata"]), json.loads(row["jwks"]), fetched_at)
    found = await _fetch_documents(row["issuer"])
    await OidcProvider.update(
        {
            OidcProvider.metadata: json.dumps(found.metadata),
            OidcProvider.jwks: json.dumps(found.jwks),
            OidcProvider.fetched_at: found.fetched_at,
        }
    ).where(OidcProvider.id == row["id"])
    return found


async def record_problem(provider_id: int, error: SsoError | None) -> None:
    """Keep (or clear) what is wrong with a provider's set-up."""
    if error is None:
        await OidcProvider.update(
            {
                OidcProvider.problem: "",
                OidcProvider.problem_detail: "",
                OidcProvider.problem_at: None,
            }
        ).where((OidcProvider.id == provider_id) & (OidcProvider.problem != ""))
        return
    await OidcProvider.update(
        {
            OidcProvider.problem: error.code,
            OidcProvider.problem_detail: json.dumps(error.params, default=str),
            OidcProvider.problem_at: now(),
        }
    ).where(OidcProvider.id == provider_id)


async def _exchange(
    settings: Settings, row: dict[str, Any], metadata: dict[str, Any], form: dict[str, str]
) -> tuple[int, Any]:
    secret = decrypt_secret(settings, row["client_secret"])
    if secret is None:
        raise SsoError("secret_unreadable")
    methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    auth = None
    form = {**form}
    if "client_secret_basic" in methods:
        # RFC 6749 §2.3.1: both form-encoded before the Basic header.
        pair = f"{quote_plus(row['client_id'])}:{quote_plus(secret)}"
        auth = "Basic " + base64.b64encode(pair.encode()).decode()
    else:
        form.update(client_id=row["client_id"], client_secret=secret)
    try:
        return await _post_form(metadata["token_endpoint"], form, auth)
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError):
        raise SsoError("unreachable", issuer=row["issuer"]) from None


def _refused_exchange(status: int, answer: Any) -> SsoError:
    error = answer.get("error") if isinstance(answer, dict) else None
    if status == 401 or error in {"invalid_client", "unauthorized_client"}:
        return SsoError("secret")
    return SsoError("refused", error=str(error or status)[:80])


async def check_connection(
    settings: Settings, provider_id: int, by: int, client: str
) -> SsoError | None:
    """The admin's check: discovery, keys, and the client secret (a token request with a code
    that does not exist: a provider says ``invalid_client`` when the secret is wrong,
    ``invalid_grant`` when only the code is)."""
    row = await provider(provider_id)
    if row is None:
        return None
    problem: SsoError | None = None
    try:
        found = await documents(row, refresh=True)
        status, answer = await _exchange(
            settings,
            row,
            found.metadata,
            {
                "grant_type": "authorization_code",
                "code": "relay-connection-check-" + secrets.token_urlsafe(8),
                "redirect_uri": settings.public_url + CALLBACK_PATH,
                "code_verifier": secrets.token_urlsafe(48),
            },
        )
        if status == 200:
            problem = SsoError("refused", error="a made-up code was accepted")
        else:
            refusal = _refused_exchange(status, answer)
            if refusal.code == "secret":
                problem = refusal
    except SsoError as exc:
        problem = exc
    await record_problem(provider_id, problem)
    await OidcProvider.update({OidcProvider.checked_at: now()}).where(
        OidcProvider.id == provider_id
    )
    await audit.record(
        "sso_provider_checked",
        actor=by,
        client=client,
        provider=row["name"],
        problem=problem.code if problem else "",
    )
    return problem


# --- Signing in -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Started:
    url: str
    state: str


async def start(settings: Settings, provider_id: int, next_path: str) -> Started:
    row = await provider(provider_id)
    if row is None or not row["enabled"]:
        raise SsoError("state")
    try:
        found = await documents(row)
    except SsoError as exc:
        await record_problem(provider_id, exc)
        raise
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    moment = now()
    await OidcLogin.delete().where(OidcLogin.expires_at < moment - LOGIN_LIFETIME)
    await OidcLogin.insert(
        OidcLogin(
            state_hash=hash_token(state),
            provider=provider_id,
            nonce=nonce,
            verifier=verifier,
            next=next_path[:300],
            expires_at=moment + LOGIN_LIFETIME,
        )
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": row["client_id"],
            "redirect_uri": settings.public_url + CALLBACK_PATH,
            "scope": SCOPES,
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    endpoint = found.metadata["authorization_endpoint"]
    return Started(f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", state)


async def take_login(state: str, cookie_state: str | None) -> dict[str, Any]:
    """The sign-in a ``state`` stands for, used up: a second use, a stale one, or one started
    in another browser (its cookie does not hold the state) finds nothing."""
    if not state or not cookie_state or not hmac.compare_digest(state, cookie_state):
        raise SsoError("state")
    moment = now()
    rows = await (
        OidcLogin.update({OidcLogin.used_at: moment})
        .where(
            (OidcLogin.state_hash == hash_token(state))
            & OidcLogin.used_at.is_null()
            & (OidcLogin.expires_at > moment)
        )
        .returning(
            OidcLogin.id, OidcLogin.provider, OidcLogin.nonce, OidcLogin.verifier, OidcLogin.next
        )
    )
    if not rows:
        raise SsoError("state")
    return rows[0]


def verify_id_token(
    id_token: str, jwks: dict[str, Any], issuer: str, client_id: str, nonce: str, at: datetime
) -> dict[str, Any]:
    """The ID token's claims, once checked: its signature with the provider's keys (never
    ``none`` nor a shared secret) by joserfc, then its issuer, audience, times and nonce by
    authlib's OpenID Connect rules (``CodeIDToken``)."""
    timestamp = int(at.timestamp())
    try:
        token = jose_jwt.decode(
            id_token,
            KeySet.import_key_set(jwks),  # type: ignore[arg-type]
            algorithms=ALGORITHMS,
        )
    except (JoseError, ValueError, KeyError, TypeError):
        raise SsoError("signature") from None
    claims = CodeIDToken(
        token.claims,
        token.header,
        options={
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": client_id},
        },
        params={"nonce": nonce, "client_id": client_id},
    )
    try:
        claims.validate(now=timestamp, leeway=LEEWAY_S)
    except ExpiredTokenError:
        exp = claims.get("exp")
        late = timestamp - exp if isinstance(exp, int | float) else 0
        raise SsoError("clock", minutes=max(1, round(late / 60))) from None
    except ClaimError as exc:
        if exc.claim == "aud":
            audience = claims.get("aud")
            shown = ", ".join(map(str, audience)) if isinstance(audience, list) else str(audience)
            raise SsoError("audience", audience=shown[:120]) from None
        if exc.claim == "iss":
            found = str(claims.get("iss"))[:200]
            raise SsoError("issuer_mismatch", issuer=issuer, found=found) from None
        if exc.claim == "nonce":
            raise SsoError("state") from None
        if exc.claim in {"iat", "nbf"}:
            moment = claims.get(exc.claim)
            ahead = moment - timestamp if isinstance(moment, int | float) else 0
            raise SsoError("clock", minutes=max(1, round(ahead / 60))) from None
        raise SsoError("signature") from None
    except (JoseError, ValueError, TypeError):
        raise SsoError("signature") from None
    return dict(claims)


def _unknown_key(id_token: str, jwks: dict[str, Any]) -> bool:
    """Whether the token names a key (``kid``) the cached set lacks: the provider rotated."""
    try:
        header = json.loads(base64.urlsafe_b64decode(id_token.split(".")[0] + "=="))
    except (ValueError, IndexError):
        return False
    kid = header.get("kid") if isinstance(header, dict) else None
    return bool(kid) and kid not in {
        k.get("kid") for k in jwks.get("keys", []) if isinstance(k, dict)
    }


@dataclass(frozen=True)
class SignedIn:
    member_id: int
    next: str
    has_passkey: bool
    provider: str


def _email_of(claims: dict[str, Any]) -> str:
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        # Microsoft Entra ID sends no email for some accounts: its preferred_username is one.
        email = claims.get("preferred_username")
    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        return ""
    if claims.get("email_verified") is False:
        return ""
    return email.strip().lower()


def _claim_text(claims: dict[str, Any], name: str) -> str:
    if not name:
        return ""
    value: Any = claims
    for part in name.split("."):  # a nested claim: "org.team"
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, list):
        value = value[0] if value else None
    return value.strip()[:120] if isinstance(value, str) else ""


async def _place_of(claims: dict[str, Any], row: dict[str, Any]) -> dict[Any, Any]:
    """The member's team and site from the configured claims, when they name existing ones."""
    changes: dict[Any, Any] = {}
    for claim, table, column in (
        (row["team_claim"], Team, Member.team),
        (row["site_claim"], Site, Member.site),
    ):
        text = _claim_text(claims, claim)
        if not text:
            continue
        for found in await table.select(table.id, table.name):
            if found["name"].casefold() == text.casefold():
                changes[column] = found["id"]
                break
    return changes


async def finish(
    settings: Settings,
    *,
    state: str,
    cookie_state: str | None,
    code: str,
    error: str,
    iss: str,
    client: str,
) -> SignedIn:
    login = await take_login(state, cookie_state)
    row = await provider(int(login["provider"]))
    if row is None or not row["enabled"]:
        raise SsoError("state")
    name = row["name"]
    if error:
        raise SsoError("cancelled", provider=name)
    if iss and iss.rstrip("/") != row["issuer"].rstrip("/"):  # RFC 9207: another provider's answer
        raise SsoError("issuer_mismatch", issuer=row["issuer"], found=iss[:200])
    if not code:
        raise SsoError("state")
    try:
        found = await documents(row)
        status, answer = await _exchange(
            settings,
            row,
            found.metadata,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": settings.public_url + CALLBACK_PATH,
                "code_verifier": login["verifier"],
            },
        )
        if status != 200 or not isinstance(answer, dict):
            raise _refused_exchange(status, answer)
        id_token = answer.get("id_token")
        if not isinstance(id_token, str):
            raise SsoError("refused", error="no id_token")
        jwks = found.jwks
        if _unknown_key(id_token, jwks) and not found.fresh:
            fetched = _aware(row.get("fetched_at"))
            if fetched is None or now() - fetched > KEYS_REFRESH_MIN:
                jwks = (await documents(row, refresh=True)).jwks
        claims = verify_id_token(
            id_token, jwks, row["issuer"], row["client_id"], login["nonce"], now()
        )
    except SsoError as exc:
        if exc.is_problem:
            await record_problem(row["id"], exc)
        exc.params.setdefault("provider", name)  # for the sentence the person reads
        raise
    await record_problem(row["id"], None)
    return await _member_for(row, claims, login["next"], client)


async def _member_for(
    row: dict[str, Any], claims: dict[str, Any], next_path: str, client: str
) -> SignedIn:
    name = row["name"]
    subject = str(claims.get("sub", ""))[:255]
    email = _email_of(claims)
    if not subject or not email:
        raise SsoError("no_email", provider=name)
    domain = email.rsplit("@", 1)[1]
    allowed = row["allowed_domains"].split()
    if allowed and domain not in allowed:
        raise SsoError("domain", domain=domain, provider=name)
    key = f"{row['id']}:{subject}"
    moment = now()
    async with write_transaction():
        identity = (
            await OidcIdentity.select(OidcIdentity.id, OidcIdentity.member)
            .where(OidcIdentity.subject_key == key)
            .first()
        )
        place = await _place_of(claims, row)
        if identity is not None:
            member = (
                await Member.select(Member.id, Member.active)
                .where(Member.id == identity["member"])
                .first()
            )
        else:
            member = (
                await Member.select(Member.id, Member.active).where(Member.email == email).first()
            )
            if member is not None:
                if await OidcIdentity.exists().where(
                    (OidcIdentity.member == member["id"]) & (OidcIdentity.provider == row["id"])
                ):
                    raise SsoError("taken", provider=name)
            elif row["jit"] and allowed:
                display = claims.get("name") if isinstance(claims.get("name"), str) else ""
                display = (display or email.split("@")[0]).strip()[:120]
                if name_problem(display):
                    display = email.split("@")[0][:120]
                inserted = await Member.insert(
                    Member(
                        email=email,
                        name=display,
                        role=Role.employee.value,
                        search_text=member_search_text(display, email),
                        **{column._meta.name: value for column, value in place.items()},
                    )
                ).returning(Member.id)
                member = {"id": int(inserted[0]["id"]), "active": True}
                await audit.record(
                    "sso_created",
                    actor=member["id"],
                    subject=member["id"],
                    client=client,
                    provider=name,
                )
            else:
                raise SsoError("no_account", email=email)
            if member["active"]:
                await OidcIdentity.insert(
                    OidcIdentity(
                        provider=row["id"], member=member["id"], subject_key=key, email=email
                    )
                )
                await audit.record(
                    "sso_linked",
                    actor=member["id"],
                    subject=member["id"],
                    client=client,
                    provider=name,
                )
        if member is None or not member["active"]:
            raise SsoError("deactivated")
        await OidcIdentity.update({OidcIdentity.last_used_at: moment}).where(
            OidcIdentity.subject_key == key
        )
        if place:
            await Member.update(place).where(Member.id == member["id"])
        has_passkey = await Passkey.exists().where(Passkey.member == member["id"])
    return SignedIn(int(member["id"]), next_path or "/", has_passkey, name)
