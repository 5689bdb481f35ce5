"""Issue 18: feed excerpts keep a body's blocks apart.

An item's excerpt (its card's teaser) is computed from its Markdown when it is saved. It used
to run list items and paragraphs together ("…our product roadmap A hike…"); it now separates
them ("…our product roadmap · A hike…"). This writes the excerpt of every item saved before,
in batches, with the same function the studio calls on save. No schema change.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.querystring import QueryString

ID = "2026-12-01T10:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Feed excerpts recomputed with block boundaries as separators"

BATCH = 500


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="relay", description=DESCRIPTION)

    async def recompute_excerpts() -> None:
        from app.content.markdown import plain_excerpt
        from app.core.db import current_engine

        engine = current_engine()
        last = 0
        while True:
            rows = await engine.run_querystring(
                QueryString(
                    "SELECT id, body, excerpt FROM content_item WHERE id > {} ORDER BY id LIMIT {}",
                    last,
                    BATCH,
                )
            )
            if not rows:
                return
            for row in rows:
                excerpt = plain_excerpt(row["body"] or "", 160)
                if excerpt != row["excerpt"]:
                    await engine.run_querystring(
                        QueryString(
                            "UPDATE content_item SET excerpt = {} WHERE id = {}",
                            excerpt,
                            row["id"],
                        )
                    )
            last = rows[-1]["id"]

    manager.add_raw(recompute_excerpts)
    return manager
