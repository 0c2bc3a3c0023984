"""The data migrations iden_0013, assi_0005, subs_0004 and noti_0003 mask the ID and phone numbers
in free text stored before the scanner ran: a row is planted in every free-text column of every
service at the previous head, the migration runs, and the stored values hold only the masked forms
(everything else in the row unchanged). Running the step again changes nothing."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import services.assistance
import services.identification
import services.notification
import services.subsidy
from services.assistance.adapters.orm import metadata as assistance_md
from services.identification.adapters.orm import metadata as identification_md
from services.notification.adapters.orm import metadata as notification_md
from services.subsidy.adapters.orm import metadata as subsidy_md
from shared.db import make_engine
from shared.identifiers import id_check_digit
from shared.migrations import upgrade
from shared.pii import mask_id_number
from shared.pii_backfill import mask_stored_free_text

ID = "34122119680416369" + id_check_digit("34122119680416369")
CLEAR = f"户主 {ID}，电话 13812345678"
MASKED = f"户主 {mask_id_number(ID)}，电话 138****5678"


def _filler(col: sa.Column[Any], n: int) -> Any:
    """A value any NOT NULL column accepts (the migrations only look at free text)."""
    t = col.type
    if isinstance(t, sa.Boolean):
        return False
    if isinstance(t, sa.Integer):
        return n
    if isinstance(t, sa.Numeric):
        return Decimal("1.00")
    if isinstance(t, sa.DateTime):
        return dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    if isinstance(t, sa.Date):
        return dt.date(2026, 1, 1)
    if isinstance(t, sa.JSON):
        return []
    if isinstance(t, sa.LargeBinary):
        return b"\x01"
    length = getattr(t, "length", None) or 36
    return f"r{n}"[:length]


# service, previous head, metadata, {table: {column: (planted, expected)}}
_TEXT = (CLEAR, MASKED)
_JSON_TEXT = (
    json.dumps({"note": CLEAR, "days": 3, "contact": 13912345678}, ensure_ascii=False),
    {"note": MASKED, "days": 3, "contact": "139****5678"},
)
_LIST_TEXT = (json.dumps([CLEAR], ensure_ascii=False), [MASKED])
CASES: list[tuple[str, str, sa.MetaData, dict[str, dict[str, tuple[Any, Any]]]]] = [
    (
        "identification",
        "iden_0007",
        identification_md,
        {
            "applications": {"reason": _TEXT},
            "cases": {"reason": _TEXT, "objections": _JSON_TEXT, "investigators": _LIST_TEXT},
            "case_history": {"note": _TEXT},
            "signals": {"payload": _JSON_TEXT},
        },
    ),
    (
        "assistance",
        "assi_0003",
        assistance_md,
        {
            "measures": {"reason": _TEXT, "description": _TEXT, "outcome": _TEXT, "drop_reason": _TEXT},
            "plan_history": {"note": _TEXT},
            "measure_history": {"note": _TEXT},
            "contact_assignments": {"reason": _TEXT},
            "contacts": {"unit": _TEXT},
            "visits": {"findings": _TEXT, "attachments": ([CLEAR, "photo-1.jpg"], [MASKED, "photo-1.jpg"])},
            "employment_records": {"survey": ({"industry": CLEAR, "hukou_code": "341221"}, None)},
            "employment_services": {"detail": _TEXT},
            "placements": {"employer": _TEXT},
            "post_wages": {"post": _TEXT},
        },
    ),
    ("subsidy", "subs_0002", subsidy_md, {"decisions": {"rejection_reason": _TEXT, "history": _JSON_TEXT}}),
    ("notification", "noti_0002", notification_md, {"subscriptions": {"description": _TEXT}}),
]
SCRIPTS = {
    "identification": services.identification,
    "assistance": services.assistance,
    "subsidy": services.subsidy,
    "notification": services.notification,
}


def _expected(planted: Any, expected: Any) -> Any:
    if expected is None:  # a JSON object: masked value by value
        return {"industry": MASKED, "hukou_code": "341221"}
    return expected


@pytest.mark.parametrize(("service", "previous", "md", "plants"), CASES, ids=[c[0] for c in CASES])
async def test_data_migration_masks_free_text_stored_before(
    database_url: str, service: str, previous: str, md: sa.MetaData, plants: dict[str, dict[str, tuple[Any, Any]]]
) -> None:
    scripts = Path(SCRIPTS[service].__file__).parent / "migrations"
    engine = make_engine(database_url)
    try:
        await upgrade(engine, service, scripts, previous)
        needed = set(plants)
        for table in reversed(md.sorted_tables):  # the parents the planted rows refer to
            if table.name in needed:
                needed |= {fk.column.table.name for fk in table.foreign_keys}
        async with engine.begin() as conn:
            for table in md.sorted_tables:
                if table.name not in needed:
                    continue
                row = {c.name: _filler(c, i) for i, c in enumerate(table.columns) if not c.nullable or c.primary_key}
                for c in table.columns:  # one row a table: every key "k", every reference to it "k"
                    if c.foreign_keys or (c.primary_key and not isinstance(c.type, sa.Integer)):
                        row[c.name] = "k"
                    elif c.primary_key:
                        row.pop(c.name, None)  # autoincrement
                row.update({c: planted for c, (planted, _) in plants.get(table.name, {}).items()})
                await conn.execute(table.insert().values(**row))
        await upgrade(engine, service, scripts)
        async with engine.connect() as conn:
            for name, columns in plants.items():
                table = md.tables[name]
                got = (await conn.execute(sa.select(table))).one()._mapping
                for c, (planted, expected) in columns.items():
                    value = got[c]
                    text_column = isinstance(table.c[c].type, sa.Text | sa.String)
                    if text_column and isinstance(planted, str) and planted.startswith(("{", "[")):
                        value = json.loads(value)
                    assert value == _expected(planted, expected), f"{name}.{c}"
                    assert ID not in json.dumps(value, ensure_ascii=False)
                    assert "13812345678" not in json.dumps(value, ensure_ascii=False)

            def again(sync: sa.Connection) -> int:
                return sum(
                    mask_stored_free_text(sync, name, md.tables[name].primary_key.columns.keys()[0], text=list(cols))
                    for name, cols in plants.items()
                    if all(isinstance(md.tables[name].c[c].type, sa.Text | sa.String) for c in cols)
                )

            assert await conn.run_sync(again) == 0  # idempotent: nothing left to mask
    finally:
        await engine.dispose()


async def test_backfill_walks_every_batch_and_skips_clean_rows(database_url: str) -> None:
    engine = make_engine(database_url)
    md = sa.MetaData()
    notes = sa.Table("notes", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("text", sa.Text))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(md.create_all)
            await conn.execute(
                notes.insert(),
                [{"id": i, "text": CLEAR if i % 3 == 0 else f"户 {i} 人"} for i in range(1, 26)]
                + [{"id": 26, "text": None}],
            )

            def run(sync: sa.Connection) -> int:
                return mask_stored_free_text(sync, "notes", "id", text=["text"], batch=4)

            assert await conn.run_sync(run) == 8  # ids 3, 6, … 24
            rows = dict((await conn.execute(sa.select(notes.c.id, notes.c.text))).all())
            assert [i for i, v in rows.items() if v == MASKED] == [3, 6, 9, 12, 15, 18, 21, 24]
            assert rows[4] == "户 4 人"
            assert rows[26] is None
            assert await conn.run_sync(run) == 0
    finally:
        await engine.dispose()
