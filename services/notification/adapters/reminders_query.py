"""Reads of the reminders table for `GET /reminders` (the scheduler writes them)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.notification.adapters.orm import reminders

__all__ = ["SqlReminders"]


class SqlReminders:
    """`application.ports.RemindersQuery`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(self, *, region: str, pending: bool, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        r = reminders.c
        where: Any = sa.true()
        if region:
            where = sa.and_(sa.func.length(r.region) >= len(region), sa.func.substr(r.region, 1, len(region)) == region)
        if pending:
            where = sa.and_(where, r.fired_at.is_(None), r.cancelled_at.is_(None))
        total = (
            await self.session.execute(sa.select(sa.func.count()).select_from(reminders).where(where))
        ).scalar_one()
        rows = (
            await self.session.execute(
                sa.select(reminders).where(where).order_by(r.fire_at).limit(limit).offset(offset)
            )
        ).all()
        return [dict(row._mapping) for row in rows], int(total)
