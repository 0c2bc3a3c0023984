"""Assistance (帮扶): one file and one plan per household, measures, contact persons, visits, employment
services."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.assistance.adapters.background import overdue_sweep
from services.assistance.adapters.consumers import CONSUMERS
from services.assistance.adapters.orm import metadata
from services.assistance.adapters.unit_of_work import AssistanceUnitOfWork
from services.assistance.api import employment, job_offers, plans, statistics, visits
from services.assistance.application.context import AssistanceExtras
from shared.app import ServiceSpec, create_service_app
from shared.settings import Settings

SERVICE = "assistance"


def spec() -> ServiceSpec:
    return ServiceSpec(
        name=SERVICE,
        metadata=metadata,
        migrations=Path(__file__).parent / "migrations",
        routers=[statistics.router, plans.router, visits.router, employment.router, job_offers.router],
        background=[overdue_sweep],
        consumers=CONSUMERS,
        extras=AssistanceExtras,
        unit_of_work=AssistanceUnitOfWork,
        description=__doc__ or "",
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(spec(), settings)
