"""Employment services: survey records, services given, the 1 + 5 standard per village,
placements and public-welfare post wages (events for the subsidy service)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from services.assistance.adapters.queries import AssistanceReads
from services.assistance.adapters.unit_of_work import AssistanceUnitOfWork
from services.assistance.application import employment as use
from services.assistance.application import employment_reads as reads
from shared.app import ServiceContext, get_ctx, get_principal
from shared.auth import Principal

from .bodies import record_body, standard_body
from .deps import get_reads, get_work
from .schemas import EmploymentRecordCreate, EmploymentServiceCreate, PlacementCreate, PostWageCreate

router = APIRouter(prefix="/api/v1/employment", tags=["employment"])


@router.post("/records")
async def upsert_record(
    body: EmploymentRecordCreate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: AssistanceUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """Create or update the laborer's record (by `person_ref`)."""
    survey = body.model_dump(exclude_none=True)
    cmd = use.UpsertRecord(survey.pop("person_ref"), survey.pop("household_id"), survey)
    done = await use.upsert_record(uow, principal, cmd, at=ctx.now())
    return {**record_body(await reads.record_view(uow.reads, done.record)), "created": done.created}


@router.get("/records")
async def list_records(
    region: str | None = None,
    household_id: str | None = None,
    queries: AssistanceReads = Depends(get_reads),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    items = await reads.list_records(queries, principal, reads.ListRecords(region, household_id))
    return {"items": [record_body(r) for r in items]}


@router.get("/records/{record_id}")
async def get_record(
    record_id: str,
    queries: AssistanceReads = Depends(get_reads),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    return record_body(await reads.get_record(queries, principal, record_id))


@router.post("/records/{record_id}/services", status_code=201)
async def add_service(
    record_id: str,
    body: EmploymentServiceCreate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: AssistanceUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """Log a career guidance, a training or a job-post recommendation given to the laborer."""
    cmd = use.AddService(record_id, str(body.kind), body.provided_on, body.detail)
    record = await use.add_service(uow, principal, cmd, today=ctx.today(), at=ctx.now())
    return record_body(await reads.record_view(uow.reads, record))


@router.get("/standard")
async def standard(
    region: str | None = None,
    ctx: ServiceContext = Depends(get_ctx),
    queries: AssistanceReads = Depends(get_reads),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """The 1 + 5 standard per village: laborers, how many meet it, who falls short and by what."""
    q = reads.CheckStandard(region)
    return standard_body(await reads.employment_standard(queries, principal, q, today=ctx.today()))


@router.post("/placements", status_code=201)
async def placement(
    body: PlacementCreate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: AssistanceUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """Record a job placement; publishes `assistance.placement_recorded` (transport allowance)."""
    cmd = use.RecordPlacement(**body.model_dump())
    placed, data = await use.record_placement(uow, principal, cmd, at=ctx.now())
    return {"id": placed.id, **data, "employer": placed.employer}


@router.post("/post-wages", status_code=201)
async def post_wage(
    body: PostWageCreate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: AssistanceUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """Record a public-welfare post's annual wage; publishes `assistance.post_wage_recorded`."""
    cmd = use.RecordPostWage(**body.model_dump())
    wage, data = await use.record_post_wage(uow, principal, cmd, at=ctx.now())
    return {"id": wage.id, **data}
