"""Identification (识别): assessments against dated policy, self-applications, monitoring cases,
department signals, bulk imports and screenings, statistics."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from fastapi import FastAPI

from services.identification.adapters import (
    orm_cases,  # noqa: F401  (registers the case tables)
    orm_loops,  # noqa: F401  (registers the loops' tables)
    orm_national_sync,  # noqa: F401  (registers the national export's tables)
)
from services.identification.adapters.consumers import CONSUMERS
from services.identification.adapters.dci_consumers import DCI_CONSUMERS
from services.identification.adapters.dci_http import HttpDciTransport
from services.identification.adapters.dci_keys import DciKeyring
from services.identification.adapters.import_worker import ProcessImportWorker
from services.identification.adapters.national_sync_files import NationalSyncFiles
from services.identification.adapters.orm import metadata
from services.identification.adapters.policy_store import IdentificationPolicyStore
from services.identification.adapters.screening_repo import default_chunk_concurrency
from services.identification.adapters.unit_of_work import IdentificationUnitOfWork
from services.identification.api import (
    applications,
    assessments,
    audit,
    cases,
    dci,
    duplicates,
    households,
    low_income,
    marks,
    national_sync,
    policies,
    registry,
    signals,
    statistics,
)
from services.identification.application.context import IdentificationExtras
from services.identification.application.households import shutdown_import_pool
from services.identification.application.low_income import low_income_scheduler
from services.identification.application.national_sync import national_sync_schedule, national_sync_worker
from services.identification.application.scheduled import scheduled_screening
from services.identification.application.screening import chunk_worker
from shared.app import ServiceContext, ServiceSpec, create_service_app
from shared.settings import Settings

SERVICE = "identification"


async def _on_shutdown(ctx: ServiceContext) -> None:
    """The background tasks were cancelled: let them finish (roll back) before the engine goes."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*ctx.tasks, return_exceptions=True), 65)
    shutdown_import_pool(ctx)


async def _chunk_worker(ctx: ServiceContext) -> None:
    """The screening chunks' loops, as many by default as the database in use serves well."""
    await chunk_worker(ctx, default_concurrency=default_chunk_concurrency(ctx.engine))


def extras() -> IdentificationExtras:
    """The app's own state, its ports filled with this service's adapters."""
    return IdentificationExtras(
        policy_store=IdentificationPolicyStore(),
        dci_keys=DciKeyring(),
        dci_transport=HttpDciTransport(),
        national_files=NationalSyncFiles(),
        import_worker=ProcessImportWorker(),
    )


def spec() -> ServiceSpec:
    return ServiceSpec(
        name=SERVICE,
        metadata=metadata,
        migrations=Path(__file__).parent / "migrations",
        routers=[
            assessments.router,
            policies.router,
            duplicates.router,  # before households: /households/duplicates is not a household id
            households.router,
            registry.router,
            marks.router,
            applications.router,
            cases.router,
            signals.router,
            statistics.router,
            audit.router,
            low_income.router,
            national_sync.router,
            dci.router,  # the DCI Social Registry API (docs/registry.md)
        ],
        # assistance's events: income updates, measures (adapters/consumers.py)
        consumers=[*CONSUMERS, *DCI_CONSUMERS],
        extras=extras,
        unit_of_work=IdentificationUnitOfWork,
        on_shutdown=_on_shutdown,
        # screenings are chunks that any replica claims (application/screening.py); the
        # scheduled screening starts each county's once per period (application/scheduled.py)
        background=[
            _chunk_worker,
            scheduled_screening,
            low_income_scheduler,
            national_sync_worker,
            national_sync_schedule,
        ],
        description=__doc__ or "",
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(spec(), settings)
