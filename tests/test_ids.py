"""Ids are never given out twice: keys built from them (activities, ledger, nudges, mail)
must not find a deleted row's keys already taken. See ``app.core.db.NeverReusedSerial``."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient
from piccolo.table import Table

from app.activity.tables import Activity, ActivityKind
from app.candidates.pipeline import delete_candidate
from app.candidates.tables import Candidate
from app.core.settings import Settings
from app.piccolo_app import APP_CONFIG
from app.points import ledger
from app.sharing import service as sharing
from tests.factories import make_item, make_member
from tests.helpers import GOOD, apply


async def test_an_applicant_after_a_deleted_candidate_is_credited_to_their_own_referrer(
    client: AsyncTestClient,  # type: ignore[type-arg]
    settings: Settings,
) -> None:
    item_id = await make_item("offer", "Data engineer")
    lea, hugo, marc = [await make_member(name=name) for name in ("Léa", "Hugo", "Marc")]
    editor = await make_member(role="editor")

    async def applies_through(member_id: int, name: str, email: str) -> int:
        code = await sharing.link_code(member_id, item_id)
        # Each person their own number: the same one would make them one person (a duplicate).
        fields = {
            **GOOD,
            "name": name,
            "email": email,
            "phone": f"+33 6 00 00 {member_id:05d}"[:20],
        }
        response = await apply(client, code, fields)
        assert response.status_code == 200, response.text
        row = await Candidate.select(Candidate.id).where(Candidate.email == email).first()
        assert row is not None
        return int(row["id"])

    jeanne = await applies_through(lea.id, "Jeanne Durand", "jeanne@example.org")
    paul = await applies_through(hugo.id, "Paul Petit", "paul@example.org")
    assert await delete_candidate(settings.data_dir, paul, by=editor.id)

    chloe = await applies_through(marc.id, "Chloé Roux", "chloe@example.org")

    assert chloe > paul
    credited = await Activity.select(Activity.member, Activity.key).where(
        Activity.kind == ActivityKind.application.value
    )
    assert {row["key"]: row["member"] for row in credited} == {
        f"application:{jeanne}": lea.id,
        f"application:{paul}": hugo.id,
        f"application:{chloe}": marc.id,
    }
    assert await ledger.earned(marc.id) == await ledger.earned(hugo.id) > 0


async def _insert(table: type[Table], parents: dict[type[Table], int]) -> int:
    """A row of defaults, with a row of each table a required foreign key points at."""
    values: dict[str, Any] = {}
    for column in table._meta.foreign_key_columns:
        if not column._meta.null:
            parent = column._foreign_key_meta.resolved_references
            if parent not in parents:
                parents[parent] = await _insert(parent, parents)
            values[column._meta.name] = parents[parent]
    rows = await table.insert(table(**values)).returning(table._meta.primary_key)
    return int(rows[0]["id"])


async def test_no_table_gives_a_deleted_rows_id_again(database: str) -> None:
    parents: dict[type[Table], int] = {}
    reused = []
    for table in APP_CONFIG.table_classes:
        first = await _insert(table, parents)
        await table.delete().where(table._meta.primary_key == first)
        if await _insert(table, parents) <= first:
            reused.append(table._meta.tablename)
    assert reused == []
