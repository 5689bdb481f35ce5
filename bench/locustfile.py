"""The whole loop under Locust: run by bench/loadtest.py (``make loadtest``).

Three kinds of users, each on one of the web processes (``RELAY_LOADTEST_HOSTS``):

- **Employees**, each with a session cookie made by Relay's own session code
  (``RELAY_LOADTEST_SESSIONS``), with a short think time: open the feed, scroll to its next
  page, open an item, share it (as share.js does once a share completed), look at their points.
- **Candidates**, without a session: each round is a new person (a new address, browser and
  cookie jar) who opens one or two tracked links of the seeded shares
  (``RELAY_LOADTEST_LINKS``, built by app.sharing's link builder), sends the page's beacon as
  static/beacon.js does, and sometimes applies to an open offer with a small PDF CV (the
  page's multipart form, its CSRF token and cookie, consent ticked). The servers trust
  127.0.0.1 as their proxy (``FORWARDED_ALLOW_IPS``) and each person's address comes in
  ``X-Forwarded-For``, as behind a reverse proxy: every person is a distinct client for the
  rate limits and the click rules, and none is refused (a 429 is a failure here).
- **One editor** (``RELAY_LOADTEST_EDITOR``, an editor's session): opens the pipeline, moves
  candidates to another stage through the form the pipeline page posts (htmx, CSRF), and
  sends one push campaign to everyone through the campaigns form.

What each of them was answered (shares recorded, beacons accepted, applications accepted,
stage moves, the campaign) is written to ``RELAY_LOADTEST_ANSWERS`` at the end, for the check
that nothing was lost or doubled.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from datetime import UTC, datetime
from typing import Any

from locust import HttpUser, between, events, task

HOSTS = os.environ.get("RELAY_LOADTEST_HOSTS", "").split()
SESSIONS: list[str] = json.loads(open(os.environ["RELAY_LOADTEST_SESSIONS"]).read())  # noqa: SIM115
# The seeded shares' tracked links, as app.sharing builds them on the web processes in turn:
# {"url": "http://127.0.0.1:…/r/{code}", "code": …, "offer": bool} (an open offer: a form).
LINKS: list[dict[str, Any]] = json.loads(
    open(os.environ["RELAY_LOADTEST_LINKS"]).read()  # noqa: SIM115
)
EDITOR = os.environ.get("RELAY_LOADTEST_EDITOR", "")
_next_session = itertools.count()
_next_person = itertools.count(1)
# What each step was answered, for the check afterwards (bench/loadtest.py).
ANSWERS: dict[str, list[dict[str, Any]]] = {
    "shares": [],  # member's token index, item, network, recorded
    "beacons": [],  # code, address, user agent, UTC day: a beacon answered 204
    "applications": [],  # code, email: an application answered "sent"
    "moves": [],  # candidate, stage: a stage change answered with the candidate's new row
    "campaigns": [],  # the campaign's id, from where the form sent the editor
}

ITEM = re.compile(r'href="/items/(\d+)"')
MORE = re.compile(r'hx-get="(/\?after=[^"]+)"')
CSRF = re.compile(r'"x-csrftoken": "([0-9a-f]+)"')
FORM_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
BEACON = re.compile(r'data-beacon="([^"]+)" data-beacon-token="([^"]+)"')
OFFER = re.compile(r'href="/pipeline/(\d+)"')
STAGE_SELECT = re.compile(r'<select id="stage-(\d+)" name="stage"[^>]*>(.*?)</select>', re.S)
SELECTED = re.compile(r'<option value="(\w+)" selected>')
CAMPAIGN = re.compile(r"/campaigns/(\d+)$")

# Browsers candidates come with (never a preview's user agent: those are no clicks).
AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
)
# A one-page PDF (what cvs.cv_type recognises by content), about 400 bytes.
CV = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>endobj\n"
    b"4 0 obj<</Length 44>>stream\nBT /F1 12 Tf 72 770 Td (Curriculum vitae) Tj ET\n"
    b"endstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
APPLY_SHARE = 0.3  # of the offers' pages a candidate opens, how many lead to an application
# Where a candidate may go next from each stage (the way forward, now and then not selected).
NEXT_STAGES = {
    "new": ["contacted", "contacted", "not_selected"],
    "contacted": ["interview", "interview", "new"],
    "interview": ["offer", "not_selected", "contacted"],
    "offer": ["hired", "hired", "interview"],
    "hired": ["offer"],
    "not_selected": ["new"],
}


def _host(index: int) -> str:
    return HOSTS[index % len(HOSTS)] if HOSTS else ""


class SignedIn(HttpUser):
    """A member with a session cookie: pages read keep the CSRF token they carry."""

    abstract = True
    base = ""
    csrf = ""

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


class Employee(SignedIn):
    wait_time = between(0.2, 1.0)
    fixed_count = int(os.environ.get("RELAY_LOADTEST_EMPLOYEES", "40"))

    def on_start(self) -> None:
        self.index = next(_next_session) % len(SESSIONS)
        self.base = _host(self.index)
        self.client.headers.update(
            {"Accept": "text/html", "Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
        )
        self.client.cookies.set("relay_session", SESSIONS[self.index])
        self.items: list[int] = []
        self.more: str | None = None
        self.csrf = ""
        self.feed()

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
            ANSWERS["shares"].append(
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


class Candidate(HttpUser):
    """Someone who follows a shared link: a new person (address, browser, cookies) each round."""

    wait_time = between(0.5, 2.0)
    fixed_count = int(os.environ.get("RELAY_LOADTEST_CANDIDATES", "20"))

    def _new_person(self) -> None:
        self.person = next(_next_person)
        # One address each (10.0.0.1, 10.0.0.2…), passed on by the "proxy" (127.0.0.1).
        self.address = f"10.{self.person >> 16 & 255}.{self.person >> 8 & 255}.{self.person & 255}"
        self.agent = AGENTS[self.person % len(AGENTS)]
        self.client.cookies.clear()
        self.client.headers.clear()
        self.client.headers.update(
            {
                "User-Agent": self.agent,
                "X-Forwarded-For": self.address,
                "Accept": "text/html",
                "Accept-Encoding": "gzip",
                "Accept-Language": random.choice(["fr-FR,fr;q=0.9", "en-GB,en;q=0.8"]),
            }
        )

    @task
    def follow_links(self) -> None:
        self._new_person()
        applied = False  # a person applies once (a second offer would make them a duplicate)
        for _ in range(random.choice((1, 1, 2))):
            link = random.choice(LINKS)
            html = self._landing(link)
            if not html:
                return
            self._beacon(link, html)
            if link["offer"] and not applied and random.random() < APPLY_SHARE:
                applied = self._apply(link, html)
            time.sleep(random.uniform(0.3, 1.0))  # reading the page (gevent: yields)

    def _landing(self, link: dict[str, Any]) -> str:
        with self.client.get(link["url"], name="tracked link", catch_response=True) as response:
            if response.status_code != 200 or "data-beacon=" not in response.text:
                response.failure(f"{response.status_code} on {link['url']} (or no beacon)")
                return ""
            return response.text

    def _beacon(self, link: dict[str, Any], html: str) -> None:
        """As static/beacon.js: navigator.sendBeacon(url, URLSearchParams{token})."""
        found = BEACON.search(html)
        if not found:
            return
        with self.client.post(
            link["url"].rsplit("/r/", 1)[0] + found.group(1),
            name="beacon",
            data={"token": found.group(2)},
            headers={"Sec-Fetch-Site": "same-origin", "Accept": "*/*"},
            catch_response=True,
        ) as response:
            if response.status_code != 204:
                response.failure(f"{response.status_code} on the beacon")
                return
            ANSWERS["beacons"].append(
                {
                    "code": link["code"],
                    "address": self.address,
                    "agent": self.agent,
                    "day": datetime.now(UTC).date().isoformat(),
                }
            )

    def _apply(self, link: dict[str, Any], html: str) -> bool:
        """The page's form as htmx posts it: multipart, its CSRF field, a PDF, consent."""
        token = FORM_CSRF.search(html)
        if not token:
            return False
        email = f"candidate{self.person}@candidates.load.example"
        with self.client.post(
            f"{link['url']}/apply",
            name="apply",
            data={
                "_csrf_token": token.group(1),
                "name": f"Candidate {self.person}",
                "email": email,
                "phone": "",
                "linkedin": "",
                "message": "I would love to join the team.",
                "consent": "yes",
            },
            files={"cv": (f"cv-{self.person}.pdf", CV, "application/pdf")},
            headers={"HX-Request": "true", "HX-Target": "apply-form"},
            catch_response=True,
        ) as response:
            if response.status_code != 200 or 'role="status"' not in response.text:
                response.failure(f"{response.status_code}: {response.text[:160]}")
                return False
            ANSWERS["applications"].append({"code": link["code"], "email": email})
            return True


class Editor(SignedIn):
    """HR at work: moves candidates through the pipeline, sends one campaign."""

    wait_time = between(0.5, 1.5)
    fixed_count = 1 if EDITOR else 0

    def on_start(self) -> None:
        self.base = _host(1)
        self.client.headers.update({"Accept": "text/html", "Accept-Language": "en"})
        self.client.cookies.set("relay_session", EDITOR)
        self.csrf = ""
        self.started = time.monotonic()

    @task(6)
    def move_candidates(self) -> None:
        offers = OFFER.findall(self._page("/pipeline", "pipeline"))
        if not offers:
            return
        html = self._page(f"/pipeline/{random.choice(offers)}", "pipeline, offer")
        rows = [(int(c), SELECTED.search(options)) for c, options in STAGE_SELECT.findall(html)]
        for candidate, selected in random.sample(rows, min(3, len(rows))):
            if selected is None:
                continue
            stage = random.choice(NEXT_STAGES[selected.group(1)])
            # The stage's <select> posts itself on change (hx-trigger="change").
            with self.client.post(
                f"{self.base}/pipeline/candidates/{candidate}/stage",
                name="move candidate",
                data={"stage": stage},
                headers={
                    "HX-Request": "true",
                    "HX-Target": f"candidate-{candidate}",
                    "x-csrftoken": self.csrf,
                },
                catch_response=True,
            ) as response:
                row = SELECTED.search(response.text) if response.status_code == 200 else None
                if row is None or row.group(1) != stage:
                    response.failure(f"{response.status_code}: {response.text[:160]}")
                    continue
                ANSWERS["moves"].append({"candidate": candidate, "stage": stage})

    @task(1)
    def campaign(self) -> None:
        """One campaign, to everyone, once the run is under way: the form's "Send" button."""
        if ANSWERS["campaigns"] or time.monotonic() - self.started < 5:
            return
        html = self._page("/campaigns", "campaigns")
        token = FORM_CSRF.search(html)
        if not token:
            return
        with self.client.post(
            f"{self.base}/campaigns",
            name="send campaign",
            data={
                "_csrf_token": token.group(1),
                "title": "We are hiring: share our offers",
                "body": "Three new offers this week. Who do you know?",
                "url": "/",
                "image": "",
                "activity": "",
                "days": "30",
                "when": "now",
                "scheduled_at": "",
                "action": "send",
            },
            allow_redirects=False,
            catch_response=True,
        ) as response:
            sent = CAMPAIGN.search(response.headers.get("location", ""))
            if response.status_code != 303 or sent is None:
                response.failure(f"{response.status_code}: {response.text[:160]}")
                return
            ANSWERS["campaigns"].append({"id": int(sent.group(1))})


@events.quitting.add_listener
def _write_answers(environment: Any, **_kwargs: Any) -> None:
    path = os.environ.get("RELAY_LOADTEST_ANSWERS")
    if path:
        with open(path, "w") as out:
            json.dump(ANSWERS, out)
