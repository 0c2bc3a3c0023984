"""Subsidy (补贴): every subsidy as dated policy, exact to the fen, with decisions that hold caps across
requests."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.subsidy.adapters.orm import metadata
from shared.app import ServiceSpec, create_service_app
from shared.settings import Settings

SERVICE = "subsidy"


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
