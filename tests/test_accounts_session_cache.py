"""A process keeps the sessions it read, and forgets them at once when one changes anywhere.

Signed-in requests skip the session query while nothing changed (issue 15); a role change, a
deactivation or a sign-out everywhere made in one process holds at once in another, which
hears of it through Redis.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
from litestar.testing import AsyncTestClient

from app.accounts.sessions import create_session, load_session, sessions_changed
from app.accounts.tables import Member, Session
from app.core.settings import Settings
from app.main import create_app
from tests.conftest import LiveServer
from tests.factories import make_member
from tests.helpers import HTML, JSON, csrf

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def test_a_process_answers_from_its_copy_until_a_change_is_announced(
    database: str,
) -> None:
    """The single-process default: the copy is used (even a row removed behind Relay's back
    still answers), and any change made through Relay drops it."""
    member = await make_member()
    token = await create_session(member.id)
    first = await load_session(token)
    assert first is not None and first.member.role == "employee"
    # Behind Relay's back (no change announced): the process still answers from its copy.
    await Member.update({Member.role: "editor"}).where(Member.id == member.id)
    kept = await load_session(token)
    assert kept is not None and kept.member.role == "employee"
    await sessions_changed()
    changed = await load_session(token)
    assert changed is not None and changed.member.role == "editor"
    await Session.delete().where(Session.member == member.id)
    await sessions_changed()
    assert await load_session(token) is None


async def test_several_web_processes_without_redis_keep_no_session(
    env: dict[str, str], database: str
) -> None:
    """`relay serve --workers 2` without REDIS_URL: no process would hear of the others'
    changes, so each reads the session on every request."""
    create_app(Settings.from_env({**env, "WEB_CONCURRENCY": "2"}))
    try:
        member = await make_member()
        token = await create_session(member.id)
        assert (await load_session(token)) is not None
        await Member.update({Member.role: "editor"}).where(Member.id == member.id)
        again = await load_session(token)
        assert again is not None and again.member.role == "editor"
    finally:
        create_app(Settings.from_env(env))  # this test process keeps sessions again


async def test_signing_out_ends_the_session_at_once_in_this_process(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    member = await make_member()
    client.cookies.set("relay_session", await create_session(member.id))
    assert (await client.get("/me", headers=HTML)).status_code == 200
    headers = await csrf(client, "/me", accept=JSON)
    await client.post("/signout", headers={**headers, **HTML})
    gone = await client.get("/me", headers=HTML, follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/signin")


async def test_role_deactivation_and_sign_out_everywhere_hold_at_once_in_another_process(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Two processes sharing Redis: `relay serve` keeps the employee's session; the admin
    works in this process; each change holds in the other process on the next request."""
    import redis.asyncio as redis

    await redis.from_url(REDIS_URL).flushdb()
    shared = {**env, "REDIS_URL": REDIS_URL}
    admin = await make_member(role="admin")
    employee = await make_member()
    phone, laptop = [await create_session(employee.id) for _ in range(2)]
    other_process = LiveServer(shared, tmp_path / "server.log")
    try:
        async with (
            AsyncTestClient(
                create_app(Settings.from_env(shared)), base_url="http://localhost:8000"
            ) as here,
            httpx.AsyncClient(base_url=other_process.url, headers=HTML) as there,
        ):

            async def status(path: str, token: str) -> int:
                there.cookies.set("relay_session", token)
                return (await there.get(path)).status_code

            async def as_admin(path: str, data: dict[str, str]) -> None:
                here.cookies.set("relay_session", await create_session(admin.id, fresh=True))
                headers = {**(await csrf(here, "/signin", accept=JSON)), **HTML}
                assert (await here.post(path, data=data, headers=headers)).status_code == 200

            # The other process reads the employee's session once and keeps it.
            assert [await status("/me", phone) for _ in range(3)] == [200, 200, 200]
            assert await status("/studio", phone) == 403

            await as_admin(f"/admin/people/{employee.id}/role", {"role": "editor"})
            assert await status("/studio", phone) == 200
            await as_admin(f"/admin/people/{employee.id}/role", {"role": "employee"})
            assert await status("/studio", phone) == 403

            # The employee signs out everywhere from this process: the other forgets both.
            here.cookies.set("relay_session", laptop)
            headers = {**(await csrf(here, "/me", accept=JSON)), **HTML}
            await here.post("/me/signout-everywhere", headers=headers)
            assert await status("/me", phone) == 303

            fresh = await create_session(employee.id)
            assert [await status("/me", fresh) for _ in range(2)] == [200, 200]
            await as_admin(f"/admin/people/{employee.id}/deactivate", {})
            assert await status("/me", fresh) == 303
    finally:
        other_process.stop()
