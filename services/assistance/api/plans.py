"""Plans and measures: `GET /plans?household_id=` (the DESIGN.md contract), `GET /plans/{id}`
with history, measures added/edited/moved through their lifecycle, contact reassignment."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from services.assistance.adapters.queries import AssistanceReads
from services.assistance.adapters.unit_of_work import AssistanceUnitOfWork
from services.assistance.application import measures, reads
from services.assistance.application import plans as use
from shared.app import ServiceContext, get_ctx, get_principal
from shared.auth import Principal

from .bodies import measure_body, plan_detail_body, plan_summary_body
from .deps import get_reads, get_work
from .schemas import ContactAssign, MeasureCreate, MeasureTransition, MeasureUpdate

router = APIRouter(prefix="/api/v1", tags=["plans"])

_LIMIT = Query(default=100, ge=1, le=1000)


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
    queries: AssistanceReads = Depends(get_reads),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """The household's plan(s), or the plans of a region. `overdue=true`: plans not drawn up
    (no measure accepted) past their due date (002 篇二 §(一)5: 10 days)."""
    q = reads.ListPlans(region, household_id, status, contact, overdue, limit=limit, offset=offset)
    items = await reads.list_plans(queries, ctx.cipher, principal, q, today=ctx.today())
    return {"items": [plan_summary_body(p) for p in items], "limit": limit, "offset": offset}


@router.get("/plans/{plan_id}")
async def get_plan(
    plan_id: str,
    ctx: ServiceContext = Depends(get_ctx),
    queries: AssistanceReads = Depends(get_reads),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    return plan_detail_body(await reads.get_plan(queries, ctx.cipher, principal, plan_id, today=ctx.today()))


@router.post("/plans/{plan_id}/measures", status_code=201)
async def add_measure(
    plan_id: str,
    body: MeasureCreate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: AssistanceUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    cmd = measures.AddMeasure(plan_id, body.type, body.reason, body.description)
    return measure_body(reads.measure_view(await measures.add_measure(uow, principal, cmd, at=ctx.now()), principal))


@router.post("/plans/{plan_id}/contact")
async def reassign_contact(
    plan_id: str,
    body: ContactAssign,
    ctx: ServiceContext = Depends(get_ctx),
    uow: AssistanceUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    cmd = use.AssignContact(plan_id, body.contact_id, body.reason)
    plan = await use.assign_contact(uow, principal, cmd, at=ctx.now())
    return plan_detail_body(await reads.plan_detail(uow.reads, ctx.cipher, principal, plan, ctx.today()))


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
    queries: AssistanceReads = Depends(get_reads),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """Measures in a region; a department sees its own. `stalled=true`: not closed or dropped and
    without progress for the policy's `measure_stall_days` (30)."""
    q = reads.ListMeasures(region, status, department, type, stalled, limit=limit, offset=offset)
    items = await reads.list_measures(queries, principal, q, now=ctx.now())
    return {"items": [measure_body(m) for m in items], "limit": limit, "offset": offset}


@router.get("/measures/{measure_id}")
async def get_measure(
    measure_id: str,
    queries: AssistanceReads = Depends(get_reads),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    return measure_body(await reads.get_measure(queries, principal, measure_id))


@router.patch("/measures/{measure_id}")
async def edit_measure(
    measure_id: str,
    body: MeasureUpdate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: AssistanceUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    cmd = measures.EditMeasure(measure_id, body.reason, body.description, body.department, body.version)
    return measure_body(reads.measure_view(await measures.edit_measure(uow, principal, cmd, at=ctx.now()), principal))


@router.post("/measures/{measure_id}/transitions")
async def measure_transition(
    measure_id: str,
    body: MeasureTransition,
    ctx: ServiceContext = Depends(get_ctx),
    uow: AssistanceUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """accept (受理) | refer (转办: publishes `assistance.measure_referred`) | start | close (办结,
    `outcome` required) | drop (`reason` required)."""
    cmd = measures.TransitionMeasure(measure_id, body.action, body.note, body.outcome, body.reason, body.version)
    return measure_body(reads.measure_view(await measures.transition(uow, principal, cmd, at=ctx.now()), principal))
