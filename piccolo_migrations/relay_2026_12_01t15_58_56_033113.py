from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from app.core.db import NeverReusedSerial
from piccolo.columns.column_types import Text
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T15:58:56:033113"
VERSION = "1.38.0"
DESCRIPTION = "insight_kept: the figures of the insights pages' default views, written by the round for every process to read"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="relay", description=DESCRIPTION
    )

    manager.add_table(
        class_name="InsightKept",
        tablename="insight_kept",
        schema=None,
        columns=None,
    )

    manager.add_column(
        table_class_name="InsightKept",
        tablename="insight_kept",
        column_name="id",
        db_column_name="id",
        column_class_name="NeverReusedSerial",
        column_class=NeverReusedSerial,
        params={
            "null": False,
            "primary_key": True,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="InsightKept",
        tablename="insight_kept",
        column_name="generation",
        db_column_name="generation",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 32,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="InsightKept",
        tablename="insight_kept",
        column_name="key",
        db_column_name="key",
        column_class_name="Text",
        column_class=Text,
        params={
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": True,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="InsightKept",
        tablename="insight_kept",
        column_name="value",
        db_column_name="value",
        column_class_name="Text",
        column_class=Text,
        params={
            "default": "",
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

    return manager
