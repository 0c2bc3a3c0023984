"""A bulk import's writes (`application.ports.ImportRepository`): its job, a prepared chunk
(COPY on PostgreSQL, executemany on SQLite), and the job's progress. A concurrent import
inserting one of the chunk's households first is `HouseholdsWrittenMeanwhile` (retried)."""

from __future__ import annotations

from typing import Any

from asyncpg.exceptions import UniqueViolationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.households import PreparedBatch, UpsertSummary, write_prepared
from services.identification.adapters.jobs import Job, chunk_summary, create_job, find_job, get_job, save_progress
from services.identification.application.ports import HouseholdsWrittenMeanwhile
from shared.db import is_postgres

__all__ = ["ImportsRepository"]


class ImportsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def postgres(self) -> bool:
        """Rows are prepared for COPY (PostgreSQL) or executemany (SQLite)."""
        return is_postgres(self.session.bind)

    async def find_job(self, *, created_by: str, idempotency_key: str) -> Job | None:
        return await find_job(self.session, kind="import", created_by=created_by, idempotency_key=idempotency_key)

    async def create_job(
        self,
        *,
        region: str,
        created_by: str,
        idempotency_key: str | None,
        params: dict[str, Any],
        rows_total: int | None,
    ) -> Job:
        return await create_job(
            self.session,
            kind="import",
            region=region,
            created_by=created_by,
            idempotency_key=idempotency_key,
            params=params,
            rows_total=rows_total,
        )

    async def write(self, batch: PreparedBatch, *, within: str) -> UpsertSummary:
        try:
            return await write_prepared(self.session, batch, within=within)
        except (IntegrityError, UniqueViolationError):
            raise HouseholdsWrittenMeanwhile() from None

    async def save_progress(self, job: Job) -> None:
        await save_progress(self.session, job)

    async def get_job(self, job_id: str) -> Job | None:
        return await get_job(self.session, job_id)

    async def chunk_summary(self, job_id: str) -> dict[str, Any] | None:
        """A screening job's chunks: who claimed and did what (`GET /jobs/{id}`)."""
        return await chunk_summary(self.session, job_id)
