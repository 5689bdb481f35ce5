from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from enum import Enum
from piccolo.columns.column_types import Varchar

ID = "2026-11-26T17:25:04:784440"
VERSION = "1.38.0"
DESCRIPTION = ""


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="relay", description=DESCRIPTION
    )

    manager.alter_column(
        table_class_name="Activity",
        tablename="activity",
        column_name="kind",
        db_column_name="kind",
        params={
            "choices": Enum(
                "ActivityKind",
                {
                    "click": "click",
                    "application": "application",
                    "recommendation": "recommendation",
                    "stage": "stage",
                    "apply_click": "apply_click",
                },
            )
        },
        old_params={
            "choices": Enum(
                "ActivityKind",
                {
                    "click": "click",
                    "application": "application",
                    "recommendation": "recommendation",
                    "stage": "stage",
                },
            )
        },
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )

    return manager
