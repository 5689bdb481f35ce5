"""The feed's index, written by hand: Piccolo's columns cannot declare a composite index.

The feed pages through (pinned, publish_at, id) newest first; with this index SQLite and
PostgreSQL walk it backwards and stop after one page instead of sorting every item. It is
a migration of its own because raw steps run before a migration's new tables exist.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-26T16:37:23:000000"
VERSION = "1.38.0"
DESCRIPTION = "Index for the feed's keyset order"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="relay", description=DESCRIPTION)

    async def create_index() -> None:
        from app.core.db import current_engine

        await current_engine().run_ddl(
            "CREATE INDEX content_item_feed ON content_item (pinned, publish_at, id)"
        )

    async def drop_index() -> None:
        from app.core.db import current_engine

        await current_engine().run_ddl("DROP INDEX IF EXISTS content_item_feed")

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)
    return manager
