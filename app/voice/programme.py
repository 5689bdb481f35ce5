"""What the admin sets for the employees' voice: the programme team's contact address and
the employer-review sites the company is on.

Review sites are links and nothing more: Relay never asks what a member wrote there, never
stores it and gives no points for it (paying or rewarding reviews breaks those sites' rules).
"""

from __future__ import annotations

from typing import Any

from app.core.cache import TTLMap
from app.core.db import write_transaction
from app.core.forms import FormResult
from app.core.i18n import _
from app.core.validation import https_url
from app.voice.tables import ProgrammeContact, ReviewSite

MAX_SITES = 10
NAME_MAX = 80
URL_MAX = 500


async def contact_email() -> str:
    row = await ProgrammeContact.select(ProgrammeContact.email).first()
    return row["email"] if row else ""


# The review sites, kept per process: the feed shows them on every first page. A change shows
# at once in the process that made it, within this many seconds in the others.
SITES_KEPT_S = 15.0
_kept_sites: TTLMap[str, list[dict[str, Any]]] = TTLMap(ttl_s=SITES_KEPT_S, max_size=1)


async def review_sites() -> list[dict[str, Any]]:
    kept = _kept_sites.get("sites")
    if kept is None:
        # Written out (bench/voice.py; Piccolo's builder cost more than the query).
        sql = "SELECT id, name, url FROM review_site ORDER BY position"
        kept = _kept_sites.put("sites", await ReviewSite.raw(sql))
    return [dict(site) for site in kept]


def sites_text(sites: list[dict[str, Any]]) -> str:
    return "\n".join(f"{s['name']} | {s['url']}" for s in sites)


def check_settings(data: dict[str, Any]) -> FormResult:
    """The admin's form: a contact address (or none) and review sites, one a line as
    "Name | https://address"."""
    form = FormResult.of(data)
    form.email(
        "contact_email",
        message=_("Enter an email address such as ambassadors@example.com, or leave it empty."),
    )
    sites: list[tuple[str, str]] = []
    problems: list[str] = []  # every line's problem at once, in one sentence list
    lines = [line.strip() for line in form.raw("review_sites").splitlines() if line.strip()]
    if len(lines) > MAX_SITES:
        problems.append(_("List at most 10 review sites."))
    for number, line in enumerate(lines[:MAX_SITES], start=1):
        name, bar, url = (part.strip() for part in line.partition("|"))
        if not bar or not name or not url:
            problems.append(
                _("Line %(num)d: write the site's name, a bar, then its address.") % {"num": number}
            )
            continue
        if len(name) > NAME_MAX:
            problems.append(_("Line %(num)d: keep the name under 80 characters.") % {"num": number})
        parts = https_url(url)
        if parts is None or not parts.hostname or len(url) > URL_MAX:
            problems.append(
                _("Line %(num)d: the address must start with https:// and name a site.")
                % {"num": number}
            )
        sites.append((name, url))
    if problems:
        form.fail("review_sites", " ".join(problems))
    form.values["sites"] = sites
    form.values["review_sites"] = form.raw("review_sites")
    return form


async def save_settings(checked: FormResult) -> None:
    async with write_transaction():
        row = await ProgrammeContact.select(ProgrammeContact.id).first()
        email = checked.values["contact_email"]
        if row is None:
            await ProgrammeContact.insert(ProgrammeContact(email=email))
        else:
            await ProgrammeContact.update({ProgrammeContact.email: email}).where(
                ProgrammeContact.id == row["id"]
            )
        await ReviewSite.delete(force=True)
        sites = [
            ReviewSite(name=name, url=url, position=position)
            for position, (name, url) in enumerate(checked.values["sites"])
        ]
        if sites:
            await ReviewSite.insert(*sites)
    _kept_sites.clear()
