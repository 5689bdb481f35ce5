"""The points' indexes, written by hand: Piccolo's columns cannot declare a composite index.

Leaderboards read one period's totals best first (period, points); caps count a member's
credits of one action in a day or a week (member, reason, at).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-26T18:11:15:000000"
VERSION = "1.38.0"
DESCRIPTION = "Indexes for leaderboards and caps"

INDEXES = {
    "points_total_rank": "points_total (period, points)",
    "points_line_caps": "points_line (member, reason, at)",
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
