"""Signing up for an event under a crowd, on SQLite and PostgreSQL, in process.

    python -m bench.events [--members 1000] [--places 100] [--only sqlite|postgresql]

``--members`` members sign up at once for an event of ``--places`` places through
:func:`app.events.service.sign_up` (deadline, start, a sign-up already made and capacity
checked and the row written in one transaction holding the event's lock); exactly
``--places`` must succeed. The baseline, in the same run: as many concurrent write
transactions that each insert one sign-up row with no check and no lock (what the same
database does for the same number of writes). The ratio is what the checks and the lock cost.

Figures from a run (2 cores shared with six other engineers' test runs, load average 16 to
23): SQLite, 300 members for 30 places: exactly 30, 13.6 s against 12.8 s for the baseline
(1.06x: every write waits its turn for SQLite's lock either way). PostgreSQL, 1,000 members
for 100 places: exactly 100, 23.0 s against 4.0 s (5.8x): every sign-up to one event waits
for the event row's lock, where the bare inserts ran side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.harness import ROOT, on_each_database


def migrate(database_url: str, data_dir: Path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "RELAY_DATA_DIR": str(data_dir)}
    subprocess.run(
        [sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True
    )


async def measure(database_url: str, members: int, places: int) -> list[str]:
    from app.accounts.tables import Member
    from app.core import db
    from app.core.forms import FormResult
    from app.events import service
    from app.events.tables import EventSignup
    from app.wiring import wire

    wire()
    db.use_engine(db.engine_from_url(database_url))
    await db.open_pool(10)
    try:
        await Member.insert(
            *(Member(email=f"m{n}@example.com", name=f"Member {n}") for n in range(members + 1))
        )
        ids = [row["id"] for row in await Member.select(Member.id).order_by(Member.id)]
        editor, crowd = ids[0], ids[1:]
        zone = "Europe/Paris"
        start = datetime.now(UTC) + timedelta(days=7)

        def local(moment: datetime) -> str:
            return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")

        def event_form(capacity: int) -> FormResult:
            form = service.check_event(
                {
                    "title": "Job fair",
                    "kind": "job_fair",
                    "place": "Lyon",
                    "capacity": str(capacity),
                    "time_zone": zone,
                    "starts_at": local(start),
                    "ends_at": local(start + timedelta(hours=3)),
                    "signup_deadline": local(start - timedelta(days=1)),
                }
            )
            assert form.ok, form.errors
            return form

        crowded = await service.save_event(None, event_form(places), editor)
        roomy = await service.save_event(None, event_form(members), editor)

        async def bare_insert(member: int) -> None:
            async with db.write_transaction():
                await EventSignup.insert(
                    EventSignup(
                        pair=f"{roomy}:{member}", event=roomy, member=member, role="volunteer"
                    )
                )

        started = time.monotonic()
        await asyncio.gather(*(bare_insert(m) for m in crowd))
        baseline = time.monotonic() - started

        started = time.monotonic()
        outcomes = await asyncio.gather(*(service.sign_up(crowded, m, "volunteer") for m in crowd))
        took = time.monotonic() - started
        made = outcomes.count(service.SignupOutcome.signed_up)
        rows = await EventSignup.count().where(EventSignup.event == crowded)
        assert made == places and rows == places, (made, rows)
        return [
            f"baseline: {members} bare one-row write transactions at once: "
            f"{baseline * 1000:.0f} ms ({members / baseline:.0f}/s)",
            f"{members} members at once for {places} places: {made} signed up, {rows} rows, "
            f"{took * 1000:.0f} ms ({members / took:.0f} attempts/s), "
            f"{took / baseline:.2f}x the baseline",
        ]
    finally:
        await db.close_pool()


def run(label: str, database_url: str | None, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="relay-bench-events-") as tmp:
        data_dir = Path(tmp)
        url = database_url or f"sqlite:///{data_dir / 'relay.sqlite3'}"
        migrate(url, data_dir)
        for line in asyncio.run(measure(url, args.members, args.places)):
            print(f"{label}: {line}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--places", type=int, default=100)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    args = parser.parse_args()
    on_each_database(args, "events", lambda label, url: run(label, url, args))


if __name__ == "__main__":
    main()
