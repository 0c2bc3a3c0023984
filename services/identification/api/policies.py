"""Routes: `/api/v1/admin/policies` — dated identification policy versions added without a
redeploy (shared.policy_store), merged with the shipped YAML."""

from __future__ import annotations

from services.identification.application.policies import POLICY_STORE
from shared.app import get_principal, get_session, get_uow
from shared.policy_store import policy_router

router = policy_router(POLICY_STORE, session_dep=get_session, uow_dep=get_uow, principal_dep=get_principal)
