"""The SQL of scheduled screenings: the counties that have households and the (county, period)
lease row that makes one replica, and one poll, start a period's screening."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.orm import households
from services.identification.adapters.orm_loops import scheduled_screenings
from shared.db import is_postgres

__all__ = ["ScheduleRepository"]


class ScheduleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def counties(self) -> list[str]:
        """The county codes of the stored households, in order."""
        county = sa.func.substr(households.c.region_code, 1, 6)
        return [r[0] for r in (await self.session.execute(sa.select(county).distinct().order_by(county))).all()]

    async def claim_slot(self, county: str, period: str, *, replica: str, at: dt.datetime) -> bool:
        """Take the (county, period) row; False: another replica or an earlier poll has it."""
        insert = pg_insert if is_postgres(self.session.bind) else sqlite_insert
        claimed = await self.session.execute(
            insert(scheduled_screenings)
            .values(county=county, period=period, started_by=replica, started_at=at)
            .on_conflict_do_nothing(index_elements=["county", "period"])
        )
        return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]

    async def set_job(self, county: str, period: str, job_id: str) -> None:
        await self.session.execute(
            sa.update(scheduled_screenings)
            .where(scheduled_screenings.c.county == county, scheduled_screenings.c.period == period)
            .values(job_id=job_id)
        )
