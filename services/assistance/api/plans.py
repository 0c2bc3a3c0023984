"""Plans and measures: `GET /plans?household_id=` (the DESIGN.md contract), `GET /plans/{id}`
with history, measures added/edited/moved through their lifecycle, contact reassignment."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance.adapters.orm import measures, plans
from services.assistance.adapters.repository import Repository
from services.assistance.application import plans as use
from services.assistance.application.common import (
    ensure_sees,
    region_filter,
    require_reader,
)
from services.assistance.application.reads import measure_read, plan_read, plan_summary
from services.assistance.domain.params import assistance_policy
from shared.app import ServiceContext, get_ctx, get_principal, get_session, get_uow
from shared.auth import Principal
from shared.db import UnitOfWork
from shared.errors import NotFound

from .schemas import ContactAssign, MeasureCreate, MeasureTransition, MeasureUpdate

router = APIRouter(prefix="/api/v1", tags=["plans"])

_LIMIT = Query(default=100, ge=1, le=1000)


def _prefix(col: Any, region: str) -> Any:
    return col.like(f"{region}%") if region else sa.true()


@router.get("/plans")
async def list_plans(
    household_id: str | None = None,
    region: str | None = None,
    status: str | None = None,
    contact: str | None = None,
    overdue: bool = False,
    limit: int = _LIMIT,
    offset: int = Query(default=0, ge=0, le=1_000_000_000),
    ctx: ServiceContext = Depends(get_ctx),
    session: AsyncSession = Depends(get_session),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """The household's plan(s), or the plans of a region. `overdue=true`: plans not drawn up
    (no measure accepted) past their due date (002 篇二 §(一)5: 10 days)."""
    require_reader(principal)
    scope = region_filter(principal, region)
    day = ctx.today()
    q = sa.select(plans).where(_prefix(plans.c.region_code, scope))
    if household_id is not None:
        q = q.where(plans.c.household_id == household_id)
    if status is not None:
        q = q.where(plans.c.status == status)
    if contact is not None:
        q = q.where(plans.c.contact_id == contact)
    if overdue:
        q = q.where(plans.c.drawn_up_on.is_(None), plans.c.status != "closed", plans.c.due_date < day)
    q = q.order_by(plans.c.created_at.desc(), plans.c.id).limit(limit).offset(offset)
    rows = list((await session.execute(q)).all())
    return {"items": await plan_summary(ctx, session, rows, day), "limit": limit, "offset": offset}


@router.get("/plans/{plan_id}")
async def get_plan(
    plan_id: str,
    ctx: ServiceContext = Depends(get_ctx),
    session: AsyncSession = Depends(get_session),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    require_reader(principal)
    row = await Repository(session).plan(plan_id)
    if row is None:
        raise NotFound("plan not found")
    ensure_sees(principal, row.region_code, "plan")
    day = ctx.today()
    out = await plan_read(ctx, session, principal, row, day)
    out["policy"] = {
        "plan_due_days": {
            "value": assistance_policy(row.region_code, row.opened_on).plan_due_days,
            "source": assistance_policy(row.region_code, row.opened_on).source("plan_due_days"),
        }
    }
    return out


@router.post("/plans/{plan_id}/measures", status_code=201)
async def add_measure(
    plan_id: str,
    body: MeasureCreate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    row = await use.add_measure(
        uow,
        principal,
        plan_id=plan_id,
        measure_type=body.type,
        reason=body.reason,
        description=body.description,
        at=ctx.now(),
    )
    await uow.commit()
    m = await Repository(uow.session).measure(row["id"])
    return measure_read(m, principal)


@router.post("/plans/{plan_id}/contact")
async def reassign_contact(
    plan_id: str,
    body: ContactAssign,
    ctx: ServiceContext = Depends(get_ctx),
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    await use.assign_contact(
        uow, principal, plan_id=plan_id, contact_id=body.contact_id, reason=body.reason, at=ctx.now()
    )
    await uow.commit()
    row = await Repository(uow.session).plan(plan_id)
    return await plan_read(ctx, uow.session, principal, row, ctx.today())


@router.get("/measures")
async def list_measures(
    region: str | None = None,
    status: str | None = None,
    department: str | None = None,
    type: str | None = None,
    stalled: bool = False,
    limit: int = _LIMIT,
    offset: int = Query(default=0, ge=0, le=1_000_000_000),
    ctx: ServiceContext = Depends(get_ctx),
    session: AsyncSession = Depends(get_session),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """Measures in a region; a department sees its own. `stalled=true`: not closed or dropped and
    without progress for the policy's `measure_stall_days` (30)."""
    require_reader(principal)
    scope = region_filter(principal, region)
    q = sa.select(measures).where(_prefix(measures.c.region_code, scope))
    if principal.role == "department":
        q = q.where(measures.c.department == principal.dept)
    if department is not None:
        q = q.where(measures.c.department == department)
    if status is not None:
        q = q.where(measures.c.status == status)
    if type is not None:
        q = q.where(measures.c.type == type)
    if stalled:
        q = q.where(measures.c.status.not_in(["closed", "dropped"]))
    q = q.order_by(measures.c.created_at, measures.c.id)
    rows = list((await session.execute(q)).all())
    if stalled:
        from services.assistance.application.sweep import is_stalled

        now = ctx.now()
        rows = [r for r in rows if is_stalled(r, now)]
    rows = rows[offset : offset + limit]
    return {"items": [measure_read(r, principal) for r in rows], "limit": limit, "offset": offset}


async def _measure_visible(session: AsyncSession, principal: Principal, measure_id: str) -> Any:
    m = await Repository(session).measure(measure_id)
    if m is None or not principal.sees(m.region_code):
        raise NotFound("measure not found")
    if principal.role == "department" and principal.dept != m.department:
        raise NotFound("measure not found")
    return m


@router.get("/measures/{measure_id}")
async def get_measure(
    measure_id: str,
    session: AsyncSession = Depends(get_session),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    require_reader(principal)
    return measure_read(await _measure_visible(session, principal, measure_id), principal)


@router.patch("/measures/{measure_id}")
async def edit_measure(
    measure_id: str,
    body: MeasureUpdate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    await use.edit_measure(
        uow,
        principal,
        measure_id=measure_id,
        reason=body.reason,
        description=body.description,
        department=body.department,
        version=body.version,
        at=ctx.now(),
    )
    await uow.commit()
    return measure_read(await Repository(uow.session).measure(measure_id), principal)


@router.post("/measures/{measure_id}/transitions")
async def measure_transition(
    measure_id: str,
    body: MeasureTransition,
    ctx: ServiceContext = Depends(get_ctx),
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """accept (受理) | refer (转办: publishes `assistance.measure_referred`) | start | close (办结,
    `outcome` required) | drop (`reason` required)."""
    await use.transition(
        uow,
        principal,
        measure_id=measure_id,
        action=body.action,
        note=body.note,
        outcome=body.outcome,
        reason=body.reason,
        version=body.version,
        at=ctx.now(),
    )
    await uow.commit()
    return measure_read(await Repository(uow.session).measure(measure_id), principal)
