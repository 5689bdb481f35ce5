"""Stories and offers may carry an uploaded video (app.content.video): its file name."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import Varchar

ID = "2026-12-01T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Uploaded videos"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="relay", description=DESCRIPTION)
    manager.add_column(
        table_class_name="ContentItem",
        tablename="content_item",
        column_name="video",
        db_column_name="video",
        column_class_name="Varchar",
        column_class=Varchar,
        params={"length": 30, "null": True, "default": None},
    )
    return manager
