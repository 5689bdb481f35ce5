"""Small accessors every route module uses to reach the app's shared objects."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request

from app.core.settings import Settings
from app.web.ratelimit import RateLimiter

AnyRequest = Request[Any, Any, Any]


def settings_of(request: AnyRequest) -> Settings:
    return request.app.state.settings


def limiter_of(request: AnyRequest) -> RateLimiter:
    return request.app.state.limiter


def client_of(request: AnyRequest) -> str:
    return request.client.host if request.client else ""


def is_htmx(request: AnyRequest) -> bool:
    return request.headers.get("hx-request") == "true"


def safe_next(target: str | None, default: str = "/") -> str:
    """A same-site path to go to after signing in; never a URL taken from the request."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
