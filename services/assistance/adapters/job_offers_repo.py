"""SQL of the job-offer outcomes: the recommendation a caller names, the person's outcomes in
the order the recommendations were given, and the once-per-person sanction row."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance.domain.job_offers import OfferOutcome, RecordedOutcome

from .orm import employment_records, employment_services
from .orm_job_offers import job_offer_outcomes, job_offer_sanctions

__all__ = ["JobOffersRepository"]


class JobOffersRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, record_id: str) -> Any | None:
        q = sa.select(employment_records).where(employment_records.c.id == record_id)
        return (await self.session.execute(q)).first()

    async def recommendation(self, record_id: str, service_id: int) -> Any | None:
        q = sa.select(employment_services).where(
            employment_services.c.id == service_id, employment_services.c.record_id == record_id
        )
        return (await self.session.execute(q)).first()

    async def recommendations(self, record_id: str) -> list[Any]:
        q = (
            sa.select(employment_services)
            .where(employment_services.c.record_id == record_id, employment_services.c.kind == "job_recommendation")
            .order_by(employment_services.c.provided_on, employment_services.c.id)
        )
        return list((await self.session.execute(q)).all())

    async def outcome(self, service_id: int) -> Any | None:
        q = sa.select(job_offer_outcomes).where(job_offer_outcomes.c.service_id == service_id)
        return (await self.session.execute(q)).first()

    async def add_outcome(self, row: dict[str, Any]) -> None:
        await self.session.execute(sa.insert(job_offer_outcomes).values(**row))

    async def outcomes(self, record_id: str) -> list[RecordedOutcome]:
        """The person's recorded outcomes in the order the recommendations were given."""
        q = (
            sa.select(job_offer_outcomes.c.service_id, job_offer_outcomes.c.outcome, job_offer_outcomes.c.valid_reason)
            .join(employment_services, employment_services.c.id == job_offer_outcomes.c.service_id)
            .where(job_offer_outcomes.c.record_id == record_id)
            .order_by(employment_services.c.provided_on, employment_services.c.id)
        )
        return [
            RecordedOutcome(str(r.service_id), OfferOutcome(r.outcome), bool(r.valid_reason))
            for r in (await self.session.execute(q)).all()
        ]

    async def outcomes_by_service(self, record_id: str) -> dict[int, Any]:
        q = sa.select(job_offer_outcomes).where(job_offer_outcomes.c.record_id == record_id)
        return {int(r.service_id): r for r in (await self.session.execute(q)).all()}

    async def lock_record(self, record_id: str) -> None:
        """Serialise outcome recording per person (PostgreSQL row lock; SQLite writers are serial)."""
        if self.session.bind.dialect.name == "postgresql":
            await self.session.execute(
                sa.select(employment_records.c.id).where(employment_records.c.id == record_id).with_for_update()
            )

    async def sanction(self, record_id: str) -> Any | None:
        q = sa.select(job_offer_sanctions).where(job_offer_sanctions.c.record_id == record_id)
        return (await self.session.execute(q)).first()

    async def add_sanction(self, row: dict[str, Any]) -> None:
        await self.session.execute(sa.insert(job_offer_sanctions).values(**row))
