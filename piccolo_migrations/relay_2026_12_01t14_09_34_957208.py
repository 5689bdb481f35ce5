"""Webhook endpoints keep their signing secret sealed (app.core.sealed) in ``sealed_secret``;
the plain ``secret`` column goes. Endpoints added before cannot sign any more and say so in
their delivery log: the admin removes and adds them again (none existed outside development)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T14:09:34:957208"
VERSION = "1.38.0"
DESCRIPTION = "Webhook signing secrets kept sealed with a key derived from SECRET_KEY (sealed_secret), the plain column dropped"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="relay", description=DESCRIPTION)

    manager.drop_column(
        table_class_name="WebhookEndpoint",
        tablename="webhook_endpoint",
        column_name="secret",
        db_column_name="secret",
        schema=None,
    )

    manager.add_column(
        table_class_name="WebhookEndpoint",
        tablename="webhook_endpoint",
        column_name="sealed_secret",
        db_column_name="sealed_secret",
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
