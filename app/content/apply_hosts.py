"""The hosts an offer's apply link may point to, as admins set them."""

from __future__ import annotations

import re

from app.content.tables import (
    ApplyHost,
)
from app.core.db import write_transaction
from app.core.i18n import _
from app.core.validation import host_of, https_url

# ---------------------------------------------------------------- apply hosts


HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


async def allowed_apply_hosts() -> list[str]:
    return [r["host"] for r in await ApplyHost.select(ApplyHost.host).order_by(ApplyHost.host)]


def parse_hosts(text: str) -> tuple[list[str], list[str]]:
    """(hosts, refused): one host a line or separated by commas or spaces."""
    hosts, refused = [], []
    for raw in re.split(r"[\s,]+", text or ""):
        host = raw.strip().lower().rstrip(".")
        if not host:
            continue
        if "://" in host:
            host = host_of(host)
        if HOST.match(host):
            if host not in hosts:
                hosts.append(host)
        else:
            refused.append(raw)
    return hosts, refused


async def save_apply_hosts(hosts: list[str]) -> None:
    async with write_transaction():
        await ApplyHost.delete(force=True)
        if hosts:
            await ApplyHost.insert(*(ApplyHost(host=h) for h in hosts))


def apply_url_problem(url: str, hosts: list[str]) -> str | None:
    parts = https_url(url)
    if parts is None or not parts.hostname:
        return _("Enter an https:// address.")
    if parts.hostname.lower() not in hosts:
        if not hosts:
            return _(
                "No application site is allowed yet: an admin can add one under Application sites."
            )
        return _("This site is not among those an admin allowed: %(hosts)s.") % {
            "hosts": ", ".join(hosts)
        }
    return None
