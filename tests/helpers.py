"""What many test modules do the same way: headers, CSRF tokens, signing in, waiting, applying.

Test modules import from here, `tests.factories` (rows), `tests.browser` (Chromium) and the
real protocol partners (`tests.push_sink`, `tests.soft_authenticator`), never from each other;
fixtures live in `tests/conftest.py`. `tests/test_suite_layout.py` keeps it so.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from email import message_from_bytes
from email.message import Message
from typing import Any

import httpx
from litestar.testing import AsyncTestClient

from app.accounts.tables import Member
from app.core.settings import Settings
from tests.databases import ROOT
from tests.factories import make_member, session_cookie

HTML = {"accept": "text/html"}
JSON = {"accept": "application/json"}
HTMX = {**HTML, "hx-request": "true"}
# A phone's browser, for the public pages a candidate opens from a shared link.
PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
)
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
# A complete application form, as a candidate fills it.
GOOD = {
    "name": "Jeanne Durand",
    "email": "jeanne.durand@example.org",
    "phone": "+33 6 12 34 56 78",
    "linkedin": "https://www.linkedin.com/in/jeanne-durand",
    "message": "I'd love to join.",
    "consent": "yes",
}
# A friend, as a member recommends them.
FRIEND = {
    "name": "Paul Lefèvre",
    "email": "Paul.Lefevre@example.org",
    "message": "We built the billing system together.",
}


# --- CSRF ------------------------------------------------------------------------------------


def csrf_token_of(html: str) -> str:
    """The token a page gives htmx (on `<body hx-headers>`), for the `x-csrftoken` header."""
    match = re.search(r'hx-headers=\'\{"x-csrftoken": "([^"]+)"\}\'', html)
    assert match, "the page carries no CSRF token for htmx"
    return match.group(1)


def form_token(html: str) -> str:
    """The token a page's form carries in its hidden `_csrf_token` field."""
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


async def csrf(
    client: AsyncTestClient,  # type: ignore[type-arg]
    path: str = "/",
    accept: Mapping[str, str] | None = HTML,
) -> dict[str, str]:
    """Headers for a script's POST: the CSRF token the page at ``path`` gives, and the
    ``accept`` header to send with it (none when ``accept`` is None)."""
    page = await client.get(path, headers=HTML)
    return {"x-csrftoken": csrf_token_of(page.text), **(accept or {})}


# --- Signing in ------------------------------------------------------------------------------


async def sign_in(client: AsyncTestClient, role: str = "employee", **fields: object):  # type: ignore[type-arg, no-untyped-def]
    """Sign a test client in as a new member of that role; returns the member."""
    member = await make_member(role=role, **fields)  # type: ignore[arg-type]
    name, value = await session_cookie(member)
    client.cookies.set(name, value)
    return member


async def as_member(client: AsyncTestClient, member_id: int) -> None:  # type: ignore[type-arg]
    """The client, signed out of whoever it was and in as an existing member."""
    member = await Member.objects().where(Member.id == member_id).first()
    assert member is not None
    client.cookies.clear()
    name, value = await session_cookie(member)
    client.cookies.set(name, value)


def figure(html: str, key: str) -> str:
    """The text of a page's figure marked ``data-figure="key"`` (the insights pages)."""
    match = re.search(rf'data-figure="{key}">([^<]*)<', html)
    assert match is not None, key
    return match.group(1).strip()


# --- Waiting ---------------------------------------------------------------------------------


def eventually(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Wait until ``condition`` holds, for effects a test cannot await: rows another process
    writes, the visit buffer's next write. Polls every 50 ms; fails after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


async def all_recorded(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    """Wait until the app's visit buffer has written everything it was given."""
    recorder = client.app.state.visits
    for _ in range(1000):
        if recorder.idle:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("visits were not written")


# --- A candidate's and a member's forms ------------------------------------------------------


async def open_link(
    client: AsyncTestClient,  # type: ignore[type-arg]
    code: str,
    user_agent: str = PHONE,
    beacon: bool = True,
    address: str | None = None,
) -> httpx.Response:
    """What a browser does: load the page, then its beacon posts the page's token back
    (from ``address``: a client of :func:`tests.reverse_proxy.client_behind_proxy`)."""
    forwarded = {"x-forwarded-for": address} if address else {}
    page = await client.get(f"/r/{code}", headers={**HTML, "user-agent": user_agent, **forwarded})
    assert page.status_code == 200
    token = re.search(r'data-beacon-token="([^"]+)"', page.text)
    if beacon and token:
        seen = await client.post(
            f"/r/{code}/seen",
            data={"token": token.group(1)},
            headers={"user-agent": user_agent, "sec-fetch-site": "same-origin", **forwarded},
        )
        assert seen.status_code == 204
    return page


async def apply(
    client: AsyncTestClient,  # type: ignore[type-arg]
    code: str,
    fields: dict[str, str],
    cv: tuple[str, bytes, str] | None = ("cv.pdf", PDF, "application/pdf"),
):  # type: ignore[no-untyped-def]
    """A candidate opens a shared link and applies with ``fields`` (and a CV)."""
    page = await client.get(f"/r/{code}", headers={**HTML, "user-agent": PHONE})
    data = {"_csrf_token": form_token(page.text), **fields}
    files = {"cv": cv or ("", b"", "application/octet-stream")}
    return await client.post(
        f"/r/{code}/apply",
        data=data,
        files=files,
        headers={"user-agent": PHONE, "hx-request": "true"},
    )


async def recommend(
    client: AsyncTestClient,  # type: ignore[type-arg]
    item_id: int,
    fields: dict[str, str],
):  # type: ignore[no-untyped-def]
    """The signed-in member recommends a friend (``fields``: a name, why them, and an
    email address when Relay can send mail) for an offer."""
    page = await client.get(f"/items/{item_id}/recommend", headers=HTML)
    assert page.status_code == 200
    return await client.post(
        f"/items/{item_id}/recommend",
        data={"_csrf_token": form_token(page.text), **fields},
        headers={"hx-request": "true"},
    )


async def answer_recommendation(
    client: AsyncTestClient,  # type: ignore[type-arg]
    path: str,
    fields: dict[str, str],
):  # type: ignore[no-untyped-def]
    """The recommended friend opens their link (``path``) and sends their details with a CV."""
    page = await client.get(path, headers=HTML)
    assert page.status_code == 200, page.text
    return await client.post(
        path,
        data={"_csrf_token": form_token(page.text), **fields},
        files={"cv": ("paul.pdf", PDF, "application/pdf")},
        headers={"hx-request": "true"},
    )


async def create_in_studio(
    client: AsyncTestClient,  # type: ignore[type-arg]
    fields: dict[str, str | list[str]],
    image: tuple[str, bytes, str] | None = None,
    kind: str = "story",
    video: tuple[str, bytes, str] | None = None,
) -> tuple[int, str]:
    """The signed-in editor creates an item in the studio: (status, location or body)."""
    headers = await csrf(client, "/studio")
    files = {"image": image or ("", b"", "application/octet-stream")}
    if video:
        files["video"] = video
    data: dict[str, str | list[str]] = {"kind": kind, **fields}
    response = await client.post(
        f"/studio/new?kind={kind}", data=data, files=files, headers=headers, follow_redirects=False
    )
    return response.status_code, response.headers.get("location", "") or response.text


# --- Processes and ports ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_relay(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The `relay` command line (`python -m app`), run to its end."""
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- Mail ------------------------------------------------------------------------------------


class Mailbox:
    """What a real SMTP server (aiosmtpd, on its own thread) received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._arrived:
            self.messages.append(message_from_bytes(envelope.content))
            self._arrived.notify_all()
        return "250 OK"

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[Message]:
        """Block until ``count`` messages arrived (from sync code: browser tests)."""
        with self._arrived:
            assert self._arrived.wait_for(lambda: len(self.messages) >= count, timeout), (
                f"{len(self.messages)} of {count} messages arrived"
            )
            return list(self.messages)


def mail_settings(env: dict[str, str], port: int, **more: str) -> Settings:
    """Settings with mail through 127.0.0.1:port, and no embedded sender: the test itself
    runs the sender (app.mail.service.deliver_due), on SQLite and PostgreSQL alike."""
    return Settings.from_env(
        {
            **env,
            "SMTP_URL": f"smtp://127.0.0.1:{port}",
            "MAIL_FROM": "Relay <relay@example.com>",
            "RELAY_EMBEDDED_WORKER": "off",
            **more,
        }
    )
