"""Masking free text already stored (a data migration's step): rows written before the free-text
scanner ran get their ID and phone numbers masked in place, in key order, batch by batch."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from shared.pii import mask_numbers_in_text, mask_numbers_in_value

__all__ = ["mask_stored_free_text"]


def mask_stored_free_text(
    conn: sa.Connection,
    table: str,
    key: str,
    *,
    text: Sequence[str] = (),
    json_text: Sequence[str] = (),
    json_typed: Sequence[str] = (),
    batch: int = 1000,
) -> int:
    """Mask the columns of `table` in place and return how many rows changed: `text` columns
    hold free text, `json_text` columns JSON written as text (rewritten only when a value
    changes), `json_typed` columns are `sa.JSON`. Idempotent (a masked text masks to itself), so it
    may run again, and a row whose values are unchanged is not written."""
    t = sa.table(
        table,
        sa.column(key),
        *(sa.column(c, sa.Text) for c in (*text, *json_text)),
        *(sa.column(c, sa.JSON) for c in json_typed),
    )
    k = t.c[key]
    names = [*text, *json_text, *json_typed]
    cols = [t.c[c] for c in names]
    # a changed row is written whole (its other columns as they are): one executemany a batch
    write = sa.update(t).where(k == sa.bindparam("_key")).values({c: sa.bindparam(f"_v_{c}") for c in names})
    changed = 0
    last: Any = None
    while True:
        q = sa.select(k, *cols).order_by(k).limit(batch)
        if last is not None:
            q = q.where(k > last)
        rows = conn.execute(q).all()
        if not rows:
            return changed
        updates = []
        for row in rows:
            values = dict(row._mapping)
            masked = {c: _masked(values[c], c in json_text) for c in names}
            if any(masked[c] != values[c] for c in names):
                updates.append({"_key": values[key], **{f"_v_{c}": masked[c] for c in names}})
        if updates:
            conn.execute(write, updates)
            changed += len(updates)
        last = rows[-1]._mapping[key]


def _masked(value: Any, json_text: bool) -> Any:
    if value is None:
        return None
    if json_text and isinstance(value, str):
        return _mask_json_text(value) if value else value
    return mask_numbers_in_value(value)


def _mask_json_text(value: str) -> str:
    try:
        data = json.loads(value)
    except ValueError:
        return mask_numbers_in_text(value)
    masked = mask_numbers_in_value(data)
    return value if masked == data else json.dumps(masked, ensure_ascii=False)
