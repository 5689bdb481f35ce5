"""Single sign-on through a real OpenID provider (oidc-provider, run by node), over HTTP: the
admin configures it, people sign in with it, and what is misconfigured or hostile is told in
a sentence, never a 500."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from app.accounts.tables import AuditEvent, Member, Passkey
from app.core.clock import now
from app.core.settings import Settings
from app.integrations import oidc
from app.integrations.tables import OidcIdentity, OidcProvider
from app.mail.tables import MailOutbox
from app.main import create_app
from tests.factories import make_member, make_site, make_team
from tests.helpers import HTML, csrf, free_port, mail_settings, sign_in
from tests.identity_provider import IdentityProvider, needs_node

pytestmark = needs_node

BASE = "http://localhost:8000"
CALLBACK = BASE + oidc.CALLBACK_PATH

Client = AsyncTestClient  # type: ignore[type-arg]


async def add_provider(
    settings: Settings, idp: IdentityProvider, secret: str | None = None, **fields: Any
) -> int:
    client_id, client_secret = idp.register(CALLBACK)
    admin = await make_member(role="admin")
    values = {
        "name": "Acme",
        "issuer": idp.issuer,
        "client_id": client_id,
        "client_secret": secret or client_secret,
        "domains": ["example.com"],
        "team_claim": "",
        "site_claim": "",
        "jit": False,
        **fields,
    }
    return await oidc.save_provider(settings, values, admin.id, "pytest", None)


async def through_provider(
    client: Client, idp: IdentityProvider, provider_id: int, account: str
) -> tuple[str, Any]:
    """Press "Sign in with Acme", sign in at the provider, come back: (the callback URL, the
    answer to it)."""
    started = await client.get(f"/signin/sso/{provider_id}", follow_redirects=False)
    assert started.status_code == 303, started.text
    back = await asyncio.to_thread(idp.sign_in, started.headers["location"], account, CALLBACK)
    answer = await client.get(back.removeprefix(BASE), headers=HTML, follow_redirects=False)
    return back, answer


async def actions() -> list[str]:
    rows = await AuditEvent.select(AuditEvent.action).order_by(AuditEvent.id)
    return [r["action"] for r in rows]


async def test_an_admin_adds_a_provider_and_an_invited_member_signs_in_and_is_linked(
    client: Client, settings: Settings, identity_provider: IdentityProvider
) -> None:
    idp = identity_provider
    client_id, client_secret = idp.register(CALLBACK)
    await sign_in(client, "admin")
    page = await client.get("/admin/sso", headers=HTML)
    assert page.status_code == 200
    assert CALLBACK in page.text
    added = await client.post(
        "/admin/sso/providers",
        data={
            "name": "Acme",
            "issuer": idp.issuer + "/",
            "client_id": client_id,
            "client_secret": client_secret,
            "allowed_domains": "Example.com",
        },
        headers=await csrf(client, "/admin/sso"),
        follow_redirects=True,
    )
    assert added.status_code == 200, added.text
    assert "Working: checked" in added.text
    assert client_secret not in added.text
    stored = await OidcProvider.select().first()
    assert stored["issuer"] == idp.issuer and stored["allowed_domains"] == "example.com"
    assert client_secret not in stored["client_secret"]  # encrypted at rest
    assert oidc.decrypt_secret(settings, stored["client_secret"]) == client_secret

    invited = await make_member(name="Léa Martin", email="lea.martin@example.com")
    client.cookies.clear()
    signin = await client.get("/signin", headers=HTML)
    assert "Sign in with Acme" in signin.text

    _back, answer = await through_provider(client, idp, stored["id"], "Lea.Martin@example.com")
    assert answer.status_code == 303, answer.text
    # No passkey yet: Relay offers one.
    assert answer.headers["location"] == "/signin/sso/passkey?next=%2F"
    offer = await client.get("/signin/sso/passkey?next=/", headers=HTML)
    assert offer.status_code == 200 and "Add a passkey" in offer.text
    me = await client.get("/me", headers=HTML)
    assert me.status_code == 200 and "Léa Martin" in me.text
    identity = await OidcIdentity.select().first()
    assert identity["member"] == invited.id
    assert identity["subject_key"] == f"{stored['id']}:Lea.Martin@example.com"
    assert (await actions())[-2:] == ["sso_linked", "signin"]

    # The next sign-in finds the link; with a passkey now, it goes straight in.
    await Passkey.insert(
        Passkey(member=invited.id, credential_id="x", public_key=b"k", name="Phone")
    )
    client.cookies.clear()
    _back, again = await through_provider(client, idp, stored["id"], "Lea.Martin@example.com")
    assert again.status_code == 303 and again.headers["location"] == "/"
    assert await OidcIdentity.count() == 1
    assert (await actions()).count("sso_linked") == 1


async def test_without_just_in_time_creation_a_stranger_is_refused(
    client: Client, settings: Settings, identity_provider: IdentityProvider
) -> None:
    provider_id = await add_provider(settings, identity_provider, jit=False)
    _back, answer = await through_provider(
        client, identity_provider, provider_id, "newcomer@example.com"
    )
    assert answer.status_code == 403
    assert "There is no Relay account for newcomer@example.com yet" in answer.text
    assert not await Member.exists().where(Member.email == "newcomer@example.com")
    failed = await AuditEvent.select().where(AuditEvent.action == "signin_failed").first()
    assert json.loads(failed["detail"])["reason"] == "no_account"


async def test_just_in_time_creation_makes_an_employee_in_the_claimed_team_and_site(
    client: Client, settings: Settings, identity_provider: IdentityProvider
) -> None:
    team = await make_team("Sales")
    site = await make_site("Lyon")
    provider_id = await add_provider(
        settings, identity_provider, jit=True, team_claim="department", site_claim="office"
    )
    identity_provider.set_account("hugo.bernard@example.com", department="sales", office="Lyon")
    _back, answer = await through_provider(
        client, identity_provider, provider_id, "hugo.bernard@example.com"
    )
    assert answer.status_code == 303, answer.text
    member = await Member.select().where(Member.email == "hugo.bernard@example.com").first()
    assert member["role"] == "employee" and member["name"] == "Hugo Bernard"
    assert member["team"] == team and member["site"] == site
    assert "sso_created" in await actions()


async def test_a_domain_not_allowed_is_refused_even_for_a_member(
    client: Client, settings: Settings, identity_provider: IdentityProvider
) -> None:
    await make_member(email="zoe@partner.org")
    provider_id = await add_provider(settings, identity_provider, jit=True)
    _back, answer = await through_provider(
        client, identity_provider, provider_id, "zoe@partner.org"
    )
    assert answer.status_code == 403
    assert "Addresses of partner.org can&#39;t sign in to Relay through Acme" in answer.text
    assert await OidcIdentity.count() == 0


async def test_a_deactivated_member_is_refused(
    client: Client, settings: Settings, identity_provider: IdentityProvider
) -> None:
    await make_member(email="gone@example.com", active=False)
    provider_id = await add_provider(settings, identity_provider)
    _back, answer = await through_provider(
        client, identity_provider, provider_id, "gone@example.com"
    )
    assert answer.status_code == 403
    assert "This account is deactivated" in answer.text
    assert await OidcIdentity.count() == 0


async def test_a_replayed_state_is_refused(
    client: Client, settings: Settings, identity_provider: IdentityProvider
) -> None:
    await make_member(email="sam@example.com")
    provider_id = await add_provider(settings, identity_provider)
    started = await client.get(f"/signin/sso/{provider_id}", follow_redirects=False)
    state_cookie = client.cookies.get("relay_sso")
    back = await asyncio.to_thread(
        identity_provider.sign_in, started.headers["location"], "sam@example.com", CALLBACK
    )
    first = await client.get(back.removeprefix(BASE), headers=HTML, follow_redirects=False)
    assert first.status_code == 303
    # The same answer again, with the same browser's state cookie: used up.
    client.cookies.clear()
    client.cookies.set("relay_sso", state_cookie)
    replayed = await client.get(back.removeprefix(BASE), headers=HTML, follow_redirects=False)
    assert replayed.status_code == 400
    assert "This sign-in attempt has expired or was already used" in replayed.text
    # And a state started in another browser (no cookie) is refused too.
    started = await client.get(f"/signin/sso/{provider_id}", follow_redirects=False)
    back = await asyncio.to_thread(
        identity_provider.sign_in, started.headers["location"], "sam@example.com", CALLBACK
    )
    client.cookies.clear()
    elsewhere = await client.get(back.removeprefix(BASE), headers=HTML, follow_redirects=False)
    assert elsewhere.status_code == 400


async def test_an_expired_token_from_a_provider_whose_clock_is_off_is_refused_and_explained(
    client: Client, settings: Settings, identity_provider: IdentityProvider
) -> None:
    await make_member(email="max@example.com")
    provider_id = await add_provider(settings, identity_provider)
    identity_provider.set_clock(-3 * 3600)  # its ID tokens expire an hour after it says
    try:
        _back, answer = await through_provider(
            client, identity_provider, provider_id, "max@example.com"
        )
    finally:
        identity_provider.set_clock(0)
    assert answer.status_code == 503
    assert (
        '<p class="field-error" role="alert" data-sso-error>Sign-in with Acme is not working at the moment'
        in answer.text
    )
    assert await OidcIdentity.count() == 0
    await sign_in(client, "admin")
    page = await client.get(f"/admin/sso/providers/{provider_id}", headers=HTML)
    assert "clock and Relay&#39;s differ by about 120 minutes" in page.text
    listed = await client.get("/admin/sso", headers=HTML)
    assert "differ by about 120 minutes" in listed.text


async def test_a_token_issued_to_another_application_is_refused(
    settings: Settings, database: str, identity_provider: IdentityProvider
) -> None:
    provider_id = await add_provider(settings, identity_provider)
    row = await oidc.provider(provider_id)
    assert row is not None
    documents = await oidc.documents(row)
    token, other_client, nonce = await asyncio.to_thread(
        identity_provider.id_token_for, "eve@example.com", "http://localhost:9999/cb"
    )
    with pytest.raises(oidc.SsoError) as refused:
        oidc.verify_id_token(token, documents.jwks, row["issuer"], row["client_id"], nonce, now())
    assert refused.value.code == "audience"
    assert other_client in refused.value.sentence()
    # The same token passes for the application it was issued to: only the audience differs.
    claims = oidc.verify_id_token(token, documents.jwks, row["issuer"], other_client, nonce, now())
    assert claims["email"] == "eve@example.com"


async def test_a_wrong_client_secret_is_explained_to_the_admin_and_on_the_sign_in_page(
    client: Client, settings: Settings, identity_provider: IdentityProvider
) -> None:
    await make_member(email="ana@example.com")
    provider_id = await add_provider(settings, identity_provider, secret="not-the-secret")
    _back, answer = await through_provider(
        client, identity_provider, provider_id, "ana@example.com"
    )
    assert answer.status_code == 503
    assert "Sign-in with Acme is not working at the moment" in answer.text
    await sign_in(client, "admin")
    checked = await client.post(
        f"/admin/sso/providers/{provider_id}/check",
        headers=await csrf(client, f"/admin/sso/providers/{provider_id}"),
    )
    assert checked.status_code == 200
    assert "refused Relay&#39;s client ID or client secret" in checked.text
    assert "not-the-secret" not in checked.text


async def test_an_unreachable_issuer_is_explained_never_a_server_error(
    client: Client, settings: Settings
) -> None:
    await sign_in(client, "admin")
    issuer = f"http://127.0.0.1:{free_port()}"
    added = await client.post(
        "/admin/sso/providers",
        data={"name": "Acme", "issuer": issuer, "client_id": "relay", "client_secret": "s"},
        headers=await csrf(client, "/admin/sso"),
        follow_redirects=True,
    )
    assert added.status_code == 200
    assert f"Relay could not reach {issuer}" in added.text
    client.cookies.clear()
    signin = await client.get("/signin", headers=HTML)
    assert "Sign-in with Acme is not working at the moment" in signin.text
    provider_id = (await OidcProvider.select(OidcProvider.id).first())["id"]
    started = await client.get(f"/signin/sso/{provider_id}", headers=HTML)
    assert started.status_code == 503
    assert "Sign-in with Acme is not working at the moment" in started.text


async def test_the_admin_form_refuses_bad_values_in_sentences(client: Client) -> None:
    await sign_in(client, "admin")
    refused = await client.post(
        "/admin/sso/providers",
        data={"name": "", "issuer": "http://idp.example.com", "allowed_domains": "not a domain!"},
        headers=await csrf(client, "/admin/sso"),
    )
    assert refused.status_code == 422
    assert "The issuer&#39;s address must start with https://." in refused.text
    assert "Enter the client ID the provider gave Relay." in refused.text
    assert await OidcProvider.count() == 0


async def test_requiring_single_sign_on_needs_a_provider_and_is_audited(
    client: Client, settings: Settings, identity_provider: IdentityProvider
) -> None:
    await sign_in(client, "admin")
    refused = await client.post(
        "/admin/sso/policy", data={"required": "on"}, headers=await csrf(client, "/admin/sso")
    )
    assert refused.status_code == 422
    assert "Add an identity provider before requiring single sign-on." in refused.text
    await add_provider(settings, identity_provider)
    done = await client.post(
        "/admin/sso/policy",
        data={"required": "on"},
        headers=await csrf(client, "/admin/sso"),
        follow_redirects=True,
    )
    assert done.status_code == 200
    assert await oidc.sso_required()
    assert "sso_policy_changed" in await actions()


async def test_when_single_sign_on_is_required_an_invitation_emails_no_enrolment_link(
    env: dict[str, str], identity_provider: IdentityProvider
) -> None:
    settings = mail_settings(env, free_port())
    async with AsyncTestClient(create_app(settings), base_url=BASE) as client:
        admin = await sign_in(client, "admin")
        await add_provider(settings, identity_provider)
        await oidc.set_sso_required(True, admin.id, "pytest")
        invited = await client.post(
            "/admin/people",
            data={"email": "tom@example.com", "name": "Tom", "role": "employee", "language": "en"},
            headers=await csrf(client, "/admin/people"),
        )
        assert invited.status_code == 200
    assert await Member.exists().where(Member.email == "tom@example.com")
    assert await MailOutbox.count() == 0
    # Tom signs in with his company account the first time.
    async with AsyncTestClient(create_app(settings), base_url=BASE) as client:
        provider_id = (await OidcProvider.select(OidcProvider.id).first())["id"]
        _back, answer = await through_provider(
            client, identity_provider, provider_id, "tom@example.com"
        )
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/signin/sso/passkey")


async def test_the_requirement_switch_answers_htmx_with_its_card(
    client: Client, settings: Settings, identity_provider: IdentityProvider
) -> None:
    await sign_in(client, "admin")
    await add_provider(settings, identity_provider)
    flipped = await client.post(
        "/admin/sso/policy",
        data={"required": "on"},
        headers={**(await csrf(client, "/admin/sso")), "hx-request": "true"},
    )
    assert flipped.status_code == 200
    assert flipped.text.lstrip().startswith('<section class="card" id="sso-policy"')
    assert "Saved." in flipped.text and "<html" not in flipped.text
    assert await oidc.sso_required()
