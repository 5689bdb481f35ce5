"""The candidates' privacy notice in French as well as in English (issue 18)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import Text

ID = "2026-12-01T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Privacy notice in French"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="relay", description=DESCRIPTION)
    manager.add_column(
        table_class_name="CandidatePolicy",
        tablename="candidate_policy",
        column_name="privacy_notice_fr",
        db_column_name="privacy_notice_fr",
        column_class_name="Text",
        column_class=Text,
        params={"default": ""},
    )
    return manager
