"""Employment services: survey records, services given, the 1 + 5 standard per village,
placements and public-welfare post wages (events for the subsidy service)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance.adapters.orm import employment_records, employment_services
from services.assistance.application import employment as use
from services.assistance.application.common import policy_for, region_filter, require_reader
from services.assistance.domain.employment import STANDARD_SOURCE, check_standard
from shared.app import ServiceContext, get_ctx, get_principal, get_session, get_uow
from shared.auth import Principal
from shared.db import UnitOfWork
from shared.errors import NotFound
from shared.pii import mask_numbers_in_value

from .schemas import EmploymentRecordCreate, EmploymentServiceCreate, PlacementCreate, PostWageCreate

router = APIRouter(prefix="/api/v1/employment", tags=["employment"])


def _prefix(col: Any, region: str) -> Any:
    return col.like(f"{region}%") if region else sa.true()


async def _record_read(session: AsyncSession, row: Any) -> dict[str, Any]:
    svc = (
        await session.execute(
            sa.select(employment_services)
            .where(employment_services.c.record_id == row.id)
            .order_by(employment_services.c.provided_on, employment_services.c.id)
        )
    ).all()
    return {
        "id": row.id,
        "person_ref": row.person_ref,
        "household_id": row.household_id,
        "region_code": row.region_code,
        "survey": mask_numbers_in_value(row.survey),  # masked when written; again for older rows
        "services": [
            {
                "id": str(s.id),  # a job recommendation's outcome is recorded against it
                "kind": s.kind,
                "provided_on": s.provided_on.isoformat(),
                "detail": mask_numbers_in_value(s.detail),
            }
            for s in svc
        ],
    }


@router.post("/records")
async def upsert_record(
    body: EmploymentRecordCreate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """Create or update the laborer's record (by `person_ref`)."""
    rid, created = await use.upsert_record(uow, principal, survey=body.model_dump(exclude_none=True), at=ctx.now())
    await uow.commit()
    row = await use.record_for(uow, principal, record_id=rid)
    return {**(await _record_read(uow.session, row)), "created": created}


@router.get("/records")
async def list_records(
    region: str | None = None,
    household_id: str | None = None,
    session: AsyncSession = Depends(get_session),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    require_reader(principal)
    q = sa.select(employment_records).where(_prefix(employment_records.c.region_code, region_filter(principal, region)))
    if household_id is not None:
        q = q.where(employment_records.c.household_id == household_id)
    rows = (await session.execute(q.order_by(employment_records.c.region_code, employment_records.c.id))).all()
    return {"items": [await _record_read(session, r) for r in rows]}


@router.get("/records/{record_id}")
async def get_record(
    record_id: str,
    session: AsyncSession = Depends(get_session),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    require_reader(principal)
    row = (await session.execute(sa.select(employment_records).where(employment_records.c.id == record_id))).first()
    if row is None or not principal.sees(row.region_code):
        raise NotFound("employment record not found")
    return await _record_read(session, row)


@router.post("/records/{record_id}/services", status_code=201)
async def add_service(
    record_id: str,
    body: EmploymentServiceCreate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """Log a career guidance, a training or a job-post recommendation given to the laborer."""
    await use.add_service(
        uow,
        principal,
        record_id=record_id,
        kind=str(body.kind),
        provided_on=body.provided_on,
        detail=body.detail,
        today=ctx.today(),
        at=ctx.now(),
    )
    await uow.commit()
    row = await use.record_for(uow, principal, record_id=record_id)
    return await _record_read(uow.session, row)


@router.get("/standard")
async def standard(
    region: str | None = None,
    ctx: ServiceContext = Depends(get_ctx),
    session: AsyncSession = Depends(get_session),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """The 1 + 5 standard per village: laborers, how many meet it, who falls short and by what."""
    require_reader(principal)
    scope = region_filter(principal, region)
    rows = (
        await session.execute(
            sa.select(employment_records.c.id, employment_records.c.person_ref, employment_records.c.region_code)
            .where(_prefix(employment_records.c.region_code, scope))
            .order_by(employment_records.c.region_code, employment_records.c.person_ref)
        )
    ).all()
    kinds: dict[str, list[str]] = {}
    if rows:
        svc = (
            await session.execute(
                sa.select(employment_services.c.record_id, employment_services.c.kind).where(
                    employment_services.c.record_id.in_([r.id for r in rows])
                )
            )
        ).all()
        for rec_id, kind in svc:
            kinds.setdefault(rec_id, []).append(kind)
    day = ctx.today()
    villages: dict[str, dict[str, Any]] = {}
    for r in rows:
        policy = policy_for(r.region_code, day).employment
        result = check_standard(kinds.get(r.id, []), policy)
        v = villages.setdefault(
            r.region_code,
            {
                "region_code": r.region_code,
                "laborers": 0,
                "meeting_standard": 0,
                "standard": {
                    "min_guidance_or_training": policy.min_guidance_or_training,
                    "min_job_recommendations": policy.min_job_recommendations,
                },
                "short": [],
            },
        )
        v["laborers"] += 1
        if result.met:
            v["meeting_standard"] += 1
        else:
            v["short"].append(
                {
                    "record_id": r.id,
                    "person_ref": r.person_ref,
                    "guidance_or_training": result.guidance_or_training,
                    "job_recommendations": result.job_recommendations,
                    "missing": list(result.missing),
                }
            )
    return {"region": scope, "as_of": day.isoformat(), "source": STANDARD_SOURCE, "villages": list(villages.values())}


@router.post("/placements", status_code=201)
async def placement(
    body: PlacementCreate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """Record a job placement; publishes `assistance.placement_recorded` (transport allowance)."""
    out = await use.record_placement(uow, principal, body=body.model_dump(), at=ctx.now())
    await uow.commit()
    return out


@router.post("/post-wages", status_code=201)
async def post_wage(
    body: PostWageCreate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """Record a public-welfare post's annual wage; publishes `assistance.post_wage_recorded`."""
    out = await use.record_post_wage(uow, principal, body=body.model_dump(), at=ctx.now())
    await uow.commit()
    return out
