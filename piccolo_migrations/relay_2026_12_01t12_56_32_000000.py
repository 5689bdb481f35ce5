"""Candidates: the duplicate keys of the rows already there, and the index that finds a
person's earlier referrals (a migration of its own: Piccolo runs a migration's raw steps
before it changes its tables). The same SQL on SQLite and PostgreSQL.

Existing rows get their mailbox and phone keys (so that a new referral of someone already a
candidate is recognised); none of them is marked a duplicate after the fact: points and
bonuses already earned stay as they were.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T12:56:32:000000"
VERSION = "1.38.0"
DESCRIPTION = "Candidates' duplicate keys filled in"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="relay", description=DESCRIPTION)

    async def fill_keys() -> None:
        from piccolo.querystring import QueryString

        from app.candidates.duplicates import email_key, phone_key
        from app.core.db import current_engine

        engine = current_engine()
        rows = await engine.run_querystring(
            QueryString(
                "SELECT id, email, phone FROM candidate WHERE consent_at IS NOT NULL"
            )
        )
        async with engine.transaction():  # 20,000 rows: about 20 s on SQLite, once
            for row in rows or []:
                keys = email_key(str(row["email"] or "")), phone_key(str(row["phone"] or ""))
                if any(keys):
                    await engine.run_querystring(
                        QueryString(
                            "UPDATE candidate SET email_key = {}, phone_key = {} WHERE id = {}",
                            *keys,
                            row["id"],
                        )
                    )

    manager.add_raw(fill_keys)
    return manager
