"""Routes: bulk import of households (`POST /api/v1/households/import`, streamed JSON array,
NDJSON or CSV) and job progress (`GET /api/v1/jobs/{id}`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from services.identification.adapters.jobs import job_read
from services.identification.adapters.unit_of_work import IdentificationUnitOfWork
from services.identification.api.monitoring_schemas import loops_body
from services.identification.api.schemas import JobRead
from services.identification.application import household_records as records
from services.identification.application.household_records import job_status
from services.identification.application.households import (
    StartImport,
    UploadInterrupted,
    detect_format,
    run_import_stream,
    start_import_job,
)
from shared.app import ServiceContext, get_ctx, get_principal, get_uow
from shared.auth import Principal

router = APIRouter(prefix="/api/v1", tags=["households"])


class JobWithChunksRead(JobRead):
    """A job; for a screening also `chunks`: {total, pending, claimed, done, reclaimed,
    by_replica: [{claimed_by, chunks, rows}]} — which replica (hostname-pid) did what."""

    chunks: dict[str, Any] | None = None


def _job_response(body: dict[str, Any], status: int) -> JSONResponse:
    return JSONResponse(jsonable_encoder(body), status_code=status, headers={"Location": f"/api/v1/jobs/{body['id']}"})


@router.post(
    "/households/import",
    status_code=202,
    response_model=JobRead,
    summary="Bulk upsert of households (JSON array, NDJSON or CSV, streamed)",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                "text/csv": {"schema": {"type": "string"}},
            }
        }
    },
)
async def import_households(
    request: Request,
    principal: Principal = Depends(get_principal),
    ctx: ServiceContext = Depends(get_ctx),
    idempotency_key: str | None = Header(default=None, alias="Idempotency-Key"),
    total: int | None = Query(default=None, ge=0, description="households in the file, if known (for progress)"),
    fmt: str | None = Query(default=None, alias="format", pattern="^(ndjson|json|csv)$"),
) -> JSONResponse:
    stream = request.stream().__aiter__()
    first = b""
    async for chunk in stream:
        if chunk:
            first = chunk
            break
    fmt = fmt or detect_format(request.headers.get("content-type"), first)
    command = StartImport(fmt, idempotency_key=idempotency_key, rows_total=total)
    started = await start_import_job(ctx, principal, command)
    job = started.job
    if job.status == "completed" and not started.fresh:
        return _job_response(job_read(job), 202)

    async def chunks() -> AsyncIterator[bytes]:
        if first:
            yield first
        try:
            async for chunk in stream:
                if chunk:
                    yield chunk
        except ClientDisconnect:
            raise UploadInterrupted() from None

    try:
        job = await run_import_stream(ctx, principal, job, chunks(), fmt)
    except UploadInterrupted:
        raise ClientDisconnect() from None
    return _job_response(job_read(job), 202)


@router.get("/jobs/{job_id}", response_model=JobWithChunksRead, summary="A job's progress and error report")
async def read_job(
    job_id: str,
    principal: Principal = Depends(get_principal),
    work: IdentificationUnitOfWork = Depends(get_uow),
) -> dict[str, Any]:
    status = await job_status(work, principal, job_id)
    body = job_read(status.job)
    if status.job.kind == "screening":
        body["chunks"] = status.chunks
    return body


@router.get("/households/{household_id}", summary="One household; ID numbers and names masked unless revealed")
async def read_household(
    household_id: str,
    reveal: str | None = Query(default=None, description="`id_number`: clear ID numbers and names (county and above)"),
    reason: str | None = Query(default=None, max_length=500, description="why the clear values are needed (audited)"),
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(get_principal),
    work: IdentificationUnitOfWork = Depends(get_uow),
) -> JSONResponse:
    """Members' ID numbers come masked (`341221********123X`) and names as the surname only. With
    `reveal=id_number` a county, province or admin caller gets them in clear, and the read is
    written to the hash-chained audit log (who, whose, why, request id) in the same transaction."""
    read = await records.read_household(ctx, work, principal, records.ReadHousehold(household_id, reveal, reason))
    return JSONResponse(_household_body(read), headers={"Cache-Control": "no-store"})


def _household_body(h: records.HouseholdRead) -> dict[str, Any]:
    """`GET /households/{id}`: money as a 2-place decimal string, dates ISO."""
    return {
        "id": h.id,
        "household_number": h.household_number,
        "region_code": h.region_code,
        "status": h.status,
        "category": h.category,
        "low_income_category": h.low_income_category,
        "warning": h.warning,
        "per_capita_income": None if h.per_capita_income is None else f"{h.per_capita_income:.2f}",
        "escaped_poverty": h.escaped_poverty,
        "dibao_status": h.dibao_status,
        "members": [
            {
                "position": m.position,
                "relation": m.relation,
                "sex": m.sex,
                "birth_date": m.birth_date.isoformat(),
                "labor_capacity": m.labor_capacity,
                "disability_grade": m.disability_grade,
                "disability_kind": m.disability_kind,
                "serious_illness": m.serious_illness,
                "schooling": m.schooling,
                "id_number": m.id_number,
                "name": m.name,
            }
            for m in h.members
        ],
        "unmasked": h.unmasked,
        **loops_body(h.loops),
        "exclusions": [dict(e) for e in h.exclusions],
        "negative_list_flags": [dict(f) for f in h.negative_list_flags],
    }
