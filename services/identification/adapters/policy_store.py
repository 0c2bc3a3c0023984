"""The identification policy store: shipped YAML versions plus versions added at run time
(`POST /admin/policies`), resolved by (region, date). One store per app (its extras); its cache
is kept per database so that several apps in one process (tests) never see each other's."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.identification.adapters.orm import policy_versions
from services.identification.application.policies import check_in_force, validate_parameter
from services.identification.domain.params import IDENTIFICATION_PARAMETERS, SERVICE
from services.identification.domain.policies import load_shipped_policies
from shared.policy import PolicyVersion
from shared.policy_store import PolicyStore

__all__ = ["IdentificationPolicyStore"]


class IdentificationPolicyStore(PolicyStore):
    """`PolicyStore` whose cache is kept per database (the session's engine URL)."""

    def __init__(self) -> None:
        super().__init__(
            service=SERVICE,
            shipped=load_shipped_policies(),
            table=policy_versions,
            known_parameters=IDENTIFICATION_PARAMETERS,
            validate_value=validate_parameter,
            validate_resolved=check_in_force,
        )
        self._caches: dict[str, Any] = {}

    async def versions(self, session: AsyncSession) -> list[PolicyVersion]:
        bind = session.bind
        if isinstance(bind, AsyncConnection):
            bind = bind.engine
        key = str(bind.url) if bind is not None else ""
        self._cache = self._caches.get(key)
        result = await super().versions(session)
        self._caches[key] = self._cache
        return result

    def invalidate(self) -> None:
        self._caches.clear()
        self._cache = None
