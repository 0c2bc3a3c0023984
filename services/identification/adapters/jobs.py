"""Jobs (bulk imports, screenings) at rest: created once per idempotency key, progress and the
resumption point written in the same transaction as the work they describe, so a crash resumes
exactly where the last commit left off. None of these commit."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.households import new_household_id
from services.identification.adapters.orm import jobs
from shared.db import utcnow

__all__ = ["MAX_ERRORS", "Job", "create_job", "find_job", "get_job", "job_read", "save_progress"]

#: How many row errors a job keeps in full (the rest are only counted).
MAX_ERRORS = 100


@dataclass
class Job:
    id: str
    kind: str
    status: str
    region: str
    created_by: str
    idempotency_key: str | None
    params: dict[str, Any]
    cursor: Any
    rows_done: int
    rows_failed: int
    rows_total: int | None
    errors: list[dict[str, Any]]
    error_count: int
    result: dict[str, Any]
    started_at: dt.datetime
    updated_at: dt.datetime
    finished_at: dt.datetime | None

    def add_errors(self, errors: list[dict[str, Any]]) -> None:
        room = MAX_ERRORS - len(self.errors)
        if room > 0:
            self.errors.extend(errors[:room])
        self.error_count += len(errors)


def _job(row: Any) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        status=row.status,
        region=row.region,
        created_by=row.created_by,
        idempotency_key=row.idempotency_key,
        params=json.loads(row.params),
        cursor=json.loads(row.cursor) if row.cursor else None,
        rows_done=row.rows_done,
        rows_failed=row.rows_failed,
        rows_total=row.rows_total,
        errors=json.loads(row.errors),
        error_count=row.error_count,
        result=json.loads(row.result),
        started_at=_aware(row.started_at),
        updated_at=_aware(row.updated_at),
        finished_at=_aware(row.finished_at) if row.finished_at else None,
    )


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


async def create_job(
    session: AsyncSession,
    *,
    kind: str,
    region: str,
    created_by: str,
    idempotency_key: str | None = None,
    params: dict[str, Any] | None = None,
    rows_total: int | None = None,
) -> Job:
    now = utcnow()
    values = {
        "id": new_household_id(),  # no 11-digit run: job ids go into events
        "kind": kind,
        "status": "running",
        "region": region,
        "created_by": created_by,
        "idempotency_key": idempotency_key,
        "params": json.dumps(params or {}),
        "cursor": None,
        "rows_done": 0,
        "rows_failed": 0,
        "rows_total": rows_total,
        "errors": "[]",
        "error_count": 0,
        "result": "{}",
        "started_at": now,
        "updated_at": now,
        "finished_at": None,
    }
    await session.execute(sa.insert(jobs).values(**values))
    row = (await session.execute(sa.select(jobs).where(jobs.c.id == values["id"]))).one()
    return _job(row)


async def get_job(session: AsyncSession, job_id: str) -> Job | None:
    row = (await session.execute(sa.select(jobs).where(jobs.c.id == job_id))).first()
    return None if row is None else _job(row)


async def find_job(session: AsyncSession, *, kind: str, created_by: str, idempotency_key: str) -> Job | None:
    row = (
        await session.execute(
            sa.select(jobs).where(
                jobs.c.kind == kind, jobs.c.created_by == created_by, jobs.c.idempotency_key == idempotency_key
            )
        )
    ).first()
    return None if row is None else _job(row)


async def save_progress(session: AsyncSession, job: Job) -> None:
    """Write the job's counters, cursor, errors, result and status (in the caller's transaction)."""
    job.updated_at = utcnow()
    await session.execute(
        sa.update(jobs)
        .where(jobs.c.id == job.id)
        .values(
            status=job.status,
            cursor=None if job.cursor is None else json.dumps(job.cursor),
            rows_done=job.rows_done,
            rows_failed=job.rows_failed,
            rows_total=job.rows_total,
            errors=json.dumps(job.errors, ensure_ascii=False),
            error_count=job.error_count,
            result=json.dumps(job.result, ensure_ascii=False),
            updated_at=job.updated_at,
            finished_at=job.finished_at,
        )
    )


def job_read(job: Job) -> dict[str, Any]:
    """The `GET /jobs/{id}` body: status, rows done / total, rate, errors (first N) and count."""
    end = job.finished_at or job.updated_at
    elapsed = (end - job.started_at).total_seconds()
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "region": job.region,
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "rows_failed": job.rows_failed,
        "rate_per_s": round(job.rows_done / elapsed, 1) if elapsed > 0 and job.rows_done else None,
        "errors": job.errors,
        "error_count": job.error_count,
        "result": job.result,
        "created_at": job.started_at,
        "updated_at": job.updated_at,
        "finished_at": job.finished_at,
    }
