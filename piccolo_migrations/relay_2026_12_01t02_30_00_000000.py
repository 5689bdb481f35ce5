"""Insights: daily rollups of the activity ledger, the daily headcount, the value settings."""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import Column, Integer, Timestamptz, Varchar

from app.core.db import NeverReusedSerial

ID = "2026-12-01T02:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Insights rollups"

FIGURES = ("shares", "clicks", "applications", "recommendations", "interviews", "hires")
ID_COLUMN: tuple[str, type[Column], dict[str, Any]] = (
    "id",
    NeverReusedSerial,
    {"primary_key": True},
)
DAY: tuple[str, type[Column], dict[str, Any]] = ("day", Varchar, {"length": 10, "index": True})
GROUPS: list[tuple[str, type[Column], dict[str, Any]]] = [
    ("team", Integer, {}),
    ("site", Integer, {}),
]
COUNTS: list[tuple[str, type[Column], dict[str, Any]]] = [(f, Integer, {}) for f in FIGURES]

TABLES: dict[str, tuple[str, list[tuple[str, type[Column], dict[str, Any]]]]] = {
    "InsightDay": (
        "insight_day",
        [
            ID_COLUMN,
            DAY,
            *GROUPS,
            ("item", Integer, {}),
            ("network", Varchar, {"length": 20, "default": ""}),
            ("referred", Integer, {"default": 1}),
            *COUNTS,
            ("apply_clicks", Integer, {}),
        ],
    ),
    "InsightMemberDay": (
        "insight_member_day",
        [ID_COLUMN, DAY, ("member", Integer, {"index": True}), *GROUPS, *COUNTS],
    ),
    "InsightHeadcount": (
        "insight_headcount",
        [ID_COLUMN, DAY, *GROUPS, ("members", Integer, {})],
    ),
    "InsightState": (
        "insight_state",
        [ID_COLUMN, ("last_activity", Integer, {}), ("refreshed_at", Timestamptz, {})],
    ),
    "InsightDigest": (
        "insight_digest",
        [
            ID_COLUMN,
            ("member", Integer, {"unique": True}),
            ("last_week", Varchar, {"length": 8, "default": ""}),
        ],
    ),
    "InsightSettings": (
        "insight_settings",
        [
            ID_COLUMN,
            ("cost_per_click", Integer, {"default": 300}),
            ("cost_per_hire", Integer, {"default": 470_000}),
            ("currency", Varchar, {"length": 3, "default": "EUR"}),
            ("updated_at", Timestamptz, {}),
        ],
    ),
}


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="relay", description=DESCRIPTION)
    for class_name, (tablename, columns) in TABLES.items():
        manager.add_table(class_name=class_name, tablename=tablename)
        for column_name, column_class, params in columns:
            manager.add_column(
                table_class_name=class_name,
                tablename=tablename,
                column_name=column_name,
                db_column_name=column_name,
                column_class_name=column_class.__name__,
                column_class=column_class,
                params=params,
            )
    return manager
