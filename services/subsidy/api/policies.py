"""Routes: `GET /subsidies/policies` — the subsidy policy versions (shipped and added), or what is
in force for a region at a date. Adding versions is `/admin/policies` (shared.policy_store)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Query

from services.subsidy.application.calculation import check_region
from services.subsidy.application.policies import policy_not_found
from services.subsidy.application.ports import Work
from services.subsidy.domain import resolve_subsidy_policy
from shared.app import get_principal, get_uow
from shared.auth import Principal
from shared.identifiers import region_within
from shared.policy import PolicyNotFound
from shared.policy_store import version_read

from .calculate import require_officer

__all__ = ["make_router"]


def make_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/subsidies", tags=["policies"])

    @router.get("/policies", summary="Subsidy policy versions; with region, the ones in force there")
    async def list_versions(
        region: str | None = Query(default=None, description="2–12 digit region code"),
        as_of: dt.date | None = Query(default=None, description="with region: the date (default today)"),
        principal: Principal = Depends(get_principal),
        uow: Work = Depends(get_uow),
    ) -> dict[str, Any]:
        require_officer(principal)
        versions = await uow.policy_versions()
        if region is None:
            # Versions that could apply somewhere in the caller's jurisdiction (or above it).
            mine = [
                v
                for v in versions
                if region_within(principal.region, v.region_prefix) or region_within(v.region_prefix, principal.region)
            ]
            return {"service": "subsidy", "versions": [_plain(version_read(v)) for v in mine]}
        check_region(region, principal.sees, path="region")
        day = as_of or dt.date.today()
        try:
            resolved = resolve_subsidy_policy(region, day, versions)
        except PolicyNotFound as exc:
            raise policy_not_found(exc, "region") from None
        return {
            "service": "subsidy",
            "region": region,
            "as_of": day,
            "policy": {"id": resolved.id, "version": resolved.version},
            "parameters": {
                k: {"value": _plain(p.value), "source": p.source, "version_id": p.version_id}
                for k, p in sorted(resolved.values.items())
            },
            "versions": [_plain(version_read(v)) for v in resolved.versions],
        }

    return router


def _plain(value: Any) -> Any:
    """Decimals as strings at any depth (tier tables are lists of mappings), never floats."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
