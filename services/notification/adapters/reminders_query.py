"""Reads and writes of the reminders table: the page `GET /reminders` shows
(`application.ports.RemindersQuery`) and the due reminders the scheduler fires
(`application.ports.ReminderQueue`); the people consumer schedules and cancels them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.notification.adapters.orm import reminders
from services.notification.application.ports import DueReminderRow

__all__ = ["SqlReminders"]


class SqlReminders:
    """`application.ports.RemindersQuery` and `application.ports.ReminderQueue`."""

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

    async def due(self, now: dt.datetime, limit: int) -> list[DueReminderRow]:
        """`domain.delivery.reminder_due` in SQL: not fired, not cancelled, `fire_at` reached."""
        rc = reminders.c
        q = (
            sa.select(reminders)
            .where(rc.fired_at.is_(None), rc.cancelled_at.is_(None), rc.fire_at <= now)
            .order_by(rc.fire_at)
            .limit(limit)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        return list((await self.session.execute(q)).all())

    async def mark_fired(self, ids: Sequence[str], at: dt.datetime) -> None:
        rc = reminders.c
        await self.session.execute(sa.update(reminders).where(rc.id.in_(list(ids))).values(fired_at=at, updated_at=at))
