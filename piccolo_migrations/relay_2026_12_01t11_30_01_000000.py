"""Issue 18: a published employee's story names its author's member row.

Stories published before ``content_item.byline_member`` existed get it from the proposal
they came from, so their byline shows the author's photo too. No schema change.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.querystring import QueryString

ID = "2026-12-01T11:30:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "Published stories' bylines linked to their authors"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="relay", description=DESCRIPTION)

    async def link_authors() -> None:
        from app.core.db import current_engine

        await current_engine().run_querystring(
            QueryString(
                "UPDATE content_item SET byline_member = "
                "(SELECT p.author FROM proposal p WHERE p.item = content_item.id) "
                "WHERE byline_member IS NULL AND byline <> '' "
                "AND EXISTS (SELECT 1 FROM proposal p WHERE p.item = content_item.id)"
            )
        )

    manager.add_raw(link_authors)
    return manager
