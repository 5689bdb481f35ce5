"""Relay's indexes that Piccolo's columns cannot declare, written by hand.

Composite indexes and a partial one, the same SQL on SQLite and PostgreSQL. A migration of
its own because Piccolo runs a migration's raw steps before it creates its tables.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-30T18:44:22:000000"
VERSION = "1.38.0"
DESCRIPTION = "Composite and partial indexes"

INDEXES = {
    # The feed pages through (pinned, publish_at, id) newest first: both databases walk
    # this index backwards and stop after one page instead of sorting every item.
    "content_item_feed": "content_item (pinned, publish_at, id)",
    # The push worker claims open deliveries by due time; holding only open rows, the
    # index stays small however many sent deliveries pile up.
    "push_delivery_due": ("push_delivery (next_attempt_at) WHERE state IN ('pending', 'sending')"),
    # Leaderboards read one period's totals best first; caps count a member's credits of
    # one action in a day or a week.
    "points_total_rank": "points_total (period, points)",
    "points_line_caps": "points_line (member, reason, at)",
    # A team's or a site's leaderboard starts from its members; the wall of fame counts a
    # month's shares and lists its hires.
    "member_team_active": "member (team, active)",
    "member_site_active": "member (site, active)",
    "share_at_item": "share (at, item)",
    "candidate_hired_at": "candidate (hired_at)",
}


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="relay", description=DESCRIPTION)

    async def create_indexes() -> None:
        from app.core.db import current_engine

        for name, target in INDEXES.items():
            await current_engine().run_ddl(f"CREATE INDEX {name} ON {target}")

    async def drop_indexes() -> None:
        from app.core.db import current_engine

        for name in INDEXES:
            await current_engine().run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
