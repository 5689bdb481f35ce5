"""Hostile values in every path parameter, query, form field and JSON body, for each role:
Relay answers a sentence or a refusal, never a 5xx.

The walk is built like the role walk in test_accounts.py: routes come from the app's route
table, and the forms are those the pages really render (parsed from each page the walk
reaches), so a new route or a new field is fuzzed without touching this file.
"""

from __future__ import annotations

import json
import random
import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from litestar import Litestar
from litestar.enums import RequestEncodingType
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from app.accounts.sessions import create_session
from app.accounts.tables import Member
from app.content.demo import load_demo_content
from app.content.tables import ContentItem
from app.core.settings import Settings
from app.demo import load_demo, load_demo_activity
from app.sharing.service import link_code
from tests.factories import make_member
from tests.helpers import HTML

ROLES = ["anonymous", "employee", "editor", "admin"]

# Every form field gets the values that broke something once, and two more of the rest,
# chosen by a generator seeded with the field's name (the same ones on every run).
HOSTILE_TEXT = [
    "\x00",
    "²",
    "9" * 5000,
    "99999999999999999999",
    "https://[",
    "0001-01-01T00:00+14:00",
    "\u202eevil\u202c",
]
HOSTILE_MORE = [
    "Léa\x00Martin",
    "٣",
    "-1",
    "9999-12-31T23:59-14:00",
    "x" * 20_000,
    "",
    "NaN",
    '=HYPERLINK("http://x")',
    "{{ 7 * 7 }}",
]
HOSTILE_INT_PATH = ["99999999999999999999", "2147483648", "-1", "%C2%B2"]
HOSTILE_STR_PATH = ["%00", "x" * 600, "%C2%B2", "%FF%FE"]
HOSTILE_QUERY = ["%00", "99999999999999999999", "%C2%B2", "https://[", "0001-01-01T00:00%2B14:00"]
QUERY_NAMES = [
    "q", "after", "before", "kind", "tag", "month", "screen", "saved", "period", "item",
    "state", "status", "scope", "bye", "next", "by", "cursor", "page", "team", "site",
    "stage", "role", "welcome", "added", "source",
]  # fmt: skip
JSON_KEYS = [
    "credential", "ceremony", "next", "network", "endpoint", "old_endpoint", "subscription",
    "keys", "p256dh", "auth", "id", "name", "token",
]  # fmt: skip


def json_bodies() -> list[bytes]:
    deep = 5000
    bodies = [
        b"[" * deep + b"]" * deep,
        b'{"a":' * deep + b"1" + b"}" * deep,
        b"not json",
        b"\xff\xfe",
        b"[]",
        b"null",
        b'"\\u0000"',
        b"1e999999",
    ]
    for value in ["\x00", "²", "9" * 5000, "https://[", -1, 10**20, None, [], {}, 1.5]:
        body: dict[str, Any] = dict.fromkeys(JSON_KEYS, value)
        body["credential"] = {"id": value, "rawId": value, "type": value, "response": {}}
        body["subscription"] = {"endpoint": value, "keys": {"p256dh": value, "auth": value}}
        bodies.append(json.dumps(body).encode())
    return bodies


@dataclass
class Form:
    action: str
    method: str
    multipart: bool
    fields: dict[str, str] = field(default_factory=dict)


class FormParser(HTMLParser):
    """The forms a page renders: action, method, encoding and each named field's value."""

    def __init__(self, page_path: str) -> None:
        super().__init__()
        self.page_path = page_path
        self.forms: list[Form] = []
        self.links: list[str] = []
        self.csrf = ""
        self._form: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "hx-headers" in a and not self.csrf:
            match = re.search(r'"x-csrftoken": "([^"]+)"', a["hx-headers"])
            self.csrf = match.group(1) if match else ""
        for attr in ("href", "hx-get"):
            if a.get(attr, "").startswith("/"):
                self.links.append(a[attr])
        if tag == "form":
            self._form = Form(
                action=a.get("action") or self.page_path,
                method=(a.get("method") or "get").upper(),
                multipart=a.get("enctype") == "multipart/form-data",
            )
            self.forms.append(self._form)
        elif self._form is None or not a.get("name"):
            if tag == "option" and self._form and self._select:
                self._form.fields.setdefault(self._select, a.get("value", ""))
            return
        elif tag == "input" and a.get("type") not in {"file", "submit", "button"}:
            if a.get("type") in {"checkbox", "radio"} and "checked" not in a:
                self._form.fields.setdefault(a["name"], "")
            else:
                self._form.fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a["name"]
        elif tag == "textarea":
            self._textarea = a["name"]
            self._form.fields[a["name"]] = ""

    def handle_data(self, data: str) -> None:
        if self._form and self._textarea:
            self._form.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def route_patterns(app: Litestar) -> list[tuple[str, re.Pattern[str], set[str]]]:
    """(path, regex matching its concrete URLs, methods) for every route."""
    patterns = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        methods = set().union(*(h.http_methods for h in route.route_handlers)) - {"HEAD", "OPTIONS"}
        regex = re.sub(
            r"\{(\w+):(\w+)\}", lambda m: ".+" if m[2] == "path" else "[^/]+", route.path
        )
        patterns.append((route.path, re.compile(f"^{regex}$"), methods))
    return patterns


def json_routes(app: Litestar) -> list[str]:
    """Paths of the POST handlers that read a JSON body."""
    paths = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            data = handler.parsed_fn_signature.parameters.get("data")
            if "POST" not in handler.http_methods or data is None:
                continue
            media = getattr(data.kwarg_definition, "media_type", RequestEncodingType.JSON)
            if media == RequestEncodingType.JSON:
                paths.append(route.path)
    return paths


def fill(path: str, value: str) -> str:
    return re.sub(r"\{\w+:\w+\}", value, path)


class Walk:
    def __init__(self, client: AsyncTestClient) -> None:  # type: ignore[type-arg]
        self.client = client
        self.app: Litestar = client.app  # type: ignore[assignment]
        self.patterns = route_patterns(self.app)
        self.requests = 0
        self.counts: dict[str, int] = {}
        self.failures: list[str] = []
        self.who = "anonymous"
        self.member: Member | None = None
        self.csrf = ""

    def pattern_of(self, url: str) -> str | None:
        path = urlsplit(url).path
        for route_path, regex, _methods in self.patterns:
            if regex.match(path):
                return route_path
        return None

    async def as_role(self, who: str, member: Member | None) -> None:
        self.who, self.member = who, member
        await self.refresh()

    async def refresh(self) -> None:
        """A live session for this role again: a form may sign out or demote its sender."""
        self.client.cookies.clear()
        if self.member is not None:
            await Member.update({Member.active: True, Member.role: self.member.role}).where(
                Member.id == self.member.id
            )
            self.client.cookies.set("relay_session", await create_session(self.member.id))
        page = await self.client.get("/signin" if self.member is None else "/me", headers=HTML)
        match = re.search(r'"x-csrftoken": "([^"]+)"', page.text)
        self.csrf = match.group(1) if match else ""

    async def send(self, method: str, url: str, what: str, **kwargs: Any) -> Any:
        headers = {"x-csrftoken": self.csrf, **HTML, **kwargs.pop("headers", {})}
        self.requests += 1
        # Rate limits would answer 429 before the handler reads the hostile value.
        self.app.state.limiter.counter.entries.clear()
        kind = (
            what.split(" ")[0].split("=")[0]
            if what.startswith(("path", "query", "json"))
            else "form"
        )
        self.counts[kind] = self.counts.get(kind, 0) + 1
        response = await self.client.request(
            method, url, headers=headers, follow_redirects=False, **kwargs
        )
        if response.status_code >= 500:
            self.failures.append(
                f"{self.who} {method} {url[:120]} {what[:120]}: {response.status_code}"
            )
        return response

    async def crawl(self, seeds: list[str]) -> tuple[dict[str, str], list[Form]]:
        """One concrete URL per GET route reachable from the seeds, and the forms they render."""
        pages: dict[str, str] = {}
        seen: set[str] = set()
        forms: dict[tuple[str, str, tuple[str, ...]], Form] = {}
        queue = list(seeds)
        while queue:
            url = queue.pop(0)
            pattern = self.pattern_of(url)
            if pattern is None or pattern in seen or url.startswith(("/static/", "/media/")):
                continue
            seen.add(pattern)
            if url.startswith(("/signout", "/pipeline/")) and url.endswith((".csv", "/cv")):
                continue
            self.requests += 1
            response = await self.client.get(url, headers=HTML)
            if response.status_code >= 500:
                self.failures.append(f"{self.who} GET {url}: {response.status_code}")
            if response.status_code != 200 or "html" not in response.headers.get(
                "content-type", ""
            ):
                continue
            pages[pattern] = url
            parser = FormParser(urlsplit(url).path)
            parser.feed(response.text)
            queue += [link for link in parser.links if self.pattern_of(link) not in seen]
            for form in parser.forms:
                key = (form.method, self.pattern_of(form.action) or "", tuple(sorted(form.fields)))
                forms.setdefault(key, form)
        return pages, list(forms.values())

    async def fuzz_form(self, form: Form) -> None:
        await self.refresh()
        if form.method == "GET":
            for name in form.fields:
                for value in HOSTILE_TEXT:
                    await self.send(
                        "GET", form.action, f"{name}={value!r}", params={**form.fields, name: value}
                    )
            return
        for name in form.fields or {"": ""}:
            more = random.Random(f"{form.action}:{name}").sample(HOSTILE_MORE, 2)
            for value in [*HOSTILE_TEXT, *more]:
                values = {**form.fields, name: value} if name else form.fields
                if form.multipart:
                    files = {k: (None, v.encode()) for k, v in values.items()}
                    await self.send("POST", form.action, f"{name}={value[:40]!r}", files=files)
                else:
                    await self.send("POST", form.action, f"{name}={value[:40]!r}", data=values)
        # Bytes that are not UTF-8 in every text field, in both encodings a form can use.
        raw = {k: (None, b"\xff\xfe") for k in form.fields}
        await self.send(
            "POST", form.action, "multipart \\xff\\xfe", files=raw or {"x": (None, b"\xff")}
        )
        # … and as a browser without JS sends it: the token in the form, read by the CSRF check.
        raw["_csrf_token"] = (None, self.csrf.encode())
        await self.send(
            "POST", form.action, "multipart \\xff\\xfe, token in form", files=raw,
            headers={"x-csrftoken": ""},
        )  # fmt: skip
        body = "&".join(f"{k}=%FF%FE" for k in form.fields).encode()
        await self.send(
            "POST", form.action, "urlencoded %FF%FE", content=body,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )  # fmt: skip

    async def fuzz_paths(self) -> None:
        for route_path, _regex, methods in self.patterns:
            if "{" not in route_path:
                continue
            values = HOSTILE_INT_PATH if ":int}" in route_path else HOSTILE_STR_PATH
            for method in sorted(methods):
                for value in values:
                    await self.send(
                        method,
                        fill(route_path, value),
                        "path",
                        data={"x": "1"} if method == "POST" else None,
                    )

    async def fuzz_queries(self, pages: dict[str, str]) -> None:
        for url in pages.values():
            for value in HOSTILE_QUERY:
                query = "&".join(f"{name}={value}" for name in QUERY_NAMES[: 60_000 // len(value)])
                await self.send("GET", f"{urlsplit(url).path}?{query}", f"query {value[:30]}")

    async def fuzz_json(self, pages: dict[str, str]) -> None:
        for route_path in json_routes(self.app):
            concrete = next(
                (url for url in pages.values() if self.pattern_of(url) == route_path), None
            )
            url = concrete or fill(route_path, "1")
            await self.refresh()
            for body in json_bodies():
                await self.send(
                    "POST", url, f"json {body[:40]!r}", content=body,
                    headers={"content-type": "application/json", "accept": "application/json"},
                )  # fmt: skip


async def test_no_hostile_value_in_any_route_or_field_gets_a_server_error(
    client: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
) -> None:
    started = time.monotonic()
    assert await load_demo()
    await load_demo_content(settings.data_dir)
    await load_demo_activity(settings.data_dir)
    offer = await ContentItem.select(ContentItem.id).where(ContentItem.kind == "offer").first()
    sharer = await Member.select(Member.id).first()
    code = await link_code(sharer["id"], offer["id"])
    walk = Walk(client)
    all_forms: set[str] = set()
    plain = [path for path, _r, methods in walk.patterns if "{" not in path and "GET" in methods]
    rng = random.Random(16)
    fuzzed: set[tuple[str, str | None, tuple[str, ...]]] = set()
    for who in ROLES:
        member = None if who == "anonymous" else await make_member(role=who)
        await walk.as_role(who, member)
        pages, forms = await walk.crawl([*plain, f"/r/{code}", f"/r/{code}/apply"])
        rng.shuffle(forms)
        for form in forms:
            # A form is fuzzed by the first role that is shown it: the handler behind it is
            # the same for every role allowed to send it.
            key = (form.method, walk.pattern_of(form.action), tuple(sorted(form.fields)))
            all_forms.add(f"{form.method} {key[1]}")
            if key not in fuzzed:
                fuzzed.add(key)
                await walk.fuzz_form(form)
        if who in ("anonymous", "admin"):
            # Paths, queries and JSON bodies reach their handler for the role that may use
            # it: the public routes for anonymous visitors, every other route for an admin
            # (other roles only meet the guards there, which the role walk covers).
            await walk.refresh()
            await walk.fuzz_paths()
            await walk.fuzz_queries(pages)
            await walk.fuzz_json(pages)
    elapsed = time.monotonic() - started
    print(
        f"\nFUZZ walk: {walk.requests} requests, {len(all_forms)} forms, {elapsed:.1f} s",
        walk.counts,
    )
    assert not walk.failures, "\n".join(walk.failures)
    # The walk reaches the forms that matter most: a broken crawl must not pass silently.
    for form_route in [
        "POST /r/{code:str}/apply",
        "POST /campaigns",
        "POST /admin/people",
        "POST /admin/sso/providers",
    ]:
        assert form_route in all_forms, sorted(all_forms)
