"""Employees browsing Relay under Locust: run by bench/loadtest.py (``make loadtest``).

Each simulated employee holds a session cookie made by Relay's own session code
(bench/loadtest.py writes them to ``RELAY_LOADTEST_SESSIONS``), picks one of the web
processes (``RELAY_LOADTEST_HOSTS``), and then, with a short think time: opens the feed,
scrolls to its next page, opens an item, shares it (as share.js does once a share
completed) and looks at their points. What each share answered is written to
``RELAY_LOADTEST_SHARES`` at the end, for the check that nothing was lost or doubled.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from typing import Any

from locust import HttpUser, between, events, task

HOSTS = os.environ.get("RELAY_LOADTEST_HOSTS", "").split()
SESSIONS: list[str] = json.loads(open(os.environ["RELAY_LOADTEST_SESSIONS"]).read())  # noqa: SIM115
_next_session = itertools.count()
SHARED: list[dict[str, Any]] = []  # every share answered: member's token index, item, recorded

ITEM = re.compile(r'href="/items/(\d+)"')
MORE = re.compile(r'hx-get="(/\?after=[^"]+)"')
CSRF = re.compile(r'"x-csrftoken": "([0-9a-f]+)"')


class Employee(HttpUser):
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        self.index = next(_next_session) % len(SESSIONS)
        self.base = HOSTS[self.index % len(HOSTS)] if HOSTS else ""
        self.client.headers.update(
            {"Accept": "text/html", "Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
        )
        self.client.cookies.set("relay_session", SESSIONS[self.index])
        self.items: list[int] = []
        self.more: str | None = None
        self.csrf = ""
        self.feed()

    def _page(self, path: str, name: str, **headers: str) -> str:
        with self.client.get(
            self.base + path, name=name, headers=headers, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} on {path}")
                return ""
            token = CSRF.search(response.text)
            if token:
                self.csrf = token.group(1)
            return response.text

    @task(4)
    def feed(self) -> None:
        html = self._page("/", "feed")
        self.items = [int(i) for i in ITEM.findall(html)] or self.items
        more = MORE.search(html)
        self.more = more.group(1).replace("&amp;", "&") if more else None

    @task(2)
    def scroll(self) -> None:
        if self.more:
            self._page(self.more, "feed, next page", **{"HX-Request": "true"})

    @task(3)
    def item(self) -> None:
        if self.items:
            self._page(f"/items/{random.choice(self.items)}", "item")

    @task(2)
    def share(self) -> None:
        if not self.items or not self.csrf:
            return
        item = random.choice(self.items)
        network = random.choice(["native", "linkedin"])
        with self.client.post(
            f"{self.base}/items/{item}/shares",
            name="share",
            json={"network": network},
            headers={"x-csrftoken": self.csrf, "Accept": "application/json"},
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:120]}")
                return
            SHARED.append(
                {
                    "session": self.index,
                    "item": item,
                    "network": network,
                    "recorded": response.json()["recorded"],
                }
            )

    @task(2)
    def points(self) -> None:
        self._page("/me/points", "points")


@events.quitting.add_listener
def _write_shares(environment: Any, **_kwargs: Any) -> None:
    path = os.environ.get("RELAY_LOADTEST_SHARES")
    if path:
        with open(path, "w") as out:
            json.dump(SHARED, out)
