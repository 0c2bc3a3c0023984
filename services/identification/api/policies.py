"""Routes: `/api/v1/admin/policies` — dated identification policy versions added without a
redeploy (shared.policy_store), merged with the shipped YAML."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.audit import audit_chain
from services.identification.api.deps import policy_store
from shared.app import get_principal, get_session, get_uow
from shared.auth import Principal
from shared.policy import PolicyVersion
from shared.policy_store import audit_policy_version, policy_router


async def _audit(session: AsyncSession, version: PolicyVersion, principal: Principal) -> None:
    await audit_policy_version(session, audit_chain, version, principal)


router = policy_router(
    policy_store,
    service="identification",
    session_dep=get_session,
    uow_dep=get_uow,
    principal_dep=get_principal,
    audit=_audit,
)
