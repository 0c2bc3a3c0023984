"""The `applications` rows (`application.ports.ApplicationRepository`): a self-application or an
officer's, with its consent and submitter's blind index; the unique index on open applications
turns a second one for the household into `ApplicationExists`."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.orm_cases import applications
from services.identification.application.ports import ApplicationExists, ApplicationRow

__all__ = ["ApplicationsRepository"]


class ApplicationsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, values: dict[str, Any]) -> None:
        await self.session.execute(sa.insert(applications).values(**values))
        try:
            await self.session.flush()
        except sa.exc.IntegrityError:
            raise ApplicationExists(values["household_id"]) from None

    async def get(self, application_id: str) -> ApplicationRow | None:
        stmt = sa.select(applications).where(applications.c.id == application_id)
        return (await self.session.execute(stmt)).first()

    async def submitted_by(self, household_id: str, submitter_index: str) -> bool:
        stmt = sa.select(sa.func.count()).where(
            applications.c.household_id == household_id, applications.c.submitter_index == submitter_index
        )
        return bool((await self.session.execute(stmt)).scalar_one())
