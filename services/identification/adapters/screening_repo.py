"""The SQL of screenings: a job and its chunks over a region's households, a chunk's rows read
(PostgreSQL: one COPY) and its outcomes and outbox rows written in bulk, and the keyset pages
of a region that a simulation evaluates. The dialect is decided here, never in the use case."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from asyncpg.exceptions import UniqueViolationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.identification.adapters.households import StoredHousehold, get_household, iter_region_households
from services.identification.adapters.jobs import (
    Chunk,
    Job,
    chunks_left,
    claim_chunk,
    create_chunks,
    create_job,
    finish_chunk,
    get_job,
    lock_job,
    save_progress,
)
from services.identification.adapters.orm import household_outcomes, households, job_chunks
from services.identification.adapters.screening_rows import ScreeningRowCodec
from services.identification.application.monitoring_ports import ChunkRow, OutcomesWrittenMeanwhile
from shared.db import is_postgres, utcnow

__all__ = ["ScreeningRepository", "default_chunk_concurrency"]


def default_chunk_concurrency(engine: AsyncEngine) -> int:
    """Chunk loops per replica: 4 on PostgreSQL, 2 on SQLite (where writers queue anyway)."""
    return 4 if is_postgres(engine) else 2


_o = household_outcomes.c
#: a chunk row (`application.monitoring_ports.CHUNK_ROW`): id, household_number, region_code,
#: screening_profile, previous warning
_CHUNK_COLUMNS = (
    households.c.id,
    households.c.household_number,
    households.c.region_code,
    households.c.screening_profile,
    # the previous warning, looked up by key for each row (a join lets the planner hash every outcome):
    # '' when the household's outcome has none, NULL when it has no outcome row yet
    sa.select(sa.func.coalesce(_o.warning, ""))
    .where(_o.household_id == households.c.id)
    .scalar_subquery()
    .label("warning"),
)
_OUTCOME_COLUMNS = (
    "household_id",
    "category",
    "low_income_category",
    "warning",
    "per_capita_income",
    "assessed_at",
    "as_of",
    "policy_id",
    "policy_version",
    "screening_job_id",
)
_UPSERT_SET = ", ".join(f"{c} = excluded.{c}" for c in _OUTCOME_COLUMNS[1:])


def _region(region: str) -> Any:
    return sa.true() if region == "" else households.c.region_code.like(f"{region}%")


def _chunk_select(chunk: Chunk, *columns: Any) -> sa.Select[Any]:
    # No region filter: the bounds are households of the region and codes have a fixed length,
    # so everything between them is in the region — and the (region_code, id) index serves it
    # (a LIKE prefix cannot use it under a non-C collation).
    # The plain bounds on region_code repeat what the row comparisons say, for the planner: it
    # cannot estimate a row comparison and, at a million households, took a chunk for a seventh
    # of the table (a parallel sequential scan and a JIT compile, a second per chunk).
    key = sa.tuple_(households.c.region_code, households.c.id)
    stmt = sa.select(*columns).where(key <= sa.tuple_(*chunk.last), households.c.region_code <= chunk.last[0])
    if chunk.after is not None:
        stmt = stmt.where(key > sa.tuple_(*chunk.after), households.c.region_code >= chunk.after[0])
    return stmt


class ScreeningRepository:
    """Screening jobs, chunks, outcomes and their outbox rows, in the unit of work's session."""

    def __init__(self, session: AsyncSession, outbox: sa.Table) -> None:
        self.session = session
        self._outbox = outbox

    @property
    def postgres(self) -> bool:
        """Whether rows are COPY text (PostgreSQL) or tuples (SQLite)."""
        return is_postgres(self.session.bind)

    def codec(self) -> ScreeningRowCodec:
        """How this database hands a chunk over and takes its outcomes back (adapters/screening_rows.py)."""
        return ScreeningRowCodec(self.postgres)

    async def create_job(self, *, region: str, created_by: str, as_of: dt.date, size: int) -> tuple[Job, int]:
        """The screening job of `region` and its chunks (slices of `size` households in
        (region_code, id) order); returns the job and the number of households."""
        session = self.session
        numbered = sa.select(
            households.c.region_code,
            households.c.id,
            sa.func.row_number().over(order_by=(households.c.region_code, households.c.id)).label("n"),
        ).where(_region(region))
        sub = numbered.subquery()
        total = (
            await session.execute(sa.select(sa.func.count()).select_from(households).where(_region(region)))
        ).scalar_one()
        ends = (
            await session.execute(
                sa.select(sub.c.region_code, sub.c.id, sub.c.n)
                .where(sa.or_(sub.c.n % size == 0, sub.c.n == total))
                .order_by(sub.c.n)
            )
        ).all()
        job = await create_job(
            session,
            kind="screening",
            region=region,
            created_by=created_by,
            params={"as_of": as_of.isoformat(), "chunk_size": size},
            rows_total=total,
        )
        previous = 0
        bounds = []
        for village, last_id, n in ends:
            bounds.append((village, last_id, n - previous))
            previous = n
        # the first chunk starts at the region's first village: without a lower bound it would
        # also take every household of the regions sorting before it
        first = (
            await session.execute(sa.select(sa.func.min(households.c.region_code)).where(_region(region)))
        ).scalar_one_or_none()
        await create_chunks(session, job.id, bounds, first_after=None if first is None else (first, ""))
        if not bounds:
            job.status = "completed"
            job.finished_at = utcnow()
            job.result["warnings_raised"] = 0
            await save_progress(session, job)
        return job, int(total)

    async def get_job(self, job_id: str) -> Job | None:
        return await get_job(self.session, job_id)

    async def lock_job(self, job_id: str) -> Job | None:
        return await lock_job(self.session, job_id)

    async def save_progress(self, job: Job) -> None:
        await save_progress(self.session, job)

    async def claim_chunk(self, *, replica: str, lease: dt.timedelta) -> Chunk | None:
        return await claim_chunk(self.session, kind="screening", replica=replica, lease=lease)

    async def finish_chunk(self, chunk: Chunk, *, replica: str, counts: dict[str, int]) -> bool:
        """Mark the chunk done with its counts, only if `replica` still holds it."""
        if not await finish_chunk(self.session, chunk, replica=replica, result={}):
            return False
        await self.session.execute(
            sa.update(job_chunks)
            .where(job_chunks.c.job_id == chunk.job_id, job_chunks.c.seq == chunk.seq)
            .values(result=json.dumps(counts))
        )
        return True

    async def chunks_left(self, job_id: str) -> int:
        return await chunks_left(self.session, job_id)

    async def chunk_villages(self, chunk: Chunk) -> list[str]:
        """The villages of the chunk's households (their policies are resolved once each)."""
        stmt = _chunk_select(chunk, households.c.region_code).distinct()
        return list((await self.session.execute(stmt)).scalars())

    async def chunk_rows(self, chunk: Chunk) -> bytes | list[ChunkRow]:
        """The chunk's households (`_CHUNK_COLUMNS`). PostgreSQL: as COPY text, one bytes object
        that goes to the worker process as it is (a row object per household in this process,
        pickled to the worker, cost more than the evaluation). SQLite: tuples."""
        session = self.session
        stmt = _chunk_select(chunk, *_CHUNK_COLUMNS).order_by(households.c.region_code, households.c.id)
        if is_postgres(session.bind):
            conn = await session.connection()
            apg = (await conn.get_raw_connection()).driver_connection
            assert apg is not None
            compiled = stmt.compile(dialect=conn.dialect)
            sql, params = str(compiled), compiled.params
            out = io.BytesIO()
            await apg.copy_from_query(sql, *(params[n] for n in compiled.positiontup or ()), output=out, format="text")
            return out.getvalue()
        return [tuple(r) for r in (await session.execute(stmt)).all()]

    async def stored_household(self, household_id: str) -> StoredHousehold | None:
        return await get_household(self.session, household_id)

    async def region_page(self, region: str, *, after: tuple[str, str] | None, limit: int) -> list[StoredHousehold]:
        """The next households of `region` after the keyset `after`, nothing decrypted."""
        return await iter_region_households(self.session, region, after=after, limit=limit)

    async def write_outcomes(self, rows: list[Any], *, new: Sequence[Any] = ()) -> None:
        """Store a screening's outcomes in `household_outcomes`. `rows` replace a household's
        previous outcome or are inserted (PostgreSQL: COPY into a temporary table and one `INSERT
        … SELECT … ON CONFLICT`; SQLite: executemany of the same upsert); `new` are of households
        that had none when the chunk was read: on PostgreSQL COPYed straight into the table (half
        the work of the upsert; a household given an outcome meanwhile makes it raise a unique
        violation, `OutcomesWrittenMeanwhile` — the caller then upserts everything)."""
        try:
            await self._write_outcomes(rows, new)
        except (IntegrityError, UniqueViolationError) as exc:
            raise OutcomesWrittenMeanwhile(str(exc)) from exc

    async def _write_outcomes(self, rows: list[Any], new: Sequence[Any]) -> None:
        session = self.session
        columns = ", ".join(_OUTCOME_COLUMNS)
        if self.postgres:
            if not rows and not new:
                return
            await session.execute(sa.text("SELECT 1"))  # the transaction is open before the raw calls
            conn = await session.connection()
            apg = (await conn.get_raw_connection()).driver_connection
            assert apg is not None
            if new:
                data = io.BytesIO("".join(new).encode())
                await apg.copy_to_table(
                    "household_outcomes", source=data, columns=list(_OUTCOME_COLUMNS), format="text"
                )
            if rows:
                await apg.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS outcomes_stage (LIKE household_outcomes) ON COMMIT DELETE ROWS"
                )
                data = io.BytesIO("".join(rows).encode())
                await apg.copy_to_table("outcomes_stage", source=data, columns=list(_OUTCOME_COLUMNS), format="text")
                await apg.execute(
                    f"INSERT INTO household_outcomes ({columns}) SELECT {columns} FROM outcomes_stage "
                    f"ON CONFLICT (household_id) DO UPDATE SET {_UPSERT_SET}"
                )
            return
        rows = [*rows, *new]
        if not rows:
            return
        conn = await session.connection()
        marks = ", ".join("?" * len(_OUTCOME_COLUMNS))
        await conn.exec_driver_sql(
            f"INSERT INTO household_outcomes ({columns}) VALUES ({marks}) "
            f"ON CONFLICT (household_id) DO UPDATE SET {_UPSERT_SET}",
            rows,
        )

    async def write_outbox(self, rows: list[tuple[str, str, bytes, dt.datetime]]) -> None:
        """Outbox rows (event_id, subject, payload, created_at) in bulk, in this transaction."""
        if not rows:
            return
        if self.postgres:
            conn = await self.session.connection()
            apg = (await conn.get_raw_connection()).driver_connection
            assert apg is not None
            await apg.copy_records_to_table(
                self._outbox.name, records=rows, columns=["event_id", "subject", "payload", "created_at"]
            )
            return
        await self.session.execute(
            sa.insert(self._outbox),
            [{"event_id": e, "subject": s, "payload": p, "created_at": t} for e, s, p, t in rows],
        )
