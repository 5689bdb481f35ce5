from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T10:30:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "Careers site links"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="relay", description=DESCRIPTION)

    manager.add_column(
        table_class_name="CandidatePolicy",
        tablename="candidate_policy",
        column_name="careers_url",
        db_column_name="careers_url",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 500,
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
        table_class_name="CandidatePolicy",
        tablename="candidate_policy",
        column_name="careers_url_fr",
        db_column_name="careers_url_fr",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 500,
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
