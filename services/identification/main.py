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
from services.identification.application.policies import POLICY_STORE
from services.identification.application.screening import resume_screenings
from shared.app import ServiceContext, ServiceSpec, create_service_app
from shared.settings import Settings

SERVICE = "identification"


async def _on_startup(ctx: ServiceContext) -> None:
    """Per-app state: the policy store (shipped YAML + `policy_versions`)."""
    ctx.state["policy_store"] = POLICY_STORE
    await resume_screenings(ctx)


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
        on_startup=_on_startup,
        description=__doc__ or "",
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(spec(), settings)
