"""Accent- and case-insensitive search (issue 18): members and items keep their searchable
text folded (app.core.search) in a ``search_text`` column; this fills it for the rows that
exist, 500 at a time, with the same Python function the app writes it with, so SQLite and
PostgreSQL hold the same text."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.querystring import QueryString

ID = "2026-12-01T10:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Search text columns"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="relay", description=DESCRIPTION)

    manager.add_column(
        table_class_name="Member",
        tablename="member",
        column_name="search_text",
        db_column_name="search_text",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 400,
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

    manager.add_column(
        table_class_name="ContentItem",
        tablename="content_item",
        column_name="search_text",
        db_column_name="search_text",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 200,
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

    async def fill() -> None:
        from app.core.db import current_engine
        from app.core.search import folded

        engine = current_engine()
        for table, columns in (("member", ("name", "email")), ("content_item", ("title",))):
            after = 0
            while True:
                rows = await engine.run_querystring(
                    QueryString(
                        f"SELECT id, {', '.join(columns)} FROM {table} "  # noqa: S608 (constants)
                        "WHERE id > {} ORDER BY id LIMIT 500",
                        after,
                    )
                )
                if not rows:
                    break
                for row in rows:
                    text = folded(" ".join(str(row[c] or "") for c in columns))
                    await engine.run_querystring(
                        QueryString(
                            f"UPDATE {table} SET search_text = {{}} WHERE id = {{}}",  # noqa: S608
                            text,
                            row["id"],
                        )
                    )
                after = rows[-1]["id"]

    manager.add_raw(fill)

    return manager
