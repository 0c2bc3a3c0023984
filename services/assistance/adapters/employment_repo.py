"""SQL of the employment services: laborers' survey records, the services given, placements and
public-welfare post wages (the `Employment` port)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance.application.records import EmploymentRecord, EmploymentService, Placement, PostWage

from .orm import employment_records, employment_services, placements, post_wages
from .repository import record_of

__all__ = ["EmploymentRepository"]


class EmploymentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _record(self, where: Any) -> EmploymentRecord | None:
        row = (await self.session.execute(sa.select(employment_records).where(where))).first()
        return None if row is None else record_of(EmploymentRecord, row)

    async def record(self, record_id: str) -> EmploymentRecord | None:
        return await self._record(employment_records.c.id == record_id)

    async def record_of(self, person_ref: str) -> EmploymentRecord | None:
        return await self._record(employment_records.c.person_ref == person_ref)

    async def add_record(self, record: EmploymentRecord) -> None:
        await self.session.execute(employment_records.insert().values(**dataclasses.asdict(record)))

    async def update_survey(self, record_id: str, survey: dict[str, Any], at: dt.datetime) -> None:
        await self.session.execute(
            employment_records.update().where(employment_records.c.id == record_id).values(survey=survey, updated_at=at)
        )

    async def add_service(self, service: EmploymentService) -> None:
        values = dataclasses.asdict(service)
        del values["id"]  # assigned by the database
        await self.session.execute(employment_services.insert().values(**values))

    async def add_placement(self, placement: Placement) -> None:
        await self.session.execute(placements.insert().values(**dataclasses.asdict(placement)))

    async def post_wage_recorded(self, person_ref: str, year: int) -> bool:
        q = sa.select(post_wages.c.id).where(post_wages.c.person_ref == person_ref, post_wages.c.year == year)
        return (await self.session.execute(q)).first() is not None

    async def add_post_wage(self, wage: PostWage) -> None:
        await self.session.execute(post_wages.insert().values(**dataclasses.asdict(wage)))
