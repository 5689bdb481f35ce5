"""Piccolo's configuration module (PICCOLO_CONF=app.piccolo_conf).

``DB`` is the engine Relay uses, read from :mod:`app.core.db` whenever Piccolo asks (Relay
sets it with :func:`app.core.db.use_engine`). For Piccolo's own command line
(``PICCOLO_CLI``), it is built here from DATABASE_URL.
"""

import os

from piccolo.conf.apps import AppRegistry
from piccolo.engine.base import Engine

from app.core import db
from app.core.settings import Settings

if os.environ.get("PICCOLO_CLI"):
    db.use_engine(db.engine_from_url(Settings.from_env().database_url))

APP_REGISTRY = AppRegistry(apps=["app.piccolo_app"])


def __getattr__(name: str) -> Engine | None:
    """``DB``, looked up at each use (PEP 562), so it is always the engine in use."""
    if name == "DB":
        return db.engine_in_use()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
