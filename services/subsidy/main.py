"""Subsidy (补贴): every subsidy as dated policy, exact to the fen, with decisions that hold caps across
requests."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.subsidy.adapters.consumers import consumer_specs
from services.subsidy.adapters.orm import metadata
from services.subsidy.api import calculate, decisions, policies, reports
from services.subsidy.application.policies import make_policy_store
from shared.app import ServiceContext, ServiceSpec, create_service_app, get_principal, get_session, get_uow
from shared.policy_store import policy_router
from shared.settings import Settings

SERVICE = "subsidy"


def spec() -> ServiceSpec:
    store = make_policy_store()

    async def on_startup(ctx: ServiceContext) -> None:
        ctx.state["policy_store"] = store

    return ServiceSpec(
        name=SERVICE,
        metadata=metadata,
        migrations=Path(__file__).parent / "migrations",
        routers=[
            calculate.make_router(store),
            decisions.make_router(store),
            policies.make_router(store),
            reports.router,
            policy_router(store, session_dep=get_session, uow_dep=get_uow, principal_dep=get_principal),
        ],
        consumers=consumer_specs(),
        on_startup=on_startup,
        description=__doc__ or "",
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(spec(), settings)
