"""Subsidy (补贴): every subsidy as dated policy, exact to the fen, with decisions that hold caps across
requests."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.subsidy.adapters.consumers import consumer_specs
from services.subsidy.adapters.context import SubsidyExtras
from services.subsidy.adapters.orm import audit_chain, metadata
from services.subsidy.adapters.policy import make_policy_store
from services.subsidy.adapters.unit_of_work import SubsidyUnitOfWork
from services.subsidy.api import calculate, decisions, policies, reports
from shared.app import ServiceSpec, create_service_app, get_principal, get_session, get_uow
from shared.audit import audit_router
from shared.auth import Principal
from shared.policy import PolicyVersion
from shared.policy_store import audit_policy_version, policy_router
from shared.settings import Settings

SERVICE = "subsidy"


async def _audit_policy(session: AsyncSession, version: PolicyVersion, principal: Principal) -> None:
    await audit_policy_version(session, audit_chain, version, principal)


def spec() -> ServiceSpec:
    """One policy store per app, shared by its unit of work, its extras and its routes."""
    store = make_policy_store()
    return ServiceSpec(
        name=SERVICE,
        metadata=metadata,
        migrations=Path(__file__).parent / "migrations",
        routers=[
            calculate.make_router(),
            decisions.make_router(),
            policies.make_router(),
            reports.router,
            policy_router(
                store, session_dep=get_session, uow_dep=get_uow, principal_dep=get_principal, audit=_audit_policy
            ),
            audit_router(audit_chain, service=SERVICE, session_dep=get_session, principal_dep=get_principal),
        ],
        consumers=consumer_specs(),
        extras=lambda: SubsidyExtras(policy_store=store),
        unit_of_work=SubsidyUnitOfWork.for_store(store),
        description=__doc__ or "",
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(spec(), settings)
