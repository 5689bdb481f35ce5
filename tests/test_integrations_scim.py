"""SCIM 2.0 provisioning over HTTP: an identity provider creates, finds, changes, deactivates
and deletes members and teams with its token; every refusal is a SCIM error document."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from app.accounts.sessions import create_session
from app.accounts.tables import AuditEvent, Invitation, Member, Passkey, Session
from app.integrations import tokens
from app.integrations.tables import IntegrationToken
from app.org.tables import Team
from tests.factories import make_member, make_team
from tests.helpers import HTML, JSON, csrf, sign_in

Client = AsyncTestClient  # type: ignore[type-arg]
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


async def scim_token(name: str = "Entra ID") -> str:
    admin = await make_member(role="admin")
    _id, token = await tokens.create(tokens.SCIM, name, by=admin.id)
    return token


@pytest.fixture
async def idp(client: Client) -> dict[str, str]:
    """Headers an identity provider sends: its bearer token, SCIM's media type."""
    return {
        "authorization": f"Bearer {await scim_token()}",
        "content-type": "application/scim+json",
        "accept": "application/scim+json",
    }


def alice(**more: Any) -> dict[str, Any]:
    return {
        "schemas": [USER],
        "userName": "alice.martin@example.com",
        "externalId": "entra-0001",
        "name": {"givenName": "Alice", "familyName": "Martin"},
        "displayName": "Alice Martin",
        "emails": [{"value": "alice.martin@example.com", "type": "work", "primary": True}],
        "preferredLanguage": "fr-FR",
        "active": True,
        **more,
    }


def patch_op(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}


def assert_error(response: Any, status: int, scim_type: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body.get("detail")
    if scim_type:
        assert body["scimType"] == scim_type


async def create_alice(client: Client, idp: dict[str, str], **more: Any) -> dict[str, Any]:
    response = await client.post("/scim/v2/Users", json=alice(**more), headers=idp)
    assert response.status_code == 201, response.text
    return dict(response.json())


# --- Discovery -------------------------------------------------------------------------------


async def test_discovery_says_what_relay_supports(client: Client, idp: dict[str, str]) -> None:
    config = (await client.get("/scim/v2/ServiceProviderConfig", headers=idp)).json()
    assert config["patch"]["supported"] is True
    assert config["filter"] == {"supported": True, "maxResults": 200}
    assert config["bulk"]["supported"] is False
    assert config["etag"]["supported"] is True
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    types = (await client.get("/scim/v2/ResourceTypes", headers=idp)).json()
    assert {t["endpoint"] for t in types["Resources"]} == {"/Users", "/Groups"}
    user_type = await client.get("/scim/v2/ResourceTypes/User", headers=idp)
    assert user_type.json()["schema"] == USER
    schemas = (await client.get("/scim/v2/Schemas", headers=idp)).json()
    assert {s["id"] for s in schemas["Resources"]} == {USER, GROUP}
    user_schema = (await client.get(f"/scim/v2/Schemas/{USER}", headers=idp)).json()
    names = {a["name"] for a in user_schema["attributes"]}
    assert {"userName", "emails", "active", "displayName", "groups"} <= names
    assert "password" not in names and "x509Certificates" not in names
    assert_error(await client.get("/scim/v2/Schemas/urn:nothing", headers=idp), 404)
    assert_error(await client.get("/scim/v2/ResourceTypes/Printer", headers=idp), 404)


# --- Who may call ----------------------------------------------------------------------------


async def test_only_a_live_scim_token_opens_scim(client: Client, idp: dict[str, str]) -> None:
    assert_error(await client.get("/scim/v2/Users"), 401)
    wrong = {"authorization": "Bearer relay_scim_not-a-token"}
    refused = await client.get("/scim/v2/Users", headers=wrong)
    assert_error(refused, 401)
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert_error(await client.get("/scim/v2/Users", headers={"authorization": "Basic eDp5"}), 401)
    # A signed-in admin's session is no SCIM credential, not even with its CSRF token.
    await sign_in(client, "admin")
    headers = await csrf(client, "/admin/people", accept=JSON)
    assert_error(await client.get("/scim/v2/Users", headers=HTML), 401)
    assert_error(await client.post("/scim/v2/Users", json=alice(), headers=headers), 401)
    client.cookies.clear()
    # A revoked token is refused at once.
    row = await IntegrationToken.select(IntegrationToken.id).first()
    assert row is not None
    await IntegrationToken.update({IntegrationToken.revoked_at: IntegrationToken.created_at}).where(
        IntegrationToken.id == row["id"]
    )
    assert_error(await client.get("/scim/v2/Users", headers=idp), 401)


async def test_a_scim_token_opens_nothing_but_scim(client: Client, idp: dict[str, str]) -> None:
    for path in ["/admin/people", "/admin/provisioning", "/me", "/"]:
        response = await client.get(path, headers={**idp, "accept": "application/json"})
        assert response.status_code == 401, path


async def test_a_token_of_another_kind_does_not_open_scim(client: Client) -> None:
    admin = await make_member(role="admin")
    _id, token = await tokens.create(tokens.SCIM, "Okta", by=admin.id)
    await IntegrationToken.update({IntegrationToken.kind: "api"}).where(
        IntegrationToken.name == "Okta"
    )
    assert_error(
        await client.get("/scim/v2/Users", headers={"authorization": f"Bearer {token}"}), 401
    )


async def test_refused_tokens_are_rate_limited(client: Client) -> None:
    wrong = {"authorization": "Bearer relay_scim_guess"}
    statuses = [(await client.get("/scim/v2/Users", headers=wrong)).status_code for _ in range(31)]
    assert statuses[:30] == [401] * 30
    assert_error(await client.get("/scim/v2/Users", headers=wrong), 429)


async def test_the_token_is_stored_hashed_and_its_use_recorded(
    client: Client, idp: dict[str, str]
) -> None:
    token = idp["authorization"].removeprefix("Bearer ")
    row = await IntegrationToken.select().first()
    assert row is not None
    assert token not in str(row) and row["last_used_at"] is None
    assert row["kind"] == "scim" and row["scopes"] == "scim:provision"
    await client.get("/scim/v2/Users", headers=idp)
    used = await IntegrationToken.select(IntegrationToken.last_used_at).first()
    assert used is not None and used["last_used_at"] is not None
    events = await AuditEvent.select(AuditEvent.action, AuditEvent.detail)
    assert any(e["action"] == "integration_token_created" for e in events)
    assert all(token not in e["detail"] for e in events)


# --- Users -----------------------------------------------------------------------------------


async def test_a_provisioned_user_is_an_invited_employee(
    client: Client, idp: dict[str, str]
) -> None:
    created = await client.post("/scim/v2/Users", json=alice(), headers=idp)
    assert created.status_code == 201
    assert created.headers["content-type"].startswith("application/scim+json")
    user = created.json()
    assert created.headers["location"] == user["meta"]["location"]
    assert created.headers["etag"] == user["meta"]["version"]
    assert user["userName"] == "alice.martin@example.com"
    assert user["externalId"] == "entra-0001"
    assert user["displayName"] == "Alice Martin"
    assert user["name"] == {"givenName": "Alice", "familyName": "Martin"}
    assert user["active"] is True
    assert user["preferredLanguage"] == "fr-FR"  # as sent; the member speaks French
    member = await Member.objects().where(Member.id == int(user["id"])).first()
    assert member is not None
    assert (member.email, member.name, member.role, member.language) == (
        "alice.martin@example.com",
        "Alice Martin",
        "employee",
        "fr",
    )
    invitation = await Invitation.select().where(Invitation.member == member.id).first()
    assert invitation is not None and invitation["purpose"] == "invite"
    assert invitation["used_at"] is None and invitation["revoked_at"] is None
    invited = await AuditEvent.select(AuditEvent.detail).where(AuditEvent.action == "invited")
    assert "SCIM · Entra ID" in invited[0]["detail"]
    fetched = await client.get(f"/scim/v2/Users/{user['id']}", headers=idp)
    assert fetched.json() == user


async def test_users_are_found_by_username_and_external_id(
    client: Client, idp: dict[str, str]
) -> None:
    user = await create_alice(client, idp)
    invited_by_admin = await make_member(name="Bruno Petit", email="bruno@example.com")
    for query in [
        'userName eq "ALICE.MARTIN@example.com"',
        'externalId eq "entra-0001"',
        'emails.value eq "alice.martin@example.com"',
        'displayName sw "Alice"',
        'userName co "martin" and active eq true',
    ]:
        found = (await client.get("/scim/v2/Users", params={"filter": query}, headers=idp)).json()
        assert found["totalResults"] == 1, query
        assert found["Resources"][0]["id"] == user["id"]
    # Someone an admin invited before is matched by their email, to be linked, not duplicated.
    bruno = await client.get(
        "/scim/v2/Users", params={"filter": 'userName eq "bruno@example.com"'}, headers=idp
    )
    assert bruno.json()["Resources"][0]["id"] == str(invited_by_admin.id)
    nobody = await client.get(
        "/scim/v2/Users", params={"filter": 'externalId eq "unknown"'}, headers=idp
    )
    assert nobody.json()["totalResults"] == 0 and not nobody.json().get("Resources")


async def test_users_come_in_pages(client: Client, idp: dict[str, str]) -> None:
    for n in range(5):
        await make_member(email=f"p{n}@example.com")
    first = (await client.get("/scim/v2/Users?startIndex=1&count=2", headers=idp)).json()
    assert (first["totalResults"], first["startIndex"], first["itemsPerPage"]) == (6, 1, 2)
    last = (await client.get("/scim/v2/Users?startIndex=5&count=2", headers=idp)).json()
    assert last["itemsPerPage"] == 2 and last["startIndex"] == 5
    beyond = (await client.get("/scim/v2/Users?startIndex=50", headers=idp)).json()
    assert beyond["totalResults"] == 6 and beyond["itemsPerPage"] == 0
    counted = (await client.get("/scim/v2/Users?count=0", headers=idp)).json()
    assert counted["totalResults"] == 6 and counted["itemsPerPage"] == 0
    only = (await client.get("/scim/v2/Users?attributes=userName", headers=idp)).json()
    assert set(only["Resources"][0]) <= {"schemas", "id", "userName"}
    assert_error(await client.get("/scim/v2/Users?count=many", headers=idp), 400, "invalidValue")


async def test_put_replaces_what_relay_keeps(client: Client, idp: dict[str, str]) -> None:
    user = await create_alice(client, idp)
    replaced = await client.put(
        f"/scim/v2/Users/{user['id']}",
        json=alice(
            displayName="Alice Dupont",
            name={"givenName": "Alice", "familyName": "Dupont"},
            emails=[{"value": "alice.dupont@example.com", "primary": True}],
        ),
        headers=idp,
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["displayName"] == "Alice Dupont"
    assert replaced.json()["emails"][0]["value"] == "alice.dupont@example.com"
    member = await Member.objects().where(Member.id == int(user["id"])).first()
    assert member is not None and member.email == "alice.dupont@example.com"


async def test_patch_deactivates_like_the_admin_and_active_true_undoes_it(
    client: Client, idp: dict[str, str]
) -> None:
    team = await make_team("Sales")
    member = await make_member(name="Chloé Roux", email="chloe@example.com", team=team)
    await Passkey.insert(
        Passkey(member=member.id, credential_id="cred-1", public_key=b"k", name="Pixel")
    )
    session = await create_session(member.id, "pytest")
    assert await Session.count().where(Session.member == member.id) == 1
    off = await client.patch(
        f"/scim/v2/Users/{member.id}",
        json=patch_op({"op": "replace", "value": {"active": False}}),
        headers=idp,
    )
    assert off.status_code == 200, off.text
    assert off.json()["active"] is False
    row = await Member.objects().where(Member.id == member.id).first()
    assert row is not None and not row.active and row.deactivated_at is not None
    assert await Session.count().where(Session.member == member.id) == 0
    client.cookies.set("relay_session", session)
    assert (await client.get("/me", headers=JSON)).status_code == 401
    client.cookies.clear()
    # History stays: the passkey and the team are kept, nothing is deleted.
    assert await Passkey.count().where(Passkey.member == member.id) == 1
    assert row.team == team
    audit = await AuditEvent.select(AuditEvent.detail).where(AuditEvent.action == "deactivated")
    assert "SCIM · Entra ID" in audit[0]["detail"]
    on = await client.patch(
        f"/scim/v2/Users/{member.id}",
        json=patch_op({"op": "Replace", "path": "active", "value": True}),
        headers=idp,
    )
    assert on.json()["active"] is True
    row = await Member.objects().where(Member.id == member.id).first()
    assert row is not None and row.active


async def test_patch_adds_replaces_and_removes_attributes(
    client: Client, idp: dict[str, str]
) -> None:
    user = await create_alice(client, idp)
    url = f"/scim/v2/Users/{user['id']}"
    changed = await client.patch(
        url,
        json=patch_op(
            {"op": "replace", "path": "displayName", "value": "Alice M."},
            {"op": "add", "path": "name.familyName", "value": "Moreau"},
            {
                "op": "replace",
                "path": 'emails[type eq "work"].value',
                "value": "alice.moreau@example.com",
            },
            {"op": "remove", "path": "externalId"},
        ),
        headers=idp,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["displayName"] == "Alice M."
    assert body["name"]["familyName"] == "Moreau"
    assert body["emails"][0]["value"] == "alice.moreau@example.com"
    assert "externalId" not in body


async def test_delete_deactivates_keeps_history_and_can_be_undone(
    client: Client, idp: dict[str, str]
) -> None:
    user = await create_alice(client, idp)
    url = f"/scim/v2/Users/{user['id']}"
    assert (await client.delete(url, headers=idp)).status_code == 204
    member = await Member.objects().where(Member.id == int(user["id"])).first()
    assert member is not None and not member.active  # deactivated, not deleted
    assert_error(await client.get(url, headers=idp), 404)
    assert_error(await client.delete(url, headers=idp), 404)
    listed = (await client.get("/scim/v2/Users", headers=idp)).json()
    assert user["id"] not in [u["id"] for u in listed.get("Resources", [])]
    # Created again by the provider: the same member comes back.
    again = await create_alice(client, idp)
    assert again["id"] == user["id"] and again["active"] is True


async def test_a_user_created_inactive_gets_no_link_until_activated(
    client: Client, idp: dict[str, str]
) -> None:
    user = await create_alice(client, idp, active=False)
    assert user["active"] is False
    assert await Invitation.count().where(Invitation.member == int(user["id"])) == 0
    await client.patch(
        f"/scim/v2/Users/{user['id']}",
        json=patch_op({"op": "replace", "path": "active", "value": True}),
        headers=idp,
    )
    link = await Invitation.select().where(Invitation.member == int(user["id"])).first()
    assert link is not None and link["revoked_at"] is None


async def test_user_errors_are_scim_error_documents(client: Client, idp: dict[str, str]) -> None:
    await create_alice(client, idp)
    assert_error(await client.post("/scim/v2/Users", json=alice(), headers=idp), 409, "uniqueness")
    taken_email = alice(userName="someone-else", externalId="x")
    assert_error(
        await client.post("/scim/v2/Users", json=taken_email, headers=idp), 409, "uniqueness"
    )
    no_name = {"schemas": [USER], "emails": [{"value": "x@example.com"}]}
    assert_error(await client.post("/scim/v2/Users", json=no_name, headers=idp), 400)
    no_email = {"schemas": [USER], "userName": "jdoe"}
    assert_error(
        await client.post("/scim/v2/Users", json=no_email, headers=idp), 400, "invalidValue"
    )
    not_json = await client.post("/scim/v2/Users", content=b"{not json", headers=idp)
    assert_error(not_json, 400, "invalidSyntax")
    assert_error(await client.post("/scim/v2/Users", json=[1, 2], headers=idp), 400)
    nul = await client.post("/scim/v2/Users", content=b'{"userName": "a\\u0000"}', headers=idp)
    assert_error(nul, 400)
    for missing in ["999999", "abc", "99999999999999", "-1"]:
        assert_error(await client.get(f"/scim/v2/Users/{missing}", headers=idp), 404)
        assert_error(await client.put(f"/scim/v2/Users/{missing}", json=alice(), headers=idp), 404)
    bad_filter = await client.get("/scim/v2/Users", params={"filter": "userName eq"}, headers=idp)
    assert_error(bad_filter, 400, "invalidFilter")
    bad_op = patch_op({"op": "explode", "path": "active", "value": False})
    member = await make_member()
    assert_error(await client.patch(f"/scim/v2/Users/{member.id}", json=bad_op, headers=idp), 400)
    bad_path = patch_op({"op": "replace", "path": "nothing[[", "value": 1})
    assert_error(await client.patch(f"/scim/v2/Users/{member.id}", json=bad_path, headers=idp), 400)


async def test_if_match_refuses_a_stale_version(client: Client, idp: dict[str, str]) -> None:
    user = await create_alice(client, idp)
    url = f"/scim/v2/Users/{user['id']}"
    stale = {**idp, "if-match": 'W/"0123456789"'}
    assert_error(await client.put(url, json=alice(), headers=stale), 412)
    assert_error(await client.delete(url, headers=stale), 412)
    current = {**idp, "if-match": user["meta"]["version"]}
    changed = patch_op({"op": "replace", "path": "displayName", "value": "A. Martin"})
    assert (await client.patch(url, json=changed, headers=current)).status_code == 200
    assert_error(await client.patch(url, json=changed, headers=current), 412)


async def test_the_last_admin_cannot_be_deprovisioned(client: Client, idp: dict[str, str]) -> None:
    # The token's maker is the only admin (idp fixture).
    admin = await Member.select(Member.id).where(Member.role == "admin").first()
    assert admin is not None
    off = patch_op({"op": "replace", "path": "active", "value": False})
    refused = await client.patch(f"/scim/v2/Users/{admin['id']}", json=off, headers=idp)
    assert_error(refused, 400, "mutability")


# --- Groups ----------------------------------------------------------------------------------


async def test_groups_are_teams(client: Client, idp: dict[str, str]) -> None:
    user = await create_alice(client, idp)
    other = await make_member(name="Bruno Petit")
    created = await client.post(
        "/scim/v2/Groups",
        json={
            "schemas": [GROUP],
            "displayName": "Engineering",
            "externalId": "grp-eng",
            "members": [{"value": user["id"]}],
        },
        headers=idp,
    )
    assert created.status_code == 201, created.text
    group = created.json()
    team = await Team.objects().where(Team.id == int(group["id"])).first()
    assert team is not None and team.name == "Engineering"
    assert [m["value"] for m in group["members"]] == [user["id"]]
    fetched = (await client.get(f"/scim/v2/Users/{user['id']}", headers=idp)).json()
    assert fetched["groups"][0]["display"] == "Engineering"
    url = f"/scim/v2/Groups/{group['id']}"
    added = await client.patch(
        url,
        json=patch_op({"op": "add", "path": "members", "value": [{"value": str(other.id)}]}),
        headers=idp,
    )
    assert {m["value"] for m in added.json()["members"]} == {user["id"], str(other.id)}
    removed = await client.patch(
        url,
        json=patch_op({"op": "remove", "path": f'members[value eq "{user["id"]}"]'}),
        headers=idp,
    )
    assert [m["value"] for m in removed.json()["members"]] == [str(other.id)]
    renamed = await client.put(
        url,
        json={"schemas": [GROUP], "displayName": "Platform", "members": []},
        headers=idp,
    )
    assert renamed.json()["displayName"] == "Platform" and "members" not in renamed.json()
    found = await client.get(
        "/scim/v2/Groups", params={"filter": 'displayName eq "platform"'}, headers=idp
    )
    assert found.json()["totalResults"] == 1
    lean = await client.get("/scim/v2/Groups?excludedAttributes=members", headers=idp)
    assert "members" not in lean.json()["Resources"][0]
    assert (await client.delete(url, headers=idp)).status_code == 204
    assert_error(await client.get(url, headers=idp), 404)
    team = await Team.objects().where(Team.id == int(group["id"])).first()
    assert team is not None and not team.active  # kept for the content aimed at it


async def test_group_errors_are_scim_error_documents(client: Client, idp: dict[str, str]) -> None:
    await make_team("Sales")
    taken = {"schemas": [GROUP], "displayName": "Sales"}
    assert_error(await client.post("/scim/v2/Groups", json=taken, headers=idp), 409, "uniqueness")
    ghost = {"schemas": [GROUP], "displayName": "Ghosts", "members": [{"value": "424242"}]}
    assert_error(await client.post("/scim/v2/Groups", json=ghost, headers=idp), 400, "invalidValue")
    unnamed = {"schemas": [GROUP], "displayName": ""}
    assert_error(await client.post("/scim/v2/Groups", json=unnamed, headers=idp), 400)
    assert_error(await client.get("/scim/v2/Groups/424242", headers=idp), 404)
    assert_error(await client.delete("/scim/v2/Groups/424242", headers=idp), 404)


# --- The admin's page ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["anonymous", "employee", "editor", "admin"])
async def test_only_admins_reach_the_provisioning_page(client: Client, role: str) -> None:
    if role != "anonymous":
        await sign_in(client, role)
    headers = await csrf(client, "/signin", accept=JSON)
    page = await client.get("/admin/provisioning", headers=JSON)
    made = await client.post("/admin/provisioning/tokens", data={"name": "Okta"}, headers=headers)
    revoke = await client.post("/admin/provisioning/tokens/1/revoke", headers=headers)
    expected = {"anonymous": 401, "employee": 403, "editor": 403, "admin": 200}[role]
    assert page.status_code == expected
    assert made.status_code == expected
    assert revoke.status_code == (200 if role == "admin" else expected)
    made_tokens = await IntegrationToken.count()
    assert made_tokens == (1 if role == "admin" else 0)


async def test_the_admin_sees_a_token_once_then_revokes_it(client: Client) -> None:
    await sign_in(client, "admin")
    headers = await csrf(client, "/admin/provisioning")
    refused = await client.post("/admin/provisioning/tokens", data={"name": ""}, headers=headers)
    assert refused.status_code == 422 and "Name the identity provider" in refused.text
    made = await client.post(
        "/admin/provisioning/tokens", data={"name": "Microsoft Entra ID"}, headers=headers
    )
    token = made.text.split("data-scim-token")[0].rsplit('value="', 1)[1].split('"')[0]
    assert token.startswith("relay_scim_") and made.headers["cache-control"] == "no-store"
    later = await client.get("/admin/provisioning", headers=HTML)
    assert token not in later.text and "Microsoft Entra ID" in later.text
    assert "never used" in later.text
    bearer = {"authorization": f"Bearer {token}"}
    assert (await client.get("/scim/v2/Users", headers=bearer)).status_code == 200
    assert "last used" in (await client.get("/admin/provisioning", headers=HTML)).text
    row = await IntegrationToken.select(IntegrationToken.id).first()
    assert row is not None
    revoked = await client.post(f"/admin/provisioning/tokens/{row['id']}/revoke", headers=headers)
    assert "Token revoked" in revoked.text
    assert (await client.get("/scim/v2/Users", headers=bearer)).status_code == 401
    actions = [r["action"] for r in await AuditEvent.select(AuditEvent.action)]
    assert "integration_token_created" in actions and "integration_token_revoked" in actions
    audit = await client.get("/admin/audit", headers=HTML)
    assert token not in audit.text and "Integration token revoked" in audit.text


async def test_an_unknown_scim_address_is_a_scim_404(client: Client, idp: dict[str, str]) -> None:
    assert_error(await client.get("/scim/v2/Printers/1", headers=idp), 404)
    assert_error(await client.post("/scim/v2/Printers", json={}, headers=idp), 404)
    assert_error(await client.get("/scim/v2/Printers"), 401)
    search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}
    assert_error(await client.post("/scim/v2/.search", json=search, headers=idp), 501)


async def test_users_are_searched_with_post(client: Client, idp: dict[str, str]) -> None:
    user = await create_alice(client, idp)
    found = await client.post(
        "/scim/v2/Users/.search",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'userName eq "alice.martin@example.com"',
            "attributes": ["userName"],
        },
        headers=idp,
    )
    assert found.status_code == 200, found.text
    assert found.json()["Resources"] == [
        {"schemas": [USER], "id": user["id"], "userName": "alice.martin@example.com"}
    ]


async def test_removing_active_never_brings_a_leaver_back(
    client: Client, idp: dict[str, str]
) -> None:
    leaver = await make_member(active=False)
    removed = await client.patch(
        f"/scim/v2/Users/{leaver.id}",
        json=patch_op({"op": "remove", "path": "active"}),
        headers=idp,
    )
    assert removed.status_code == 200 and removed.json()["active"] is False


async def test_a_filter_no_index_answers_reads_every_member(
    client: Client, idp: dict[str, str]
) -> None:
    for n in range(520):
        await make_member(email=f"m{n}@example.com", name=f"Member {n:03}")
    found = await client.get(
        "/scim/v2/Users", params={"filter": 'displayName ew "519"', "count": "5"}, headers=idp
    )
    assert found.status_code == 200, found.text
    assert found.json()["totalResults"] == 1
    assert found.json()["Resources"][0]["userName"] == "m519@example.com"
