"""Relay's schema as text, to compare a migrated database with the reviewed one.

The reviewed schema lives in ``tests/schema/``: ``sqlite.sql`` (each table, index and
trigger as SQLite stores its ``CREATE`` statement) and ``postgresql.txt`` (columns with their
types, nullability and defaults; constraints; indexes, as PostgreSQL describes them). Both
are normalised so that only a change of schema changes them.

Write them again from a database migrated by today's migrations, after adding a migration
on purpose (review the diff before committing it):

    python -m tests.schemas                                   # tests/schema/sqlite.sql
    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python -m tests.schemas
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import tempfile
from pathlib import Path

import asyncpg

from tests.databases import ROOT, TEST_DATABASE_URL, TemplateDatabase, _with_database

SCHEMA_DIR = ROOT / "tests" / "schema"


def fixture_path(database_url: str) -> Path:
    name = "sqlite.sql" if database_url.startswith("sqlite:") else "postgresql.txt"
    return SCHEMA_DIR / name


def dump_schema(database_url: str) -> str:
    if database_url.startswith("sqlite:"):
        return dump_sqlite(Path(database_url.removeprefix("sqlite:///")))
    return asyncio.run(dump_postgresql(database_url))


def _one_line(sql: str) -> str:
    """SQLite keeps statements as written; ALTER TABLE edits them in place."""
    sql = re.sub(r"\s+", " ", sql).strip()
    return re.sub(r"\( | \)", lambda m: m.group(0).strip(), sql)


def dump_sqlite(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master "
            "WHERE name NOT LIKE 'sqlite_%' AND sql IS NOT NULL ORDER BY type DESC, name"
        ).fetchall()
    return "".join(f"{_one_line(sql)};\n" for _type, _name, sql in rows)


COLUMNS = """
SELECT table_name, column_name, data_type, character_maximum_length, is_nullable,
       column_default
FROM information_schema.columns WHERE table_schema = 'public'
ORDER BY table_name, ordinal_position
"""
CONSTRAINTS = """
SELECT cls.relname AS table_name, con.conname, pg_get_constraintdef(con.oid) AS definition
FROM pg_constraint con
JOIN pg_class cls ON cls.oid = con.conrelid
JOIN pg_namespace ns ON ns.oid = cls.relnamespace
WHERE ns.nspname = 'public'
ORDER BY cls.relname, con.conname
"""
INDEXES = """
SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
ORDER BY tablename, indexname
"""
TRIGGERS = """
SELECT event_object_table, trigger_name, action_timing, event_manipulation, action_statement
FROM information_schema.triggers WHERE trigger_schema = 'public'
ORDER BY event_object_table, trigger_name, event_manipulation
"""


async def dump_postgresql(database_url: str) -> str:
    """Columns are listed in table order but without their positions: a dropped column
    leaves a gap in ``ordinal_position`` that a fresh database does not have."""
    conn = await asyncpg.connect(database_url)
    try:
        lines: list[str] = []
        table = None
        for row in await conn.fetch(COLUMNS):
            if row["table_name"] != table:
                table = row["table_name"]
                lines.append(f"table {table}")
            data_type = row["data_type"]
            if row["character_maximum_length"] is not None:
                data_type += f"({row['character_maximum_length']})"
            null = "null" if row["is_nullable"] == "YES" else "not null"
            default = f" default {row['column_default']}" if row["column_default"] else ""
            lines.append(f"  {row['column_name']} {data_type} {null}{default}")
        for row in await conn.fetch(CONSTRAINTS):
            lines.append(f"constraint {row['table_name']}.{row['conname']} {row['definition']}")
        for row in await conn.fetch(INDEXES):
            lines.append(f"index {row['indexdef']}")
        for row in await conn.fetch(TRIGGERS):
            lines.append(
                f"trigger {row['event_object_table']}.{row['trigger_name']} "
                f"{row['action_timing']} {row['event_manipulation']} {row['action_statement']}"
            )
    finally:
        await conn.close()
    return "".join(f"{line}\n" for line in lines)


def write_fixture() -> Path:
    """Migrate a fresh database (PostgreSQL if TEST_DATABASE_URL is set) and save its schema."""
    with tempfile.TemporaryDirectory() as workdir:
        template = TemplateDatabase(Path(workdir))
        try:
            if template.sqlite_template is not None:
                url = f"sqlite:///{template.sqlite_template}"
            else:
                assert TEST_DATABASE_URL and template.pg_template
                url = _with_database(TEST_DATABASE_URL, template.pg_template)
            path = fixture_path(url)
            path.parent.mkdir(exist_ok=True)
            path.write_text(dump_schema(url))
        finally:
            template.close()
    return path


if __name__ == "__main__":
    print(f"Wrote {write_fixture().relative_to(ROOT)}")
