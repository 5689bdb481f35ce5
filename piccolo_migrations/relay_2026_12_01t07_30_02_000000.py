"""Insights: the member rows with shares, indexed on their own. The active ambassadors of a
period (a distinct count over the period's spans) read this narrow index only (an index-only
scan, in key order within a span), never the member rows themselves. The same SQL on SQLite
and PostgreSQL (both have partial indexes); nothing to rebuild.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T07:30:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "Insights sharers index"

SHARERS = (
    'CREATE INDEX insight_total_sharers ON insight_total (span, "key", team, site) '
    "WHERE dim = 'member' AND shares > 0"
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="relay", description=DESCRIPTION)

    async def create_index() -> None:
        from app.core.db import current_engine

        await current_engine().run_ddl(SHARERS)

    async def drop_index() -> None:
        from app.core.db import current_engine

        await current_engine().run_ddl("DROP INDEX IF EXISTS insight_total_sharers")

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)
    return manager
