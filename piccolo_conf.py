"""For Piccolo's own command line, run from the repository root:

    piccolo migrations new relay --auto

Relay itself uses app.piccolo_conf (set in app/__init__.py) and never imports this file.
"""

import os

os.environ["PICCOLO_CLI"] = "1"

from app.piccolo_conf import APP_REGISTRY, DB

__all__ = ["APP_REGISTRY", "DB"]
