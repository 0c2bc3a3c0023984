"""Routes: bulk import of households (`POST /api/v1/households/import`, streamed JSON array,
NDJSON or CSV) and job progress (`GET /api/v1/jobs/{id}`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.jobs import chunk_summary, get_job, job_read
from services.identification.api.schemas import JobRead
from services.identification.application.households import (
    detect_format,
    run_import_stream,
    start_import_job,
)
from shared.app import ServiceContext, get_ctx, get_principal, get_session
from shared.auth import Principal
from shared.errors import FieldError, NotFound, Unprocessable

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
    job, fresh = await start_import_job(ctx, principal, idempotency_key=idempotency_key, fmt=fmt, rows_total=total)
    if job.status == "completed" and not fresh:
        return _job_response(job_read(job), 202)

    async def chunks() -> AsyncIterator[bytes]:
        if first:
            yield first
        async for chunk in stream:
            if chunk:
                yield chunk

    job = await run_import_stream(ctx, principal, job, chunks(), fmt)
    return _job_response(job_read(job), 202)


@router.get("/jobs/{job_id}", response_model=JobWithChunksRead, summary="A job's progress and error report")
async def read_job(
    job_id: str,
    principal: Principal = Depends(get_principal),
    session: AsyncSession = Depends(get_session),
) -> dict[str, Any]:
    if len(job_id) > 36:
        raise Unprocessable("bad job id", errors=[FieldError("job_id", "not a job id")])
    job = await get_job(session, job_id)
    if job is None or not (principal.sees(job.region) or job.created_by == principal.sub):
        raise NotFound("no such job")
    body = job_read(job)
    if job.kind == "screening":
        body["chunks"] = await chunk_summary(session, job.id)
    return body
