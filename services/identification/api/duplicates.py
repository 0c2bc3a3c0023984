"""Routes: duplicate persons (一人多户) — `GET /api/v1/households/duplicates` (open or resolved
duplicates the caller resolves, paged) and `POST /api/v1/households/duplicates/{id}/resolve`
(keep | move | split). County and province officers (and admin), within their region."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from services.identification.adapters.unit_of_work import IdentificationUnitOfWork
from services.identification.application import duplicates as uc
from shared.app import ServiceContext, get_ctx, get_principal, get_uow
from shared.auth import Principal
from shared.errors import FieldError, Unprocessable

router = APIRouter(prefix="/api/v1", tags=["households"])


class DuplicateResolve(BaseModel):
    """How to resolve a duplicate: `keep` — the household that already held the person keeps
    them, the new record drops them; `move` — the person leaves it for the new record; `split`
    — the person leaves both and becomes a household of their own, in `region_code` (the region
    of one of the two households; the first one's by default). A household's region never
    changes, and none is left without members."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["keep", "move", "split"]
    note: str = Field(min_length=1, max_length=1000, description="why (kept, ID and phone numbers masked)")
    region_code: str | None = Field(default=None, pattern=r"^[0-9]{12}$", description="split only: the village")


def _duplicate_body(d: uc.DuplicateRecord) -> dict[str, Any]:
    return {
        "id": d.id,
        "match": d.match,
        "person_masked": d.person_masked,
        "household_id": d.household_id,
        "region_code": d.region_code,
        "other_household_id": d.other_household_id,
        "other_region_code": d.other_region_code,
        "resolve_region": d.resolve_region,
        "origin": d.origin,
        "refused": d.refused,
        "status": d.status,
        "found_by": d.found_by,
        "found_at": d.found_at.isoformat() if d.found_at else None,
        "seen": d.seen,
        "resolution": d.resolution,
        "resolution_note": d.resolution_note,
        "resolved_by": d.resolved_by,
        "resolved_at": d.resolved_at.isoformat() if d.resolved_at else None,
        "split_household_id": d.split_household_id,
        "history": [dict(h) for h in d.history],
    }


@router.get("/households/duplicates", summary="Duplicate persons to resolve (county and province officers)")
async def list_duplicates(
    region: str | None = Query(default=None, pattern=r"^([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$"),
    status: Literal["open", "resolved"] = Query(default="open"),
    limit: int = Query(default=100, ge=1, le=1000),
    after: str | None = Query(default=None, max_length=36, description="the `next` of the previous page"),
    principal: Principal = Depends(get_principal),
    work: IdentificationUnitOfWork = Depends(get_uow),
) -> dict[str, Any]:
    command = uc.ListDuplicates(status=status, region=region, limit=limit, after=after)
    page = await uc.list_duplicates(work, principal, command)
    return {
        "region": page.region,
        "status": page.status,
        "items": [_duplicate_body(d) for d in page.items],
        "next": page.next,
    }


@router.post("/households/duplicates/{duplicate_id}/resolve", summary="Resolve a duplicate: keep, move or split")
async def resolve_duplicate(
    duplicate_id: str,
    body: DuplicateResolve,
    principal: Principal = Depends(get_principal),
    ctx: ServiceContext = Depends(get_ctx),
) -> dict[str, Any]:
    if len(duplicate_id) > 36:
        raise Unprocessable("bad duplicate id", errors=[FieldError("duplicate_id", "not a duplicate id")])
    if body.region_code is not None and body.action != "split":
        raise Unprocessable(
            "region_code is for split only", errors=[FieldError("region_code", "only with action split")]
        )
    command = uc.ResolveDuplicate(duplicate_id, action=body.action, note=body.note, region_code=body.region_code)
    return _duplicate_body(await uc.resolve_duplicate(ctx, principal, command))
