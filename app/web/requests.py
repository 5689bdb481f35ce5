"""Small accessors every route module uses to reach the app's shared objects."""

from __future__ import annotations

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
