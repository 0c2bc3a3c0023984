"""The events a running service wrote to its outbox, decoded, in the order written."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shared.events import Event, decode_event

__all__ = ["outbox_events"]


async def outbox_events(ctx: Any) -> list[Event]:
    outbox = ctx.tables["outbox"]
    async with ctx.engine.connect() as conn:
        rows = (await conn.execute(sa.select(outbox.c.payload).order_by(outbox.c.id))).all()
    return [decode_event(bytes(r.payload)) for r in rows]
