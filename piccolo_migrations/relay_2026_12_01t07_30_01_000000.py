"""Insights' indexes, matching the pages' queries (a migration of its own: Piccolo runs a
migration's raw steps before it creates its tables). The same SQL on SQLite and PostgreSQL.

The rows the periodic job rebuilds from the ledger (``app.insights.rollups.rebuild``) the
first time it runs on a database, so none is lost here.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T07:30:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "Insights indexes"

INDEXES = {
    # One span's rows of one dimension (a period is a few spans), and the one row each
    # (dim, span, key, network, team, site) that the periodic job adds a day's change to.
    "insight_total_cell": (
        "UNIQUE INDEX",
        "insight_total (dim, span, key, network, team, site)",
    ),
    # One member's own figures (My impact).
    "insight_total_member": ("INDEX", "insight_total (key, dim, span)"),
    # A filtered overview or breakdown reads the fine rows of one team, site or item.
    "insight_day_team": ("INDEX", "insight_day (team, day)"),
    "insight_day_site": ("INDEX", "insight_day (site, day)"),
    "insight_day_item": ("INDEX", "insight_day (item, day)"),
    # The daily headcount of everyone, a team or a site over a period.
    "insight_headcount_cell": ("INDEX", "insight_headcount (team, site, day)"),
}


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="relay", description=DESCRIPTION)

    async def create_indexes() -> None:
        from app.core.db import current_engine

        for name, (kind, target) in INDEXES.items():
            await current_engine().run_ddl(f"CREATE {kind} {name} ON {target}")
        # Rebuilt from the ledger by the next round of the periodic job.
        await current_engine().run_ddl("UPDATE insight_state SET last_activity = 0")

    async def drop_indexes() -> None:
        from app.core.db import current_engine

        for name in INDEXES:
            await current_engine().run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
