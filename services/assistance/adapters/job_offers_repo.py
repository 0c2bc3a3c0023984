"""SQL of the job-offer outcomes: the recommendation a caller names, the person's outcomes in
the order the recommendations were given, and the once-per-person sanction row."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance.application.records import (
    EmploymentRecord,
    EmploymentService,
    OfferOutcomeRecord,
    SanctionRecord,
)
from services.assistance.domain.job_offers import OfferOutcome, RecordedOutcome
from shared.db import is_postgres

from .orm import employment_records, employment_services
from .orm_job_offers import job_offer_outcomes, job_offer_sanctions
from .repository import record_of

__all__ = ["JobOffersRepository"]


class JobOffersRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, record_id: str) -> EmploymentRecord | None:
        q = sa.select(employment_records).where(employment_records.c.id == record_id)
        row = (await self.session.execute(q)).first()
        return None if row is None else record_of(EmploymentRecord, row)

    async def recommendation(self, record_id: str, service_id: int) -> EmploymentService | None:
        q = sa.select(employment_services).where(
            employment_services.c.id == service_id, employment_services.c.record_id == record_id
        )
        row = (await self.session.execute(q)).first()
        return None if row is None else record_of(EmploymentService, row)

    async def recommendations(self, record_id: str) -> list[EmploymentService]:
        q = (
            sa.select(employment_services)
            .where(employment_services.c.record_id == record_id, employment_services.c.kind == "job_recommendation")
            .order_by(employment_services.c.provided_on, employment_services.c.id)
        )
        return [record_of(EmploymentService, r) for r in (await self.session.execute(q)).all()]

    async def outcome(self, service_id: int) -> OfferOutcomeRecord | None:
        q = sa.select(job_offer_outcomes).where(job_offer_outcomes.c.service_id == service_id)
        row = (await self.session.execute(q)).first()
        return None if row is None else record_of(OfferOutcomeRecord, row)

    async def add_outcome(self, outcome: OfferOutcomeRecord) -> None:
        await self.session.execute(sa.insert(job_offer_outcomes).values(**dataclasses.asdict(outcome)))

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

    async def outcomes_by_service(self, record_id: str) -> dict[int, OfferOutcomeRecord]:
        q = sa.select(job_offer_outcomes).where(job_offer_outcomes.c.record_id == record_id)
        return {int(r.service_id): record_of(OfferOutcomeRecord, r) for r in (await self.session.execute(q)).all()}

    async def lock_record(self, record_id: str) -> None:
        """Serialise outcome recording per person (PostgreSQL row lock; SQLite writers are serial)."""
        if is_postgres(self.session.bind):
            await self.session.execute(
                sa.select(employment_records.c.id).where(employment_records.c.id == record_id).with_for_update()
            )

    async def sanction(self, record_id: str) -> SanctionRecord | None:
        q = sa.select(job_offer_sanctions).where(job_offer_sanctions.c.record_id == record_id)
        row = (await self.session.execute(q)).first()
        return None if row is None else record_of(SanctionRecord, row)

    async def add_sanction(self, sanction: SanctionRecord) -> None:
        await self.session.execute(sa.insert(job_offer_sanctions).values(**dataclasses.asdict(sanction)))
