"""The whole loop under Locust, as "Running at scale" deploys Relay (issue 15).

    python -m bench.loadtest [--seconds 120] [--users 40] [--candidates 20] [--pg URL]
                             [--redis URL] [--small]

On a throwaway PostgreSQL database with the demo's content: two `relay serve` processes
(the embedded worker off) and one `relay worker`, sharing Redis, the web processes behind a
"proxy" on 127.0.0.1 (``FORWARDED_ALLOW_IPS``), the worker sending to a push service
stand-in (bench.push's sink). Seeded before the run, through Relay's own services: the
employees' sessions (app.accounts.sessions), an editor's, twelve sharers who shared five
items each (app.sharing: their tracked links are what candidates open) and a device for
each employee. Locust (headless, on loopback, bounded in time) then drives, through
bench/locustfile.py, employees (feed, next page, item, share, points), candidates (a new
person each round: tracked link, beacon, sometimes an application with a PDF CV) and one
editor (the pipeline, stage moves, one campaign to everyone).

It prints requests/s, p50 and p99 per step and the errors (none allowed; a 429 is one), and
checks that nothing was lost or doubled: every share answered "recorded" is one share row
with its one activity row; every beacon answered 204 is the one genuine click of its link,
visitor and day (its key recomputed from the visitor key of the day), and nothing else is;
every application answered "sent" is one candidate row with its one activity row; every
stage move answered is one stage activity and leaves the candidate at that stage; every
click and application has its points line unless its rule's cap was reached, and every
moved candidate's stage lines add up to the stages reached; the campaign has one delivery
per device, each sent once (the sink counts what it received); and every member's lifetime
points equal a recount of their ledger. Exits non-zero on any error or mismatch.

``make loadtest`` runs it; `.ci/run` a 20-second one with ``--small``: sixty items seeded
in this process instead of the demo (which writes images, people and history for most of a
minute), the two servers started side by side, and the throwaway database's setup written
without waiting for each commit's flush.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from bench.feed import migrate
from bench.harness import ROOT, RelayServer, _admin
from bench.push import Sink, load_average, make_browsers

EMPLOYEES = 40
CANDIDATES = 20
SHARERS = 12
SHARED_EACH = 5  # items each sharer shared: the open offers first, then stories


async def seed_people(database_url: str, count: int, hosts: list[str], sink: str) -> dict[str, Any]:
    """Through Relay's own services: ``count`` new employees signed in once (a cookie value
    each) with a device each (at the sink), an editor signed in, and the sharers' tracked
    links (app.sharing's link builder, on the web processes in turn)."""
    from app.accounts.sessions import create_session
    from app.accounts.tables import Member
    from app.content.feed import published_where
    from app.content.tables import ContentItem
    from app.core import db
    from app.core.clock import now
    from app.sharing import service as sharing
    from app.wiring import wire
    from push.tables import PushSubscription

    wire()  # a share earns its points here as in a web process
    db.use_engine(db.engine_from_url(database_url))
    await db.open_pool(4)
    try:
        rows = await Member.insert(
            *(
                Member(email=f"load{n}@bench.relay", name=f"Load Tester {n}", role="employee")
                for n in range(count)
            )
        ).returning(Member.id)
        tokens = [await create_session(r["id"], "locust") for r in rows]
        await PushSubscription.insert(
            *(
                PushSubscription(member=r["id"], endpoint=e, p256dh=k, auth=a)
                for r, (e, k, a) in zip(rows, make_browsers(sink, count), strict=True)
            )
        )
        editor = await Member.insert(
            Member(email="editor.bench@bench.relay", name="Bench Editor", role="editor")
        ).returning(Member.id)
        items = await (
            ContentItem.select(ContentItem.id, ContentItem.kind)
            .where(published_where(now()), ContentItem.kind.is_in(["offer", "story"]))
            .order_by(ContentItem.publish_at, ascending=False)
        )
        offers = [i["id"] for i in items if i["kind"] == "offer"][: SHARED_EACH * 2 // 3]
        stories = [i["id"] for i in items if i["kind"] == "story"][: SHARED_EACH - len(offers)]
        sharers = await Member.insert(
            *(
                Member(email=f"sharer{n}@bench.relay", name=f"Sharer {n}", role="employee")
                for n in range(SHARERS)
            )
        ).returning(Member.id)

        async def shares(n: int, sharer: int) -> list[dict[str, Any]]:
            links = []
            for item in offers + stories:
                await sharing.share(sharer, item, "linkedin")
                code = await sharing.link_code(sharer, item)
                url = sharing.share_url(hosts[n % len(hosts)], code)
                links.append({"url": url, "code": code, "offer": item in offers})
            return links

        # A few sharers at a time: each share is its own transaction (and points).
        links = []
        for start in range(0, len(sharers), 4):
            for some in await asyncio.gather(
                *(shares(n, s["id"]) for n, s in enumerate(sharers) if start <= n < start + 4)
            ):
                links += some
        return {
            "sessions": tokens,
            "editor": await create_session(editor[0]["id"], "locust"),
            "links": links,
        }
    finally:
        await db.close_pool()


async def small_seed(database_url: str, items: int = 60) -> None:
    """An organisation and ``items`` published stories and offers for everyone: what the
    simulated employees open and share (``--small``, instead of the demo)."""
    from datetime import UTC, datetime, timedelta

    from app.content.tables import ContentItem
    from app.core import db
    from app.org.tables import Organisation

    db.use_engine(db.engine_from_url(database_url))
    await db.open_pool(2)
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        await Organisation.insert(Organisation(name="Load Corp")).run()
        await ContentItem.insert(
            *(
                ContentItem(
                    kind="offer" if n % 3 == 0 else "story",
                    title=f"Item {n}: something worth sharing",
                    body="A **paragraph** of text about this, worth a share. " * 3,
                    excerpt="A paragraph of text about this, worth a share.",
                    language="fr" if n % 2 else "en",
                    tags=",culture,",
                    captions='{"linkedin": ["Proud of this #load"]}',
                    audience_all=True,
                    publish_at=now - timedelta(minutes=30 * n + 1),
                    contract="permanent" if n % 3 == 0 else "",
                    offer_status="open" if n % 3 == 0 else "draft",
                    created_at=now,
                    updated_at=now,
                )
                for n in range(items)
            )
        )
    finally:
        await db.close_pool()


async def check(
    database_url: str, answers: dict[str, list[dict[str, Any]]], sink: int
) -> list[str]:
    """What was lost or doubled, in words (empty when nothing was); ``sink``: the requests
    the push service stand-in received."""
    from app.core import db
    from app.points.tables import NOT_EARNED, PointsLine

    db.use_engine(db.engine_from_url(database_url))
    await db.open_pool(2)
    problems = []
    try:
        recorded = sum(1 for s in answers["shares"] if s["recorded"])
        rows = await PointsLine.raw(
            "SELECT COUNT(*) AS n FROM share s JOIN member m ON m.id = s.member "
            "WHERE m.email LIKE {}",
            "load%@bench.relay",
        )
        if int(rows[0]["n"]) != recorded:
            problems.append(f"{recorded} shares answered recorded, {rows[0]['n']} share rows")
        rows = await PointsLine.raw(
            "SELECT COUNT(*) AS n FROM share s WHERE (SELECT COUNT(*) FROM activity a "
            "WHERE a.key = ('share:' || s.key) AND a.kind = 'share') <> 1"
        )
        if int(rows[0]["n"]):
            problems.append(f"{rows[0]['n']} shares without exactly one activity row")
        problems += await check_clicks(answers["beacons"])
        problems += await check_applications(answers["applications"])
        problems += await check_moves(answers["moves"])
        problems += await check_points_lines()
        problems += await check_campaigns(answers["campaigns"], sink)
        marks = ", ".join(["{}"] * len(NOT_EARNED))
        rows = await PointsLine.raw(
            "SELECT m.id, COALESCE(t.points, 0) AS kept, "
            "COALESCE((SELECT SUM(l.points) FROM points_line l WHERE l.member = m.id "
            f"AND l.reason NOT IN ({marks})), 0) AS recount "
            "FROM member m LEFT JOIN points_total t ON t.key = (m.id || ':all')",
            *NOT_EARNED,
        )
        wrong = [r for r in rows if int(r["kept"]) != int(r["recount"])]
        if wrong:
            problems.append(f"{len(wrong)} members' lifetime points differ from the ledger")
    finally:
        await db.close_pool()
    return problems


async def check_clicks(beacons: list[dict[str, Any]]) -> list[str]:
    """Every beacon answered 204 is its link's genuine click for that visitor and day (a
    person opening the same link twice makes one), with the key app.candidates.visits gives
    it; the sharers' links have no other click."""
    from app.activity.tables import Activity
    from app.candidates.service import key_of_day, visitor_hash
    from app.sharing.tables import ShareLink

    links = {
        r["code"]: r["id"]
        for r in await ShareLink.raw(
            "SELECT l.id, l.code FROM share_link l JOIN member m ON m.id = l.member "
            "WHERE m.email LIKE {}",
            "sharer%@bench.relay",
        )
    }
    keys = {day: await key_of_day(date.fromisoformat(day)) for day in {b["day"] for b in beacons}}
    expected = {
        f"click:{links[b['code']]}:{visitor_hash(keys[b['day']], b['address'], b['agent'])}:"
        f"{b['day']}"
        for b in beacons
    }
    rows = await Activity.raw(
        "SELECT a.key FROM activity a WHERE a.kind = 'click' AND a.member IN "
        "(SELECT id FROM member WHERE email LIKE {})",
        "sharer%@bench.relay",
    )
    found = Counter(str(r["key"]) for r in rows)
    problems = []
    if missing := expected - set(found):
        problems.append(f"{len(missing)} of {len(expected)} genuine clicks answered are missing")
    if extra := set(found) - expected:
        problems.append(f"{len(extra)} click rows that no beacon answered")
    if doubled := [k for k, n in found.items() if n > 1]:
        problems.append(f"{len(doubled)} clicks recorded twice")
    return problems


async def check_applications(applied: list[dict[str, Any]]) -> list[str]:
    """Every application answered "sent" is one candidate row, with its one activity row."""
    from app.activity.tables import Activity

    rows = await Activity.raw(
        "SELECT c.id, c.email, (SELECT COUNT(*) FROM activity a WHERE a.kind = 'application' "
        "AND a.key = ('application:' || c.id)) AS activities "
        "FROM candidate c WHERE c.email LIKE {}",
        "%@candidates.load.example",
    )
    per_email = Counter(str(r["email"]) for r in rows)
    sent = Counter(a["email"] for a in applied)
    problems = []
    if lost := [e for e in sent if per_email[e] == 0]:
        problems.append(f"{len(lost)} of {len(sent)} applications answered sent have no row")
    if doubled := [e for e, n in per_email.items() if n > 1 or sent[e] > 1]:
        problems.append(f"{len(doubled)} candidates recorded twice")
    if unanswered := [e for e in per_email if not sent[e]]:
        problems.append(f"{len(unanswered)} candidate rows no application was answered for")
    if wrong := [r for r in rows if int(r["activities"]) != 1]:
        problems.append(f"{len(wrong)} candidates without exactly one application activity")
    return problems


async def check_moves(moves: list[dict[str, Any]]) -> list[str]:
    """Every stage move answered is one stage activity by the editor, the candidate at the
    stage last chosen; a moved candidate's stage lines net to the stages reached."""
    from app.activity.tables import Activity
    from app.candidates.tables import STAGE_ORDER

    editor = await Activity.raw(
        "SELECT id FROM member WHERE email = {}", "editor.bench@bench.relay"
    )
    rows = await Activity.raw("SELECT detail FROM activity WHERE kind = 'stage'")
    by_editor = [
        d for d in (json.loads(r["detail"]) for r in rows) if d.get("by") == editor[0]["id"]
    ]
    problems = []
    if len(by_editor) != len(moves):
        problems.append(f"{len(moves)} stage moves answered, {len(by_editor)} stage activities")
    last = {m["candidate"]: m["stage"] for m in moves}
    if not last:
        return problems
    ids = list(last)
    marks = ", ".join(["{}"] * len(ids))
    candidates = await Activity.raw(
        f"SELECT id, stage, referrer, duplicate_of FROM candidate WHERE id IN ({marks})",
        *ids,
    )
    if stale := [c for c in candidates if c["stage"] != last[c["id"]]]:
        problems.append(f"{len(stale)} candidates not at the stage they were last moved to")
    nets = {
        str(r["subject"]): int(r["net"])
        for r in await Activity.raw(
            "SELECT subject, SUM(points) AS net FROM points_line WHERE subject LIKE {} "
            "GROUP BY subject",
            "candidate:%",
        )
    }
    uneven = 0
    for c in candidates:
        if c["referrer"] is None or c["duplicate_of"] is not None or c["stage"] not in STAGE_ORDER:
            continue  # credited to nobody, or "not selected" (keeps what was earned)
        reached = STAGE_ORDER.index(c["stage"])
        for position, stage in enumerate(STAGE_ORDER[1:], start=1):
            if (nets.get(f"candidate:{c['id']}:{stage}", 0) > 0) != (position <= reached):
                uneven += 1
                break
    if uneven:
        problems.append(f"{uneven} moved candidates whose stage points differ from their stage")
    return problems


async def check_points_lines() -> list[str]:
    """A click or an application through a sharer's link has its points line, unless its
    rule's daily or weekly cap was reached; no such line without its activity."""
    from app.activity.tables import Activity
    from app.points import ledger
    from app.points.rules import rules

    caps = await rules()
    activities = await Activity.raw(
        "SELECT a.kind, a.key, a.member, a.at FROM activity a JOIN member m ON m.id = a.member "
        "WHERE a.kind IN ('click', 'application') AND m.email LIKE {} AND NOT EXISTS "
        # A duplicate's application earns nothing: the first referral keeps the credit.
        "(SELECT 1 FROM candidate c WHERE a.key = ('application:' || c.id) "
        "AND c.duplicate_of IS NOT NULL)",
        "sharer%@bench.relay",
    )
    lines = await Activity.raw(
        "SELECT l.reason, l.key, l.member, l.at FROM points_line l JOIN member m "
        "ON m.id = l.member WHERE l.reason IN ('click', 'application') AND l.points > 0 "
        "AND m.email LIKE {}",
        "sharer%@bench.relay",
    )
    keys = {str(r["key"]) for r in lines}
    per_day = Counter((r["reason"], r["member"], r["at"].date()) for r in lines)
    per_week = Counter((r["reason"], r["member"], ledger.week_of(r["at"])) for r in lines)
    unpaid = 0
    for a in activities:
        rule = caps[a["kind"]]
        if f"{a['kind']}:{a['key']}" in keys:
            continue
        day_full = rule.daily_cap is not None and (
            per_day[(a["kind"], a["member"], a["at"].date())] >= rule.daily_cap
        )
        week_full = rule.weekly_cap is not None and (
            per_week[(a["kind"], a["member"], ledger.week_of(a["at"]))] >= rule.weekly_cap
        )
        if not (day_full or week_full) and rule.enabled and rule.points:
            unpaid += 1
    problems = []
    if unpaid:
        problems.append(
            f"{unpaid} clicks or applications without their points line (cap not reached)"
        )
    done = {f"{a['kind']}:{a['key']}" for a in activities}
    if orphans := keys - done:
        problems.append(f"{len(orphans)} click or application points lines without their activity")
    return problems


async def check_campaigns(campaigns: list[dict[str, Any]], sink: int) -> list[str]:
    """The campaign sent, one delivery per device, each sent once; the push service stand-in
    received exactly the sends recorded (campaign and nudges alike)."""
    from push.tables import PushDelivery

    problems = []
    if not campaigns:
        return ["the editor sent no campaign"]
    for campaign in campaigns:
        rows = await PushDelivery.raw(
            "SELECT COUNT(*) AS n, COUNT(DISTINCT subscription) AS devices, "
            "SUM(CASE WHEN state = 'sent' AND attempts = 1 THEN 1 ELSE 0 END) AS once, "
            "(SELECT COUNT(*) FROM push_subscription s JOIN member m ON m.id = s.member "
            " WHERE s.active AND m.email LIKE {}) AS seeded, "
            "(SELECT state FROM campaign WHERE id = {}) AS state "
            "FROM push_delivery WHERE campaign = {}",
            "load%@bench.relay",
            campaign["id"],
            campaign["id"],
        )
        r = rows[0]
        if (
            r["state"] != "sent"
            or int(r["n"]) != int(r["devices"])
            or int(r["once"]) != int(r["n"])
        ):
            problems.append(
                f"campaign {campaign['id']} ({r['state']}): {r['n']} deliveries to "
                f"{r['devices']} devices, {r['once']} sent once"
            )
        if int(r["devices"]) < int(r["seeded"]):
            problems.append(
                f"campaign {campaign['id']} reached {r['devices']} of {r['seeded']} devices"
            )
    rows = await PushDelivery.raw("SELECT COALESCE(SUM(attempts), 0) AS n FROM push_delivery")
    if int(rows[0]["n"]) != sink:
        problems.append(f"{rows[0]['n']} sends recorded, the push service received {sink}")
    return problems


async def campaign_figures(database_url: str, campaigns: list[dict[str, Any]]) -> tuple[int, int]:
    """(deliveries, of them still to send) of the campaigns: the worker is done at (n, 0)."""
    from app.core import db
    from push.tables import OPEN_STATES, PushDelivery

    ids = [c["id"] for c in campaigns]
    if not ids:
        return 0, 0
    db.use_engine(db.engine_from_url(database_url))
    await db.open_pool(1)
    try:
        total = await PushDelivery.count().where(PushDelivery.campaign.is_in(ids))
        open_ = await PushDelivery.count().where(
            PushDelivery.campaign.is_in(ids), PushDelivery.state.is_in(list(OPEN_STATES))
        )
        return total, open_
    finally:
        await db.close_pool()


def report(prefix: Path) -> int:
    """Locust's per-step figures; the number of failed requests and exceptions."""
    with open(f"{prefix}_stats.csv") as stats:
        rows = list(csv.DictReader(stats))
    print(f"{'step':<18} {'requests':>9} {'failed':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    failures = 0
    for row in rows:
        print(
            f"{row['Name']:<18} {int(row['Request Count']):>9,} {int(row['Failure Count']):>7} "
            f"{float(row['Requests/s']):>8.1f} {row['50%']:>8} {row['99%']:>8}"
        )
        if row["Name"] == "Aggregated":
            failures = int(row["Failure Count"])
    # Failed requests are above; an exception in a user's own code (a page it could not
    # read) is an error too.
    with open(f"{prefix}_exceptions.csv") as exceptions:
        for row in csv.DictReader(exceptions):
            print(f"exception x{row['Count']}: {row['Message'][:200]}")
            failures += int(row["Count"])
    return failures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--users", type=int, default=EMPLOYEES, help="employees")
    parser.add_argument("--candidates", type=int, default=CANDIDATES, help="candidates at once")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="", help="the throwaway database's name")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13"))
    parser.add_argument("--small", action="store_true", help="a small seed, not the demo")
    args = parser.parse_args()
    started = time.monotonic()
    database = args.database or f"relay_loadtest_{os.getpid()}"
    url = f"{args.pg.rsplit('/', 1)[0]}/{database}"
    asyncio.run(_admin(args.pg, f'CREATE DATABASE "{database}"'))
    sink = Sink()  # the push service stand-in: answers 201, counts what it received
    try:
        with tempfile.TemporaryDirectory(prefix="relay-loadtest-") as tmp:
            data = Path(tmp)
            # A throwaway database: its setup (the migrations' DDL, the seed) need not wait
            # for each commit to reach the disk; the demo and the servers run with the default.
            asyncio.run(
                _admin(args.pg, f'ALTER DATABASE "{database}" SET synchronous_commit = off')
            )
            migrate(url, data)
            print(f"migrated in {time.monotonic() - started:.0f}s", flush=True)
            if args.small:
                asyncio.run(small_seed(url))
            asyncio.run(_admin(args.pg, f'ALTER DATABASE "{database}" RESET synchronous_commit'))
            env = {
                "REDIS_URL": args.redis,
                "RELAY_EMBEDDED_WORKER": "0",
                # Locust is the reverse proxy: each candidate's own address comes in
                # X-Forwarded-For, so rate limits and click rules see distinct clients.
                "FORWARDED_ALLOW_IPS": "127.0.0.1",
                "PUSH_ALLOWED_TEST_HOSTS": "127.0.0.1",  # the worker may post to the sink
            }
            servers = []
            worker = None
            try:
                # The demo (unless --small) runs before the first server; both then start
                # side by side and serve the same data.
                servers.append(
                    RelayServer(
                        database_url=url,
                        data_dir=data,
                        demo=not args.small,
                        extra_env=env,
                        wait=False,
                    )
                )
                servers.append(
                    RelayServer(
                        database_url=url, data_dir=data, demo=False, extra_env=env, wait=False
                    )
                )
                worker = subprocess.Popen(
                    [sys.executable, "-m", "app", "worker"],
                    env=servers[0].env,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                # While they start (their addresses are known already).
                seeded = asyncio.run(
                    seed_people(url, args.users, [s.url for s in servers], sink.url)
                )
                for server in servers:
                    server.wait_healthy()
                print(f"seeded, servers up at {time.monotonic() - started:.0f}s", flush=True)
                (data / "sessions.json").write_text(json.dumps(seeded["sessions"]))
                (data / "links.json").write_text(json.dumps(seeded["links"]))
                locust_env = {
                    **os.environ,
                    "RELAY_LOADTEST_HOSTS": " ".join(s.url for s in servers),
                    "RELAY_LOADTEST_SESSIONS": str(data / "sessions.json"),
                    "RELAY_LOADTEST_LINKS": str(data / "links.json"),
                    "RELAY_LOADTEST_EDITOR": seeded["editor"],
                    "RELAY_LOADTEST_EMPLOYEES": str(args.users),
                    "RELAY_LOADTEST_CANDIDATES": str(args.candidates),
                    "RELAY_LOADTEST_ANSWERS": str(data / "answers.json"),
                }
                users = args.users + args.candidates + 1
                print(
                    f"Locust: {args.users} employees, {args.candidates} candidates at a time "
                    f"and an editor for {args.seconds}s against two relay serve processes and "
                    f"one relay worker, PostgreSQL and Redis (set up in "
                    f"{time.monotonic() - started:.0f}s; load average {load_average()})\n"
                )
                subprocess.run(
                    [
                        sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
                        "--headless", "--only-summary", "--loglevel", "WARNING",
                        "-u", str(users), "-r", str(users),
                        "-t", f"{args.seconds}s", "--stop-timeout", "2",
                        "--csv", str(data / "locust"), "--host", servers[0].url,
                    ],
                    env=locust_env,
                    cwd=ROOT,
                    check=False,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )  # fmt: skip
                print(f"load average after the run: {load_average()}")
                failures = report(data / "locust")
                answers = json.loads((data / "answers.json").read_text())
                # The worker sends the campaign meanwhile: wait until it has (30 s at most).
                deadline = time.monotonic() + 30
                while asyncio.run(campaign_figures(url, answers["campaigns"]))[1]:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.5)
            finally:
                if worker is not None:
                    worker.terminate()
                    worker.wait(timeout=15)
                for server in servers:
                    server.stop()
            print(f"stopped at {time.monotonic() - started:.0f}s", flush=True)
            problems = asyncio.run(check(url, answers, sink.received()))
            deliveries = asyncio.run(campaign_figures(url, answers["campaigns"]))[0]
    finally:
        sink.stop()
        asyncio.run(_admin(args.pg, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    print(
        f"\n{sum(1 for s in answers['shares'] if s['recorded'])} shares recorded, "
        f"{len(answers['beacons'])} beacons answered "
        f"({len({(b['code'], b['address'], b['day']) for b in answers['beacons']})} genuine clicks), "
        f"{len(answers['applications'])} applications with a CV, "
        f"{len(answers['moves'])} stage moves, {len(answers['campaigns'])} campaign "
        f"({deliveries} deliveries); errors: {failures}"
    )
    for problem in problems:
        print(f"LOST OR DOUBLED: {problem}")
    if failures or problems:
        sys.exit(1)
    print(f"Nothing lost or doubled ({time.monotonic() - started:.0f}s in all).")


if __name__ == "__main__":
    main()
