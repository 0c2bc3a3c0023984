"""Routes: `GET /api/v1/audit?subject=` — the identification service's decision audit chain
(case transitions, exclusion overrides, policy versions, lead resolutions) with its verification."""

from __future__ import annotations

from services.identification.adapters.audit import audit_chain
from shared.app import get_principal, get_session
from shared.audit import audit_router

router = audit_router(audit_chain, service="identification", session_dep=get_session, principal_dep=get_principal)
