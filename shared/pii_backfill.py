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
    cols = [t.c[c] for c in (*text, *json_text, *json_typed)]
    changed = 0
    last: Any = None
    while True:
        q = sa.select(k, *cols).order_by(k).limit(batch)
        if last is not None:
            q = q.where(k > last)
        rows = conn.execute(q).all()
        if not rows:
            return changed
        for row in rows:
            values: dict[str, Any] = {}
            for c in text:
                v = row._mapping[c]
                if isinstance(v, str) and (m := mask_numbers_in_text(v)) != v:
                    values[c] = m
            for c in json_text:
                v = row._mapping[c]
                if isinstance(v, str) and v and (m := _mask_json_text(v)) != v:
                    values[c] = m
            for c in json_typed:
                v = row._mapping[c]
                if v is not None and (m := mask_numbers_in_value(v)) != v:
                    values[c] = m
            if values:
                conn.execute(sa.update(t).where(k == row._mapping[key]).values(**values))
                changed += 1
        last = rows[-1]._mapping[key]


def _mask_json_text(value: str) -> str:
    try:
        data = json.loads(value)
    except ValueError:
        return mask_numbers_in_text(value)
    masked = mask_numbers_in_value(data)
    return value if masked == data else json.dumps(masked, ensure_ascii=False)
