"""Indexes for leaderboards by team or site and the wall of fame, written by hand like the
points' own (relay_2026_11_26t18_11_15_000000): Piccolo cannot add an index to an existing
foreign key column on SQLite without rebuilding the table.

A team's or a site's leaderboard starts from its members (member.team, member.site); the
wall of fame counts a month's shares (share.at) and lists its hires (candidate.hired_at).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-26T18:16:16:000000"
VERSION = "1.38.0"
DESCRIPTION = "Indexes for team and site leaderboards and the wall of fame"

INDEXES = {
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
