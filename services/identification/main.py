"""Identification (识别): assessments against dated policy, self-applications, monitoring cases,
department signals, bulk imports and screenings, statistics."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.identification.adapters import orm_cases  # noqa: F401  (registers the case tables)
from services.identification.adapters.orm import metadata
from services.identification.api import (
    applications,
    assessments,
    cases,
    households,
    policies,
    signals,
    statistics,
)
from shared.app import ServiceSpec, create_service_app
from shared.settings import Settings

SERVICE = "identification"


def spec() -> ServiceSpec:
    return ServiceSpec(
        name=SERVICE,
        metadata=metadata,
        migrations=Path(__file__).parent / "migrations",
        routers=[
            assessments.router,
            policies.router,
            households.router,
            applications.router,
            cases.router,
            signals.router,
            statistics.router,
        ],
        description=__doc__ or "",
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(spec(), settings)
