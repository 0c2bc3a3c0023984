"""The SQL of the people routing (`application.ports.PeopleRepository`): the links from a case to
the citizen who applied, and the reminders it schedules, moves and cancels."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.notification.adapters.orm import application_links, reminders
from services.notification.application.ports import ReminderRow
from shared.db import insert_ignoring_duplicates

__all__ = ["SqlPeople"]


class SqlPeople:
    """`application.ports.PeopleRepository`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    async def link_application(self, case_id: str, application_id: str, applicant_hash: str, at: dt.datetime) -> None:
        row = {"case_id": case_id, "application_id": application_id, "applicant_hash": applicant_hash, "created_at": at}
        await self.session.execute(insert_ignoring_duplicates(self._dialect, application_links, [row]))

    async def applicant_of(self, case_id: str) -> str | None:
        q = sa.select(application_links.c.applicant_hash).where(application_links.c.case_id == case_id)
        applicant: str | None = (await self.session.execute(q)).scalar_one_or_none()
        return applicant

    async def reminder(self, kind: str, ref_id: str) -> ReminderRow | None:
        rc = reminders.c
        return (await self.session.execute(sa.select(reminders).where(rc.kind == kind, rc.ref_id == ref_id))).first()

    async def add_reminder(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert_ignoring_duplicates(self._dialect, reminders, [values]))

    async def move_reminder(self, reminder_id: str, values: dict[str, Any]) -> None:
        await self.session.execute(sa.update(reminders).where(reminders.c.id == reminder_id).values(**values))

    async def cancel_reminders(self, kinds: Sequence[str], ref_id: str, reason: str, at: dt.datetime) -> None:
        rc = reminders.c
        await self.session.execute(
            sa.update(reminders)
            .where(rc.kind.in_(list(kinds)), rc.ref_id == ref_id, rc.fired_at.is_(None), rc.cancelled_at.is_(None))
            .values(cancelled_at=at, cancel_reason=reason, updated_at=at)
        )

    async def add_cancelled(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert_ignoring_duplicates(self._dialect, reminders, list(rows)))
