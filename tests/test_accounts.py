"""Passkey accounts over HTTP: ceremonies at the protocol level, roles, invitations, limits."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from webauthn.helpers import bytes_to_base64url

from app.accounts import people
from app.accounts.guards import admin, anyone, editor, signed_in
from app.accounts.invitations import Person, invite
from app.accounts.sessions import create_session, sessions_changed
from app.accounts.tables import AuditEvent, Invitation, Member, Passkey, Session
from app.core.clock import now
from app.core.settings import Settings, SettingsError
from app.integrations.routes_api import api_token
from app.integrations.routes_scim import scim_token
from app.mail.service import MAX_ATTEMPTS, deliver_due
from app.mail.tables import MailOutbox
from app.main import create_app
from tests.databases import ROOT
from tests.factories import make_member
from tests.helpers import HTML, JSON, csrf, free_port, mail_settings, sign_in
from tests.soft_authenticator import SoftPasskey


async def invited(
    name: str = "Léa Martin", role: str = "employee", language: str = "en"
) -> tuple[int, str]:
    email = name.lower().replace(" ", ".").replace("é", "e") + "@example.com"
    result = await invite(
        Person(email=email, name=name, role=role, team=None, site=None, language=language), by=None
    )
    return result.member_id, result.token


def passkey_for(settings: Settings) -> SoftPasskey:
    return SoftPasskey(rp_id=settings.host, origin=settings.public_url)


async def enrol(client: AsyncTestClient, token: str, key: SoftPasskey) -> Any:  # type: ignore[type-arg]
    headers = await csrf(client, "/signin", accept=JSON)
    started = await client.post(f"/enrol/{token}/options", headers=headers)
    if started.status_code != 200:
        return started
    options = started.json()
    return await client.post(
        f"/enrol/{token}/verify",
        json={"ceremony": options["ceremony"], "credential": key.create(options["publicKey"])},
        headers=headers,
    )


async def sign_in_with(client: AsyncTestClient, key: SoftPasskey, **answer: Any) -> Any:  # type: ignore[type-arg]
    headers = await csrf(client, "/signin", accept=JSON)
    options = (await client.post("/signin/options", headers=headers)).json()
    assert options["publicKey"]["userVerification"] == "required"
    assert options["publicKey"].get("allowCredentials", []) == []
    return await client.post(
        "/signin/verify",
        json={
            "ceremony": options["ceremony"],
            "credential": key.get(options["publicKey"], **answer),
        },
        headers=headers,
    )


async def test_a_person_enrols_from_a_link_and_signs_in_again_usernameless(
    client: AsyncTestClient, settings: Settings
) -> None:
    member_id, token = await invited()
    key = passkey_for(settings)

    enrolled = await enrol(client, token, key)
    assert enrolled.status_code == 200 and enrolled.json() == {"redirect": "/?welcome=1"}
    cookie = enrolled.headers["set-cookie"]
    assert cookie.startswith("relay_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert (await client.get("/", headers=HTML)).status_code == 200

    [stored] = await Passkey.select().where(Passkey.member == member_id)
    assert stored["backed_up"] is True
    assert stored["device_type"] == "multi_device"
    assert await Invitation.count().where(Invitation.used_at.is_not_null()) == 1

    client.cookies.clear()
    signed_in = await sign_in_with(client, key)
    assert signed_in.json() == {"redirect": "/"}
    assert (await client.get("/me", headers=HTML)).status_code == 200
    assert await Session.count().where(Session.member == member_id) == 2
    [row] = await Passkey.select(Passkey.sign_count, Passkey.last_used_at)
    assert row["sign_count"] == 1 and row["last_used_at"] is not None


async def test_the_server_refuses_answers_without_user_verification_or_with_a_cloned_counter(
    client: AsyncTestClient, settings: Settings
) -> None:
    _member_id, token = await invited()
    key = passkey_for(settings)
    await enrol(client, token, key)
    client.cookies.clear()

    refused = await sign_in_with(client, key, user_verified=False)
    assert refused.status_code == 400
    assert refused.json()["error"] == (
        "Your device did not verify it's you (fingerprint, face or PIN). Please try again."
    )
    assert (await sign_in_with(client, key)).status_code == 200
    client.cookies.clear()

    key.sign_count = 0  # a copy of the key that never saw the later sign-ins
    cloned = await sign_in_with(client, key, count_up=False)
    assert cloned.status_code == 400
    assert "looks cloned" in cloned.json()["error"]
    assert await AuditEvent.count().where(AuditEvent.action == "signin_failed") == 2


async def test_a_challenge_works_once_and_only_for_its_own_ceremony(
    client: AsyncTestClient, settings: Settings
) -> None:
    _member_id, token = await invited()
    key = passkey_for(settings)
    headers = await csrf(client, "/signin", accept=JSON)
    enrol_options = (await client.post(f"/enrol/{token}/options", headers=headers)).json()
    # An enrolment challenge is no sign-in challenge.
    wrong = await client.post(
        "/signin/verify",
        json={
            "ceremony": enrol_options["ceremony"],
            "credential": key.get(enrol_options["publicKey"]),
        },
        headers=headers,
    )
    assert wrong.json() == {"error": "This sign-in attempt has expired. Please try again."}
    # …and it was used up by that attempt.
    answer = key.create(enrol_options["publicKey"])
    reused = await client.post(
        f"/enrol/{token}/verify",
        json={"ceremony": enrol_options["ceremony"], "credential": answer},
        headers=headers,
    )
    assert reused.status_code == 400
    assert await Passkey.count() == 0
    # Garbage is refused with a sentence, never a 500.
    for body in [
        {},
        {"ceremony": "x", "credential": "not a dict"},
        {"ceremony": "x" * 500, "credential": {}},
    ]:
        response = await client.post("/signin/verify", json=body, headers=headers)
        assert response.status_code == 400 and response.json()["error"]


async def test_a_used_or_revoked_link_cannot_enrol_another_device(
    client: AsyncTestClient, settings: Settings
) -> None:
    member_id, token = await invited()
    assert (await enrol(client, token, passkey_for(settings))).status_code == 200
    client.cookies.clear()
    again = await enrol(client, token, passkey_for(settings))
    assert again.status_code == 404
    assert again.json()["error"].startswith("This link can't be used any more.")
    assert await Passkey.count().where(Passkey.member == member_id) == 1


async def test_over_https_cookies_are_secure_and_host_only(
    database_url: str, tmp_path: Any
) -> None:
    settings = Settings.from_env(
        {
            "RELAY_DATA_DIR": str(tmp_path / "d"),
            "DATABASE_URL": database_url,
            "PUBLIC_URL": "https://relay.example.com",
            "SECRET_KEY": "s" * 40,
            "DATABASE_POOL_SIZE": "0",
        }
    )
    async with AsyncTestClient(
        create_app(settings), base_url="https://relay.example.com"
    ) as client:
        page = await client.get("/signin", headers=HTML)
        assert page.headers["set-cookie"].startswith("__Host-csrf=")
        assert "Secure" in page.headers["set-cookie"]
        assert "max-age=63072000" in page.headers["strict-transport-security"]
        _member_id, token = await invited()
        enrolled = await enrol(client, token, passkey_for(settings))
        cookie = enrolled.headers["set-cookie"]
        assert cookie.startswith("__Host-relay_session=")
        assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
        assert "Domain" not in cookie


async def test_too_many_sign_in_attempts_get_a_clear_answer(client: AsyncTestClient) -> None:
    headers = await csrf(client, "/signin", accept=JSON)
    statuses = [
        (await client.post("/signin/options", headers=headers)).status_code for _ in range(31)
    ]
    assert statuses[:30] == [200] * 30
    limited = await client.post("/signin/options", headers=headers)
    assert limited.status_code == 429
    assert limited.json()["error"] == "Too many attempts. Please wait a minute and try again."
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    page = await client.post("/signin/options", headers={**headers, "accept": "text/html"})
    assert "Too many attempts" in page.text


async def test_enrolment_links_are_rate_limited_per_link(client: AsyncTestClient) -> None:
    headers = await csrf(client, "/signin", accept=JSON)
    statuses = [
        (await client.post("/enrol/guess/options", headers=headers)).status_code for _ in range(11)
    ]
    assert statuses[:10] == [404] * 10 and statuses[10] == 429


def concrete_path(path: str, ids: dict[str, int]) -> str:
    path = path.replace("{path:path}", "app.css")
    path = re.sub(r"\{token:str\}", "unknown-token", path)
    for name, value in ids.items():
        path = path.replace(f"{{{name}:int}}", str(value))
    # Any other id (a domain added later): one that names nothing, so only the guard answers.
    return re.sub(r"\{[a-z_]+:int\}", "999999", path)


ACCESS_GUARDS = {
    "anyone": anyone,
    "signed_in": signed_in,
    "editor": editor,
    "admin": admin,
    # SCIM: an identity provider's bearer token, never a session (app/integrations).
    "scim_token": scim_token,
    # The ATS's API: an integration's bearer token, never a session (app/integrations).
    "api_token": api_token,
}


def route_table(app: Litestar) -> list[tuple[str, str, str]]:
    """(method, path, access) for every route handler, checking each declares exactly one."""
    table = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if handler.http_methods <= {"OPTIONS", "HEAD"}:
                continue  # Litestar's own CORS pre-flight answers
            # Declared on the handler or on a router it is in (the API's schema router).
            layers = handler.ownership_layers
            declared = [
                name
                for name, guard in ACCESS_GUARDS.items()
                if any(guard in (layer.guards or []) for layer in layers)
            ]
            assert len(declared) == 1, f"{route.path} declares {declared or 'no'} access guard"
            for method in handler.http_methods:
                if method not in {"HEAD", "OPTIONS"}:
                    table.append((method, route.path, declared[0]))
    return table


EXPECTED = {
    # access: {who: allowed?}
    "anyone": {
        "anonymous": True,
        "employee": True,
        "editor": True,
        "admin": True,
        "deactivated": True,
    },
    "signed_in": {
        "anonymous": False,
        "employee": True,
        "editor": True,
        "admin": True,
        "deactivated": False,
    },
    "editor": {
        "anonymous": False,
        "employee": False,
        "editor": True,
        "admin": True,
        "deactivated": False,
    },
    "admin": {
        "anonymous": False,
        "employee": False,
        "editor": False,
        "admin": True,
        "deactivated": False,
    },
    "scim_token": {
        "anonymous": False,
        "employee": False,
        "editor": False,
        "admin": False,
        "deactivated": False,
    },
    "api_token": {
        "anonymous": False,
        "employee": False,
        "editor": False,
        "admin": False,
        "deactivated": False,
    },
}


async def test_every_route_answers_each_role_as_declared(
    client: AsyncTestClient, settings: Settings
) -> None:
    app = client.app
    table = route_table(app)  # type: ignore[arg-type]
    assert len(table) >= 30
    members = {role: await make_member(role=role) for role in ["employee", "editor", "admin"]}
    members["deactivated"] = await make_member(role="admin")
    target = await make_member()
    ids = {
        "member_id": target.id,
        "passkey_id": 999_999,
        "invitation_id": 999_999,
        "item_id": 999_999,
        "subscription_id": 999_999,
        "campaign_id": 999_999,
        "candidate_id": 999_999,
        "level_id": 999_999,
        "challenge_id": 999_999,
        "reward_id": 999_999,
        "redemption_id": 999_999,
        "token_id": 999_999,
    }
    headers = await csrf(client, "/signin", accept=JSON)
    failures = []
    for who in ["anonymous", "employee", "editor", "admin", "deactivated"]:
        for method, path, access in table:
            client.cookies.clear()
            headers = await csrf(client, "/signin", accept=JSON)
            if who != "anonymous":
                token = await create_session(members[who].id)
                client.cookies.set("relay_session", token)
                if who == "deactivated":
                    await Member.update({Member.active: False}).where(Member.id == members[who].id)
            response = await client.request(method, concrete_path(path, ids), headers=headers)
            allowed = EXPECTED[access][who]
            status = response.status_code
            if status >= 500:
                failures.append(f"{who} {method} {path}: {status}")
            elif allowed and status in {401, 403}:
                failures.append(f"{who} {method} {path}: refused with {status}")
            elif not allowed and status != (
                401
                if who in {"anonymous", "deactivated"} or access in {"scim_token", "api_token"}
                else 403
            ):
                failures.append(f"{who} {method} {path}: answered {status}, expected a refusal")
            if who == "deactivated":
                await Member.update({Member.active: True}).where(Member.id == members[who].id)
    assert not failures, "\n".join(failures)


async def test_an_invitation_is_emailed_in_the_invitees_language(
    env: dict[str, str], smtp_server: Any
) -> None:
    port, mailbox = smtp_server
    settings = mail_settings(env, port)
    async with AsyncTestClient(create_app(settings), base_url="http://localhost:8000") as client:
        await sign_in(client, "admin")
        headers = await csrf(client, "/signin", accept=JSON)
        response = await client.post(
            "/admin/people",
            data={
                "email": "Hugo.Bernard@Example.com",
                "name": "Hugo Bernard",
                "role": "editor",
                "team": "",
                "site": "",
                "language": "fr",
            },
            headers={**headers, **HTML},
        )
        assert response.status_code == 200, response.text
        assert "It is on its way to them by email." in response.text
        link = re.search(r'value="(http://localhost:8000/enrol/[^"]+)"', response.text).group(1)  # type: ignore[union-attr]
        assert "being emailed" in response.text
        assert await deliver_due(settings) == 1
        [mail] = mailbox.messages
        assert mail["To"] == "hugo.bernard@example.com"
        assert mail["From"] == "Relay <relay@example.com>"
        assert mail["Subject"] == "Relay vous invite sur Relay"
        body = mail.get_payload(decode=True).decode()
        assert "Bonjour Hugo Bernard" in body and link in body
        member = await Member.select(Member.id).where(Member.email == mail["To"]).first()
        assert member is not None
        person = await client.get(f"/admin/people/{member['id']}", headers=HTML)
        assert "· emailed" in person.text
    # Sent: its body, with the single-use link, is not kept.
    [row] = await MailOutbox.select(MailOutbox.state, MailOutbox.text)
    assert row == {"state": "sent", "text": ""}


async def test_an_invitation_that_cannot_be_mailed_still_shows_the_link(
    env: dict[str, str],
) -> None:
    settings = mail_settings(env, free_port())  # nothing listens there
    async with AsyncTestClient(create_app(settings), base_url="http://localhost:8000") as client:
        await sign_in(client, "admin")
        response = await client.post(
            "/admin/people",
            data={"email": "tom@example.com", "name": "Tom", "role": "employee", "language": "en"},
            headers={**(await csrf(client, "/signin", accept=JSON)), **HTML},
        )
        assert "/enrol/" in response.text and "<svg" in response.text
        member = await Member.select(Member.id).where(Member.email == "tom@example.com").first()
        assert member is not None
        # The sender tries again and again, then gives up; the admin sees it on the person.
        moment = now()
        for _ in range(MAX_ATTEMPTS):
            assert await deliver_due(settings, moment) == 1
            moment += timedelta(hours=2)
        assert await deliver_due(settings, moment) == 0
        person = await client.get(f"/admin/people/{member['id']}", headers=HTML)
    assert "The email could not be sent: hand over the link or the QR code instead." in person.text
    [row] = await MailOutbox.select(MailOutbox.state, MailOutbox.text, MailOutbox.attempts)
    assert row == {"state": "failed", "text": "", "attempts": MAX_ATTEMPTS}


async def test_inviting_checks_each_field(client: AsyncTestClient) -> None:
    await sign_in(client, "admin", email="boss@example.com")
    headers = {**(await csrf(client, "/signin", accept=JSON)), **HTML, "hx-request": "true"}
    response = await client.post(
        "/admin/people",
        data={
            "email": "BOSS@example.com",
            "name": "",
            "role": "king",
            "team": "Nowhere",
            "language": "de",
        },
        headers=headers,
    )
    assert response.status_code == 422
    text = response.text
    assert text.lstrip().startswith('<form id="invite-form"')
    for message in [
        "Someone with this email address is already in Relay.",
        "Enter the person&#39;s name.",
        "Choose a role: employee, editor or admin.",
        "There is no team with this name.",
        "Choose a language: en or fr.",
    ]:
        assert message in text
    assert await Member.count() == 1


async def test_a_csv_with_bad_rows_imports_nobody_and_says_what_is_wrong(
    client: AsyncTestClient,
) -> None:
    await sign_in(client, "admin", email="boss@example.com")
    headers = {**(await csrf(client, "/signin", accept=JSON)), **HTML, "hx-request": "true"}
    csv = (
        b"email;name;role;team;site;language\n"
        b"ana@example.com;Ana;employee;;;fr\n"
        b"not-an-email;Bob;employee;;;en\n"
        b"ana@example.com;Ana again;employee;;;en\n"
        b"boss@example.com;Boss;admin;;;en\n"
        b"carl@example.com;Carl;wizard;Atlantis;;en\n"
    )
    response = await client.post(
        "/admin/people/import", files={"file": ("people.csv", csv, "text/csv")}, headers=headers
    )
    assert response.status_code == 422
    text = response.text
    assert "Nothing was imported." in text
    assert "Enter a valid email address" in text
    assert "This email address appears twice in the file." in text
    assert "Someone with this email address is already in Relay." in text
    assert "Choose a role" in text and "There is no team with this name." in text
    assert await Member.count() == 1

    good = "\ufeffemail,name,role,language\nana@example.com,Ana,employee,fr\nbob@example.com,Bob,editor,en\n"
    response = await client.post(
        "/admin/people/import",
        files={"file": ("people.csv", good.encode(), "text/csv")},
        headers=headers,
    )
    assert response.status_code == 200
    assert "2 people invited." in response.text
    assert await Member.count() == 3
    assert await Invitation.count() == 2

    for content, message in [
        (b"\xff\xfe\x00bad", "The file must be a CSV saved as UTF-8."),
        (b"who,what\nx,y\n", "The first line must name the columns, at least: email, name."),
        (b"x" * 1_000_001, "The file is too large: at most 1 MB."),
    ]:
        refused = await client.post(
            "/admin/people/import", files={"file": ("f.csv", content, "text/csv")}, headers=headers
        )
        assert refused.status_code == 422 and message in refused.text
    assert await Member.count() == 3


async def test_changing_a_role_needs_a_fresh_passkey_confirmation_and_keeps_an_admin(
    client: AsyncTestClient,
) -> None:
    admin = await make_member(role="admin")
    employee = await make_member()
    token = await create_session(admin.id, fresh=False)
    client.cookies.set("relay_session", token)
    headers = {**(await csrf(client, "/signin", accept=JSON)), **HTML}
    stale = await client.post(
        f"/admin/people/{employee.id}/role", data={"role": "editor"}, headers=headers
    )
    assert stale.status_code == 422 and "Confirm it&#39;s you with a passkey first." in stale.text
    assert (await Member.select(Member.role).where(Member.id == employee.id).first())[
        "role"
    ] == "employee"

    client.cookies.set("relay_session", await create_session(admin.id, fresh=True))
    changed = await client.post(
        f"/admin/people/{employee.id}/role", data={"role": "editor"}, headers=headers
    )
    assert changed.status_code == 200 and "Role changed." in changed.text
    last = await client.post(
        f"/admin/people/{admin.id}/role", data={"role": "employee"}, headers=headers
    )
    assert last.status_code == 422 and "at least one active admin" in last.text
    assert await AuditEvent.count().where(AuditEvent.action == "role_changed") == 1


async def test_deactivating_ends_every_session_and_revokes_open_links(database_url: str) -> None:
    admin = await make_member(role="admin")
    member_id, _token = await invited()
    await create_session(member_id)
    await create_session(member_id)
    await people.deactivate(member_id, by=admin.id)
    assert await Session.count().where(Session.member == member_id) == 0
    assert await Invitation.count().where(Invitation.revoked_at.is_null()) == 0
    with pytest.raises(people.PeopleError, match="cannot deactivate yourself"):
        await people.deactivate(admin.id, by=admin.id)


async def test_signing_out_everywhere_ends_all_sessions(client: AsyncTestClient) -> None:
    member = await sign_in(client)
    await create_session(member.id)
    response = await client.post(
        "/me/signout-everywhere",
        headers={**(await csrf(client, "/signin", accept=JSON)), **HTML},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/signin?bye=1"
    assert await Session.count() == 0


async def test_sign_in_never_redirects_to_another_site(
    client: AsyncTestClient, settings: Settings
) -> None:
    _member_id, token = await invited()
    key = passkey_for(settings)
    await enrol(client, token, key)
    client.cookies.clear()
    for target, expected in [
        ("//evil.example", "/"),
        ("https://evil.example/x", "/"),
        ("/me", "/me"),
        ("/\\evil.example", "/"),
    ]:
        headers = await csrf(client, "/signin", accept=JSON)
        options = (await client.post("/signin/options", headers=headers)).json()
        response = await client.post(
            "/signin/verify",
            json={
                "ceremony": options["ceremony"],
                "credential": key.get(options["publicKey"]),
                "next": target,
            },
            headers=headers,
        )
        assert response.json() == {"redirect": expected}
        client.cookies.clear()


async def test_the_audit_log_lists_what_happened(
    client: AsyncTestClient, settings: Settings
) -> None:
    _member_id, token = await invited()
    await enrol(client, token, passkey_for(settings))
    client.cookies.clear()
    await sign_in(client, "admin", name="Camille Laurent")
    page = await client.get("/admin/audit", headers=HTML)
    assert page.status_code == 200
    for line in ["Invited", "Passkey added", "Signed in", "Léa Martin"]:
        assert line in page.text


def test_create_admin_prints_a_single_use_link_and_its_qr_code(env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "create-admin", "founder@example.com", "--name", "Ada"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"http://localhost:8000/enrol/[A-Za-z0-9_-]{43}", result.stdout)
    assert "█" in result.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "app", "create-admin", "nobody"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "valid email" in bad.stderr


async def test_rate_limits_are_shared_through_redis_when_configured(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two app processes counting in one Redis: the limit holds across them."""
    import time

    import redis.asyncio as redis

    from app.web import ratelimit

    # The limits count in fixed windows: one that turned during the 31 attempts would start
    # the count again (it did once in 30-odd runs). The window stays the same for the test.
    started = time.time()
    monkeypatch.setattr(
        ratelimit, "time", SimpleNamespace(time=lambda: started, monotonic=time.monotonic)
    )
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    await redis.from_url(url).flushdb()
    settings = Settings.from_env({**env, "REDIS_URL": url})
    async with (
        AsyncTestClient(create_app(settings), base_url="http://localhost:8000") as first,
        AsyncTestClient(create_app(settings), base_url="http://localhost:8000") as second,
    ):
        statuses = []
        for attempt in range(31):
            client = first if attempt % 2 else second
            statuses.append(
                (
                    await client.post(
                        "/signin/options", headers=await csrf(client, "/signin", accept=JSON)
                    )
                ).status_code
            )
        assert statuses[:30] == [200] * 30 and statuses[30] == 429


async def test_a_recovery_link_can_revoke_a_lost_phones_passkeys(
    client: AsyncTestClient, settings: Settings
) -> None:
    member_id, token = await invited()
    lost_phone = passkey_for(settings)
    await enrol(client, token, lost_phone)
    client.cookies.clear()
    await sign_in(client, "admin")
    response = await client.post(
        f"/admin/people/{member_id}/link",
        data={"revoke_passkeys": "on"},
        headers={**(await csrf(client, "/signin", accept=JSON)), **HTML},
    )
    assert response.status_code == 200
    assert "Enrolment link for Léa Martin" in response.text
    assert await Passkey.count().where(Passkey.member == member_id) == 0
    assert await Session.count().where(Session.member == member_id) == 0
    link = re.search(r"/enrol/([A-Za-z0-9_-]{43})", response.text).group(1)  # type: ignore[union-attr]
    client.cookies.clear()
    refused = await sign_in_with(client, lost_phone)
    assert refused.status_code == 400
    new_phone = passkey_for(settings)
    page = await client.get(f"/enrol/{link}", headers=HTML)
    assert "Welcome back, Léa Martin" in page.text
    assert (await enrol(client, link, new_phone)).status_code == 200
    used = await Invitation.select(Invitation.purpose).where(Invitation.used_at.is_not_null())
    assert sorted(row["purpose"] for row in used) == ["invite", "recovery"]


async def test_adding_a_passkey_asks_for_a_fresh_confirmation_first(
    client: AsyncTestClient, settings: Settings
) -> None:
    member_id, token = await invited()
    phone = passkey_for(settings)
    await enrol(client, token, phone)
    client.cookies.clear()
    client.cookies.set("relay_session", await create_session(member_id, fresh=False))
    headers = await csrf(client, "/signin", accept=JSON)

    asked = await client.post("/me/passkeys/options", headers=headers)
    assert asked.status_code == 428
    assert asked.json() == {"confirm": True, "error": "Confirm it's you with a passkey first."}

    options = (await client.post("/me/confirm/options", headers=headers)).json()
    allowed = [c["id"] for c in options["publicKey"]["allowCredentials"]]
    assert allowed == [bytes_to_base64url(phone.credential_id)]
    confirmed = await client.post(
        "/me/confirm/verify",
        json={"ceremony": options["ceremony"], "credential": phone.get(options["publicKey"])},
        headers=headers,
    )
    assert confirmed.json() == {"confirmed": True}

    laptop = passkey_for(settings)
    started = (await client.post("/me/passkeys/options", headers=headers)).json()
    excluded = [c["id"] for c in started["publicKey"]["excludeCredentials"]]
    assert len(excluded) == 1
    added = await client.post(
        "/me/passkeys/verify",
        json={"ceremony": started["ceremony"], "credential": laptop.create(started["publicKey"])},
        headers=headers,
    )
    assert added.json() == {"redirect": "/me/security?added=1"}
    assert await Passkey.count().where(Passkey.member == member_id) == 2


async def test_an_operator_chooses_how_long_sessions_and_enrolment_links_last(
    env: dict[str, str],
) -> None:
    lifetimes = {
        "RELAY_SESSION_IDLE_DAYS": "1",
        "RELAY_SESSION_MAX_DAYS": "3",
        "RELAY_INVITATION_DAYS": "2",
    }
    settings = Settings.from_env({**env, **lifetimes})
    async with AsyncTestClient(create_app(settings), base_url="http://localhost:8000") as client:
        await sign_in(client, "admin")
        response = await client.post(
            "/admin/people",
            data={"email": "tom@example.com", "name": "Tom", "role": "employee", "language": "en"},
            headers={**(await csrf(client, "/signin", accept=JSON)), **HTML},
        )
        match = re.search(r"/enrol/([A-Za-z0-9_-]+)", response.text)
        assert match, response.text
        [link] = await Invitation.select(Invitation.created_at, Invitation.expires_at).where(
            Invitation.member.email == "tom@example.com"
        )
        assert link["expires_at"] - link["created_at"] == timedelta(days=2)

        client.cookies.clear()
        enrolled = await enrol(client, match.group(1), passkey_for(settings))
        assert "Max-Age=259200" in enrolled.headers["set-cookie"]  # 3 days
        [session] = await Session.select(Session.created_at, Session.expires_at).where(
            Session.member.email == "tom@example.com"
        )
        assert session["expires_at"] - session["created_at"] == timedelta(days=3)
        assert (await client.get("/me", headers=HTML)).status_code == 200

        # Unused for more than a day, the session has ended.
        await Session.update({Session.last_seen_at: now() - timedelta(days=1, minutes=1)}).where(
            Session.member.email == "tom@example.com"
        )
        await sessions_changed()  # a day went by: the process kept no session that long
        ended = await client.get("/me", headers=HTML, follow_redirects=False)
        assert ended.status_code == 303 and ended.headers["location"] == "/signin?next=/me"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RELAY_SESSION_IDLE_DAYS", "a month"),
        ("RELAY_SESSION_MAX_DAYS", "0"),
        ("RELAY_INVITATION_DAYS", "-1"),
        ("WEB_CONCURRENCY", "many"),
        ("RELAY_SERVER", "gunicorn"),
    ],
)
def test_a_wrong_lifetime_or_server_setting_is_refused_in_one_sentence(
    env: dict[str, str], name: str, value: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({**env, name: value})
    sentence = str(refused.value)
    assert sentence.startswith(f"{name} must be ") and sentence.endswith(f"not {value!r}.")
