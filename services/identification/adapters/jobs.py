"""Jobs (bulk imports, screenings) at rest: created once per idempotency key, progress and the
resumption point written in the same transaction as the work they describe, so a crash resumes
exactly where the last commit left off; and a job's chunks, which any replica may claim (a lease)
and finish. None of these commit."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.households import new_household_id
from services.identification.adapters.orm import job_chunks, jobs
from services.identification.application.stored import MAX_ERRORS, Chunk, Job
from shared.db import is_postgres, utcnow

__all__ = [
    "MAX_ERRORS",
    "Chunk",
    "Job",
    "chunk_summary",
    "chunks_left",
    "claim_chunk",
    "create_chunks",
    "create_job",
    "find_job",
    "finish_chunk",
    "get_job",
    "job_read",
    "lock_job",
    "save_progress",
]


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
        "failure": job.result.get("failure"),
        "created_at": job.started_at,
        "updated_at": job.updated_at,
        "finished_at": job.finished_at,
    }


# --- chunks: a job's work shared by the replicas -------------------------------------------


def _chunk(row: Any) -> Chunk:
    return Chunk(
        job_id=row.job_id,
        seq=row.seq,
        after=None if row.after_region is None else (row.after_region, row.after_id),
        last=(row.last_region, row.last_id),
        rows=row.rows,
        claimed_by=row.claimed_by,
        attempts=row.attempts,
    )


async def create_chunks(
    session: AsyncSession,
    job_id: str,
    bounds: list[tuple[str, str, int]],
    *,
    first_after: tuple[str, str] | None = None,
) -> int:
    """The job's chunks from the keyset bounds [(last region_code, last id, rows)] in order;
    `first_after`: the first chunk's lower bound (none: from the first household of all)."""
    rows = []
    after: tuple[str | None, str | None] = first_after or (None, None)
    for seq, (region, last_id, n) in enumerate(bounds):
        rows.append(
            {
                "job_id": job_id,
                "seq": seq,
                "after_region": after[0],
                "after_id": after[1],
                "last_region": region,
                "last_id": last_id,
                "rows": n,
                "status": "pending",
                "attempts": 0,
            }
        )
        after = (region, last_id)
    for i in range(0, len(rows), 500):
        await session.execute(sa.insert(job_chunks), rows[i : i + 500])
    return len(rows)


async def claim_chunk(session: AsyncSession, *, kind: str, replica: str, lease: dt.timedelta) -> Chunk | None:
    """Claim the next pending chunk of a running job of `kind` — or one whose claim's lease ran
    out (its replica died) — for `replica`. PostgreSQL: `FOR UPDATE SKIP LOCKED`, so replicas
    never wait for one another; SQLite: the write lock (BEGIN IMMEDIATE) serializes claims."""
    now = utcnow()
    pick = (
        sa.select(job_chunks.c.job_id, job_chunks.c.seq)
        .join(jobs, jobs.c.id == job_chunks.c.job_id)
        .where(
            jobs.c.kind == kind,
            jobs.c.status == "running",
            sa.or_(
                job_chunks.c.status == "pending",
                sa.and_(job_chunks.c.status == "claimed", job_chunks.c.lease_until < now),
            ),
        )
        .order_by(jobs.c.started_at, job_chunks.c.job_id, job_chunks.c.seq)
        .limit(1)
    )
    if is_postgres(session.bind):
        pick = pick.with_for_update(skip_locked=True, of=job_chunks)
    found = (await session.execute(pick)).first()
    if found is None:
        return None
    await session.execute(
        sa.update(job_chunks)
        .where(job_chunks.c.job_id == found.job_id, job_chunks.c.seq == found.seq)
        .values(
            status="claimed",
            claimed_by=replica,
            claimed_at=now,
            lease_until=now + lease,
            attempts=job_chunks.c.attempts + 1,
        )
    )
    row = (
        await session.execute(
            sa.select(job_chunks).where(job_chunks.c.job_id == found.job_id, job_chunks.c.seq == found.seq)
        )
    ).one()
    return _chunk(row)


async def finish_chunk(session: AsyncSession, chunk: Chunk, *, replica: str, result: dict[str, Any]) -> bool:
    """Mark the chunk done if `replica` still holds it (first statement of the chunk's
    transaction: it locks the row, so a replica whose lease ran out and was re-claimed cannot
    also commit it). False: someone else has it now — roll back."""
    done = await session.execute(
        sa.update(job_chunks)
        .where(
            job_chunks.c.job_id == chunk.job_id,
            job_chunks.c.seq == chunk.seq,
            job_chunks.c.status == "claimed",
            job_chunks.c.claimed_by == replica,
        )
        .values(status="done", finished_at=utcnow(), result=json.dumps(result))
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult


async def lock_job(session: AsyncSession, job_id: str) -> Job | None:
    """The job, locked for update (PostgreSQL) for the rest of the transaction: chunk commits of
    one job queue on it, so the last one sees every other chunk done."""
    stmt = sa.select(jobs).where(jobs.c.id == job_id)
    if is_postgres(session.bind):
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).first()
    return None if row is None else _job(row)


async def chunks_left(session: AsyncSession, job_id: str) -> int:
    return (
        await session.execute(
            sa.select(sa.func.count())
            .select_from(job_chunks)
            .where(job_chunks.c.job_id == job_id, job_chunks.c.status != "done")
        )
    ).scalar_one()


async def chunk_summary(session: AsyncSession, job_id: str) -> dict[str, Any] | None:
    """For `GET /jobs/{id}`: chunks by status and, per replica, the chunks and rows it did."""
    rows = (
        await session.execute(
            sa.select(job_chunks.c.status, job_chunks.c.claimed_by, job_chunks.c.rows, job_chunks.c.attempts).where(
                job_chunks.c.job_id == job_id
            )
        )
    ).all()
    if not rows:
        return None
    by_status: dict[str, int] = {"pending": 0, "claimed": 0, "done": 0}
    replicas: dict[str, dict[str, int]] = {}
    for r in rows:
        by_status[r.status] = by_status.get(r.status, 0) + 1
        if r.claimed_by and r.status == "done":
            rep = replicas.setdefault(r.claimed_by, {"chunks": 0, "rows": 0})
            rep["chunks"] += 1
            rep["rows"] += r.rows
    return {
        "total": len(rows),
        **by_status,
        "reclaimed": sum(1 for r in rows if r.attempts > 1),
        "by_replica": [{"claimed_by": k, **v} for k, v in sorted(replicas.items())],
    }
