"""A web process carries only what its requests use (issue 15): scim2-models with pydantic
(about 18 MB together) and py_webauthn (about 5 MB) are imported by the first SCIM
request or passkey ceremony, not when the app is built. The SCIM and passkey tests show
they still work once loaded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BUILD_AND_LIST = """
import sys
from app.main import create_app
create_app()
print(" ".join(sorted(m for m in ("scim2_models", "pydantic", "webauthn") if m in sys.modules)))
"""


def test_a_freshly_built_app_has_not_imported_scim_or_passkey_libraries(tmp_path: Path) -> None:
    env = {**os.environ, "RELAY_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", BUILD_AND_LIST],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == ""
