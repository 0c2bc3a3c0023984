"""Identification (识别): assessments against dated policy, self-applications, monitoring cases, signals,
imports and screenings."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.identification.adapters.orm import metadata
from shared.app import ServiceSpec, create_service_app
from shared.settings import Settings

SERVICE = "identification"


def spec() -> ServiceSpec:
    return ServiceSpec(
        name=SERVICE,
        metadata=metadata,
        migrations=Path(__file__).parent / "migrations",
        routers=[],
        description=__doc__ or "",
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(spec(), settings)
