"""What one running identification app holds of its own (`ctx.extras`): its policy store, the
DCI keys and transport and the national files (ports the app's main.py fills with adapters), its
worker processes, its replica name, and the knobs tests and operators turn (each None = the
environment variable, else the default)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from shared.policy_store import PolicyStore

if TYPE_CHECKING:
    from services.identification.application.monitoring_ports import MonitoringUnit, NationalFiles
    from services.identification.application.ports import DciKeys, DciTransport, ImportWorker
    from shared.app import ServiceContext

__all__ = ["AfterChunk", "IdentificationContext", "IdentificationExtras", "extras", "knob", "monitoring_work"]

#: Called after each national-sync chunk is written (county, rows): tests stop a run half-way.
AfterChunk = Callable[[str, int], Awaitable[None]]


@dataclass
class IdentificationExtras:
    #: the app's policy store (main.py builds adapters/policy_store.IdentificationPolicyStore)
    policy_store: PolicyStore
    #: the DCI exchange's keys and its callbacks' transport (adapters/dci_keys.py, dci_http.py)
    dci_keys: DciKeys
    dci_transport: DciTransport
    #: the national sync's files on the data directory (adapters/national_sync_files.py)
    national_files: NationalFiles
    #: what a bulk import runs in the worker processes (adapters/import_worker.py)
    import_worker: ImportWorker
    #: worker processes for imports and large screening chunks (created on first use)
    import_pool: ProcessPoolExecutor | None = None
    #: how many processes `import_pool` has (0 while there is none)
    import_pool_workers: int = 0
    #: `hostname-pid` of this replica, set on first use (tests name a "dead" one)
    replica_id: str | None = None
    # screening chunks (FANGFAN_SCREENING_CHUNK, FANGFAN_CHUNK_LEASE_S, FANGFAN_CHUNK_POLL_S,
    # FANGFAN_SCREENING_POOL_FROM)
    screening_chunk_size: int | None = None
    chunk_lease_s: float | None = None
    chunk_poll_s: float | None = None
    screening_pool_from: int | None = None
    # scheduled screenings and low-income runs (FANGFAN_SCHEDULE_POLL_S)
    schedule_poll_s: float | None = None
    low_income_poll_s: float | None = None
    # national monitoring sync (FANGFAN_NATIONAL_SYNC_*)
    national_sync_chunk_size: int | None = None
    national_sync_lease_s: float | None = None
    national_sync_overlap_s: float | None = None
    national_sync_schedule_poll_s: float | None = None
    national_sync_poll_s: float | None = None
    national_sync_daily_at: str | None = None
    national_sync_after_chunk: AfterChunk | None = None


IdentificationContext = "ServiceContext[IdentificationExtras]"


def extras(ctx: ServiceContext[Any]) -> IdentificationExtras:
    """The app's own state (`ServiceSpec(extras=...)` in main.py builds it)."""
    if not isinstance(ctx.extras, IdentificationExtras):
        raise TypeError(f"not an identification app's context: its extras are {type(ctx.extras).__name__}")
    return ctx.extras


def knob(value: float | None, env: str, default: float) -> float:
    """A knob set on the app, else from the environment, else the default."""
    return float(value if value is not None else os.environ.get(env, default))


def monitoring_work(ctx: ServiceContext[Any]) -> MonitoringUnit:
    """A unit of work of the app (`ctx.uow()`) typed as monitoring's use cases see it."""
    return cast("MonitoringUnit", ctx.uow())
