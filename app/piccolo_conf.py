"""Piccolo's configuration module (PICCOLO_CONF=app.piccolo_conf).

``DB`` is built from DATABASE_URL for Piccolo's own command line; Relay itself sets it
through :func:`app.core.db.use_engine`.
"""

import os

from piccolo.conf.apps import AppRegistry
from piccolo.engine.base import Engine

DB: Engine | None = None
if os.environ.get("PICCOLO_CLI"):
    from app.core.db import engine_from_url
    from app.core.settings import Settings

    DB = engine_from_url(Settings.from_env().database_url)

APP_REGISTRY = AppRegistry(apps=["app.piccolo_app"])
