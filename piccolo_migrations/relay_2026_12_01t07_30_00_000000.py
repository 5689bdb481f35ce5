"""Insights at scale: pre-summed rows per span (day, week, month, year) and dimension, in
place of the per-member day rows (the member is one of the dimensions now)."""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import Column, Integer, Varchar

from app.core.db import NeverReusedSerial

ID = "2026-12-01T07:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Insights totals per span and dimension"

FIGURES = (
    "shares",
    "clicks",
    "applications",
    "recommendations",
    "interviews",
    "hires",
    "apply_clicks",
    "all_applications",
    "all_hires",
)
COLUMNS: list[tuple[str, type[Column], dict[str, Any]]] = [
    ("id", NeverReusedSerial, {"primary_key": True}),
    ("span", Varchar, {"length": 11}),
    ("dim", Varchar, {"length": 8}),
    ("key", Integer, {}),
    ("network", Varchar, {"length": 20, "default": ""}),
    ("team", Integer, {}),
    ("site", Integer, {}),
    *((name, Integer, {}) for name in FIGURES),
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="relay", description=DESCRIPTION)
    manager.add_table(class_name="InsightTotal", tablename="insight_total")
    for column_name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name="InsightTotal",
            tablename="insight_total",
            column_name=column_name,
            db_column_name=column_name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
        )
    manager.drop_table(class_name="InsightMemberDay", tablename="insight_member_day")
    return manager
