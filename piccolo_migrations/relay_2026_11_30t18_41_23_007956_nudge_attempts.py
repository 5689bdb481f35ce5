from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from enum import Enum
from piccolo.columns.column_types import Integer
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T18:41:23:007956"
VERSION = "1.38.0"
DESCRIPTION = "Nudges count failed attempts and can be marked failed (push-hardening)"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="relay", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="Nudge",
        tablename="nudge",
        column_name="attempts",
        db_column_name="attempts",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": 0,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.alter_column(
        table_class_name="Nudge",
        tablename="nudge",
        column_name="state",
        db_column_name="state",
        params={
            "choices": Enum(
                "NudgeState",
                {
                    "waiting": "waiting",
                    "sent": "sent",
                    "dropped": "dropped",
                    "failed": "failed",
                },
            )
        },
        old_params={
            "choices": Enum(
                "NudgeState",
                {"waiting": "waiting", "sent": "sent", "dropped": "dropped"},
            )
        },
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )

    return manager
