"""Civil affairs (民政): dibao and 特困 applications with the household economic-situation check, temporary
relief, gradual and voluntary exits, appeals and 12345 complaints (seed 003, DOMAIN.md §4)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI

from services.civil_affairs.adapters import programmes_runtime
from services.civil_affairs.adapters.consumers_relief import RELIEF_CONSUMERS
from services.civil_affairs.adapters.context import CivilAffairsExtras
from services.civil_affairs.adapters.grievance_runtime import grievance_sweep
from services.civil_affairs.adapters.orm import metadata
from services.civil_affairs.adapters.policy import make_policy_store
from services.civil_affairs.adapters.unit_of_work import CivilAffairsUnitOfWork
from services.civil_affairs.api import appeals, applications, complaints, enrolments, relief
from shared.app import (
    ConsumerSpec,
    ServiceContext,
    ServiceSpec,
    create_service_app,
    get_principal,
    get_session,
    get_uow,
)
from shared.policy_store import policy_router
from shared.settings import Settings

SERVICE = "civil_affairs"

ROUTERS: list[APIRouter] = [
    # dibao and 特困: applications, economic checks, enrolments, payments, re-checks, exits
    applications.router,
    enrolments.router,
    # temporary relief (临时救助): docs/civil-affairs.md "Temporary relief"
    relief.router,
    # appeals (申诉/复核) and complaints (12345 投诉举报)
    appeals.router,
    complaints.router,
]
CONSUMERS: list[ConsumerSpec] = [*programmes_runtime.CONSUMERS, *RELIEF_CONSUMERS]
BACKGROUND: list[Callable[[ServiceContext], Coroutine[Any, Any, None]]] = [
    *programmes_runtime.BACKGROUND,
    grievance_sweep,
]


def spec() -> ServiceSpec:
    """One policy store per app, shared by its unit of work, its extras and its policy routes."""
    store = make_policy_store()
    return ServiceSpec(
        name=SERVICE,
        metadata=metadata,
        migrations=Path(__file__).parent / "migrations",
        routers=[
            *ROUTERS,
            # the civil-affairs policy versions: programmes, relief, appeal and complaint time limits
            policy_router(store, session_dep=get_session, uow_dep=get_uow, principal_dep=get_principal),
        ],
        consumers=CONSUMERS,
        background=BACKGROUND,
        description=__doc__ or "",
        extras=lambda: CivilAffairsExtras(policy_store=store),
        unit_of_work=CivilAffairsUnitOfWork.for_store(store),
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(spec(), settings)
