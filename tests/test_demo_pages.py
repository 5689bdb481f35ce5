"""Every page renders with the demo organisation loaded, for each demo role."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from piccolo.table import Table

from app.accounts.tables import Member
from app.candidates.tables import Candidate
from app.content.demo import load_demo_content
from app.content.tables import ContentItem
from app.core.settings import Settings
from app.demo import load_demo, load_demo_activity
from app.notifications.tables import Campaign
from app.points.tables import Challenge, Level
from app.rewards.demo import load_demo_rewards
from app.rewards.tables import Redemption, Reward
from app.sharing.tables import ShareLink
from tests.factories import session_cookie
from tests.helpers import HTML


async def test_every_page_renders_with_the_demo_data_for_every_role(
    client: AsyncTestClient,
) -> None:
    assert await load_demo()
    plain_paths = sorted(
        {
            route.path
            for route in client.app.routes  # type: ignore[attr-defined]
            if isinstance(route, HTTPRoute)
            and "{" not in route.path
            and any("GET" in h.http_methods for h in route.route_handlers)
            # SCIM and the ATS's API answer integrations' tokens, never a session
            # (tests/test_integrations_scim.py, tests/test_integrations_api.py).
            and not route.path.startswith(("/scim", "/api/"))
            # Reached only from an identity provider, with the state of a sign-in under way.
            and route.path != "/signin/sso/callback"
        }
    )
    people = await Member.objects().order_by(Member.id)
    person_paths = [f"/admin/people/{m.id}" for m in people]
    for email in ["admin@demo.relay", "editor@demo.relay", "lea.martin@demo.relay"]:
        member = next(m for m in people if m.email == email)
        name, value = await session_cookie(member)
        client.cookies.clear()
        client.cookies.set(name, value)
        for path in [*plain_paths, *person_paths]:
            response = await client.get(path, headers=HTML)
            assert response.status_code in {200, 403}, f"{email} GET {path}: {response.status_code}"
            if member.role == "admin":
                assert response.status_code == 200, f"{email} GET {path}"


# Labels whose French differs from the English: seen on a French page, they are untranslated.
ENGLISH_LABELS = [
    "Permanent",
    "Fixed-term",
    "Internship",
    "Apprenticeship",
    "Hybrid",
    "Fully remote",
    "On site",
    "Remote work",
    "Level",
    "Share",
    "Salary",
    "Contract",
    "Where",
    "Draft",
    "Published",
    "Scheduled",
    "Expired",
    "Archived",
    "requested",
    "approved",
    "delivered",
    "rejected",
    "since",
    "Until",
]
ENGLISH_NUMBER = re.compile(r"\d,\d{3}\b")  # 48,000: French groups with a (narrow) space
# French puts a non-breaking space before : ; ! ? (a word glued to its colon, or an ordinary
# space, is English typography); times (14:30) and addresses (https://) are not text.
GLUED_PUNCTUATION = re.compile(r"[^\W\d_][:;!?](?:\s|$)|[^\W\d_] [:;!?](?:\s|$)")
SPOKEN_ATTRIBUTES = {"aria-label", "title", "alt", "placeholder"}


class FrenchText(HTMLParser):
    """The text a French reader sees or hears: what is not in a script, a style, or an
    element written in another language (an English story in the feed, say)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []

    @property
    def foreign(self) -> bool:
        return any(skip for _tag, skip in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        lang = values.get("lang")
        skip = tag in {"script", "style", "code"} or (lang is not None and lang != "fr")
        if tag not in VOID_ELEMENTS:
            self.stack.append((tag, skip))
        if not (self.foreign or skip):
            self.parts.extend(v for k, v in attrs if k in SPOKEN_ATTRIBUTES and v)

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.foreign:
            self.parts.append(data)


VOID_ELEMENTS = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


def french_problems(page: str, foreign: list[str]) -> list[str]:
    """What is English on a French page, but for the text of ``foreign`` (what people wrote
    in English, shown as it is: a story's title in the studio's list)."""
    reader = FrenchText()
    reader.feed(page)
    problems = []
    for text in reader.parts:
        shown = text.strip()
        if any(written in shown or (len(shown) > 25 and shown in written) for written in foreign):
            continue
        for label in ENGLISH_LABELS:
            if re.search(rf"(?<![\w-]){re.escape(label)}(?![\w-])", text):
                problems.append(f"English {label!r} in {text.strip()[:80]!r}")
        if ENGLISH_NUMBER.search(text):
            problems.append(f"English number in {text.strip()[:80]!r}")
        if GLUED_PUNCTUATION.search(text):
            problems.append(f"punctuation without its non-breaking space in {text.strip()[:80]!r}")
    return problems


async def demo_ids() -> dict[str, list[Any]]:
    """Real values for each path parameter, from the demo data: every item, one of the rest."""

    async def ids(table: type[Table], **where: Any) -> list[Any]:
        query = table.select(table._meta.primary_key).order_by(table._meta.primary_key)
        for column, value in where.items():
            query = query.where(getattr(table, column) == value)
        return [row["id"] for row in await query]

    def first(values: list[Any]) -> list[Any]:
        return values[:1] or [999_999]

    lea = await Member.objects().where(Member.email == "lea.martin@demo.relay").first()
    assert lea is not None
    return {
        "item_id": await ids(ContentItem),
        "member_id": [lea.id],
        "reward_id": first(await ids(Reward)),
        "redemption_id": first(await ids(Redemption)),
        "campaign_id": first(await ids(Campaign)),
        "candidate_id": first(await ids(Candidate)),
        "level_id": first(await ids(Level)),
        "challenge_id": first(await ids(Challenge)),
        "code": [row["code"] for row in await ShareLink.select(ShareLink.code)],
        "network": ["linkedin"],
    }


def concrete_paths(path: str, values: dict[str, list[Any]]) -> list[str]:
    """The path with each parameter replaced by each of its demo values (an empty list when a
    parameter has no demo value: a token, a file name)."""
    match = re.search(r"\{(\w+):\w+\}", path)
    if not match:
        return [path]
    choices = values.get(match.group(1), [])
    return [
        concrete
        for value in choices
        for concrete in concrete_paths(path.replace(match.group(0), str(value), 1), values)
    ]


async def test_every_page_in_french_shows_french_labels_numbers_and_punctuation(
    client: AsyncTestClient, settings: Settings
) -> None:
    assert await load_demo()
    assert await load_demo_rewards(settings.data_dir)
    assert await load_demo_content(settings.data_dir)
    await load_demo_activity(settings.data_dir)
    values = await demo_ids()
    foreign = [
        text
        for row in await ContentItem.select().where(ContentItem.language != "fr")
        for text in (row["title"], row["body"], *json.loads(row["captions"] or "{}").values())
        for text in ([text] if isinstance(text, str) else text)
    ] + [text for row in await Reward.select() for text in (row["name"], row["description"])]
    paths = sorted(
        {
            concrete
            for route in client.app.routes  # type: ignore[attr-defined]
            if isinstance(route, HTTPRoute)
            and any("GET" in h.http_methods for h in route.route_handlers)
            and not route.path.startswith(("/static", "/media", "/share-images", "/scim", "/api/"))
            for concrete in concrete_paths(route.path, values)
        }
    )
    assert any(p.startswith("/r/") for p in paths) and any(p.startswith("/items/") for p in paths)
    people = await Member.objects().order_by(Member.id)
    problems: dict[str, list[str]] = {}
    for email in [None, "admin@demo.relay", "lea.martin@demo.relay"]:
        client.cookies.clear()
        client.cookies.set("relay_lang", "fr")
        if email:
            member = next(m for m in people if m.email == email)
            assert member.language == "fr"
            name, value = await session_cookie(member)
            client.cookies.set(name, value)
        for path in paths:
            response = await client.get(path, headers=HTML)
            if "text/html" not in response.headers.get("content-type", "") or (
                response.url.path != path  # sent to sign in: seen once is enough
            ):
                continue
            found = french_problems(response.text, foreign)
            if found:
                problems[f"{email or 'anonymous'} {path}"] = sorted(set(found))
    assert not problems, "\n".join(f"{page}: {found}" for page, found in problems.items())
