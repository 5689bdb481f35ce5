"""The feed's "already shared" mark reads one member's shares of one item: an index on both.

Each card of the feed asks whether the member shared it; with only the single-column
indexes the database walked every share of the item (100 of them on average in
bench/feed.py) for each card: 11 ms of a 12 ms feed query on SQLite. Same SQL on SQLite and
PostgreSQL.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Share index by member and item"

INDEXES = {"share_member_item": "share (member, item)"}


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="relay", description=DESCRIPTION)

    async def create_indexes() -> None:
        from app.core.db import current_engine

        for name, target in INDEXES.items():
            await current_engine().run_ddl(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")

    async def drop_indexes() -> None:
        from app.core.db import current_engine

        for name in INDEXES:
            await current_engine().run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
