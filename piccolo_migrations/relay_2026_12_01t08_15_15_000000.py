"""Issue 15: an index for the feed's "already shared" mark; a nudge that stands for several
publications.

The feed's "already shared" mark reads one member's shares of one item: an index on both.

Each card of the feed asks whether the member shared it; with only the single-column
indexes the database walked every share of the item (100 of them on average in
bench/feed.py) for each card: 11 ms of a 12 ms feed query on SQLite. Same SQL on SQLite and
PostgreSQL.

A new-content nudge is written once per member for all the publications of a round that
share an audience (a set-based statement, not a row per member and publication: 2,000 items
for 50,000 members were 80 million rows); ``items`` says how many it stands for, so the
notification still says "20 new posts to share".
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import Integer

ID = "2026-12-01T08:15:15:000000"
VERSION = "1.38.0"
DESCRIPTION = "Share index by member and item; nudges standing for several items"

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

    manager.add_column(
        table_class_name="Nudge",
        tablename="nudge",
        column_name="items",
        db_column_name="items",
        column_class_name="Integer",
        column_class=Integer,
        params={"default": 1},
    )
    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
