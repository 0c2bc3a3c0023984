"""What monitoring's use cases need of the database (screenings, signals, loops, statistics,
the registry lists, low-income rosters and comparisons, the national sync): repository and
query Protocols reached through the unit of work (`MonitoringWork`), implemented in `adapters/`
(`adapters/work_monitoring.py`) and by in-memory fakes in the unit tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from shared.events import Event
from shared.policy import ResolvedPolicy
from shared.policy_store import PolicyStore

if TYPE_CHECKING:
    from services.identification.adapters.households import StoredHousehold
    from services.identification.adapters.jobs import Chunk, Job

__all__ = [
    "CHUNK_ROW",
    "MonitoringUnit",
    "MonitoringWork",
    "OutcomesWrittenMeanwhile",
    "ScheduleRepository",
    "ScreeningRepository",
]

#: The positions in a screening chunk's row (`ScreeningRepository.chunk_rows`): household id,
#: household number, village code, screening profile, previous warning ('' when the outcome has
#: none, None when there is no outcome yet).
CHUNK_ROW = (ID, NUMBER, REGION, PROFILE, WARNING) = range(5)


class OutcomesWrittenMeanwhile(Exception):
    """A household the chunk read without an outcome was given one before the chunk's write (an
    application's assessment): the chunk is written again, every outcome as an upsert."""


class ScreeningRepository(Protocol):
    """Screening jobs and chunks, a chunk's rows, its outcomes and outbox rows in bulk."""

    @property
    def postgres(self) -> bool: ...
    async def create_job(self, *, region: str, created_by: str, as_of: dt.date, size: int) -> tuple[Job, int]: ...
    async def get_job(self, job_id: str) -> Job | None: ...
    async def lock_job(self, job_id: str) -> Job | None: ...
    async def save_progress(self, job: Job) -> None: ...
    async def claim_chunk(self, *, replica: str, lease: dt.timedelta) -> Chunk | None: ...
    async def finish_chunk(self, chunk: Chunk, *, replica: str, counts: dict[str, int]) -> bool: ...
    async def chunks_left(self, job_id: str) -> int: ...
    async def chunk_villages(self, chunk: Chunk) -> list[str]: ...
    async def chunk_rows(self, chunk: Chunk) -> bytes | list[tuple[Any, ...]]: ...
    async def stored_household(self, household_id: str) -> StoredHousehold | None: ...
    async def region_page(self, region: str, *, after: tuple[str, str] | None, limit: int) -> list[StoredHousehold]: ...
    async def write_outcomes(self, rows: list[Any], *, new: Sequence[Any] = ()) -> None: ...
    async def write_outbox(self, rows: list[tuple[str, str, bytes, dt.datetime]]) -> None: ...


class ScheduleRepository(Protocol):
    """The counties screened on a schedule and the (county, period) row one replica takes."""

    async def counties(self) -> list[str]: ...
    async def claim_slot(self, county: str, period: str, *, replica: str, at: dt.datetime) -> bool: ...
    async def set_job(self, county: str, period: str, job_id: str) -> None: ...


class MonitoringWork(Protocol):
    """The unit of work as monitoring's use cases see it: one transaction, its repositories and
    queries, the events it will write to the outbox, its commit."""

    @property
    def screening(self) -> ScreeningRepository: ...
    @property
    def schedule(self) -> ScheduleRepository: ...
    async def resolve_policy(self, store: PolicyStore, region_code: str, as_of: dt.date) -> ResolvedPolicy: ...
    def add_event(self, event: Event) -> None: ...
    async def commit(self) -> None: ...


class MonitoringUnit(Protocol):
    """`ctx.uow()` as monitoring opens it: `async with work(ctx) as uow`."""

    async def __aenter__(self) -> MonitoringWork: ...
    async def __aexit__(self, *exc: object) -> None: ...
