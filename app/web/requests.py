"""Small accessors every route module uses to reach the app's shared objects."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar.plugins.htmx import HTMXRequest

from app.core.settings import Settings
from app.web.forwarded import client_address
from app.web.ratelimit import RateLimiter

# Every request is an HTMXRequest (HTMXPlugin, in create_app): ``request.htmx`` says what htmx
# asked for. ``request.user`` is the signed-in Member or None (app.accounts.sessions).
AnyRequest = HTMXRequest


def settings_of(request: AnyRequest) -> Settings:
    return request.app.state.settings


def limiter_of(request: AnyRequest) -> RateLimiter:
    return request.app.state.limiter


# What a page shows of a later domain, read by the functions ``create_app`` puts in
# ``app.state`` (app.shell.compose): neither this layer nor the domains import a later one.


async def time_zone_of(request: AnyRequest) -> str:
    """The signed-in member's time zone."""
    return str(await request.app.state.time_zone_of(request.user.id))


async def person_points(request: AnyRequest, member_id: int) -> dict[str, Any]:
    """What the admin's page on a person shows of their points."""
    return dict(await request.app.state.person_points(member_id))


async def event_of_item(request: AnyRequest, item_id: int) -> dict[str, Any] | None:
    """The event an item of kind ``event`` stands for, with its time and place (the page
    behind a tracked link shows them)."""
    event = await request.app.state.event_of_item(item_id)
    return dict(event) if event is not None else None


async def sso_choices(request: AnyRequest) -> list[dict[str, Any]]:
    """The single sign-on buttons of the sign-in page (app.integrations.oidc): each configured
    identity provider, with a sentence when it is not working."""
    choices = request.app.state.get("sso_choices")
    return list(await choices()) if choices is not None else []


async def sso_required(request: AnyRequest) -> bool:
    """Whether an admin requires single sign-on: invitations then send no enrolment link."""
    required = request.app.state.get("sso_required")
    return bool(await required()) if required is not None else False


def client_of(request: AnyRequest) -> str:
    """The client's address, the one every rate limit, visitor hash and audit line uses:
    the socket's peer, or behind a proxy in FORWARDED_ALLOW_IPS the address it forwarded."""
    peer = request.client.host if request.client else ""
    trusted = settings_of(request).forwarded_allow_ips
    if not trusted:
        return peer
    headers = request.headers
    return client_address(
        peer, trusted, headers.getall("x-forwarded-for", []), headers.getall("forwarded", [])
    )


def safe_next(target: str | None, default: str = "/") -> str:
    """A same-site path to go to after signing in; never a URL taken from the request."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
