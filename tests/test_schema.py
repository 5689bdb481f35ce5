"""The schema a fresh database gets from piccolo_migrations/ is the reviewed one.

``tests/schema/sqlite.sql`` and ``tests/schema/postgresql.txt`` are the schema as it was
reviewed; this test migrates a fresh database and compares. When you add a migration on
purpose, write the files again from a database migrated with it and review their diff in
your commit (see tests/schemas.py):

    python -m tests.schemas
    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python -m tests.schemas

A difference you did not mean is a migration that does not build what the tables declare.
"""

from __future__ import annotations

from tests.schemas import dump_schema, fixture_path


def test_fresh_database_has_the_reviewed_schema(database_url: str) -> None:
    assert dump_schema(database_url) == fixture_path(database_url).read_text()
