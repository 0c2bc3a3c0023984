"""Routes: bulk import of households (`POST /api/v1/households/import`, streamed JSON array,
NDJSON or CSV) and job progress (`GET /api/v1/jobs/{id}`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.audit import record_unmasked_read
from services.identification.adapters.households import get_household
from services.identification.adapters.jobs import chunk_summary, get_job, job_read
from services.identification.api.schemas import JobRead
from services.identification.application.households import (
    detect_format,
    run_import_stream,
    start_import_job,
)
from services.identification.application.loops import loops_read
from services.identification.application.negative_flags import exclusions_of, flags_of
from shared.app import ServiceContext, get_ctx, get_principal, get_session
from shared.auth import Principal
from shared.db import one_snapshot
from shared.errors import FieldError, Forbidden, NotFound, Unprocessable
from shared.logging import request_id_var
from shared.pii import mask_numbers_in_text

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


_REVEALERS = frozenset({"county", "province", "admin"})


@router.get("/households/{household_id}", summary="One household; ID numbers and names masked unless revealed")
async def read_household(
    household_id: str,
    reveal: str | None = Query(default=None, description="`id_number`: clear ID numbers and names (county and above)"),
    reason: str | None = Query(default=None, max_length=500, description="why the clear values are needed (audited)"),
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(get_principal),
) -> JSONResponse:
    """Members' ID numbers come masked (`341221********123X`) and names as the surname only. With
    `reveal=id_number` a county, province or admin caller gets them in clear, and the read is
    written to the hash-chained audit log (who, whose, why, request id) in the same transaction."""
    if principal.role not in ("province", "county", "township", "village", "contact", "admin"):
        raise Forbidden("households are for officers, contact persons and administrators", code="role_not_allowed")
    wants_clear = reveal is not None
    if wants_clear:
        if reveal != "id_number":
            raise Unprocessable("reveal takes id_number", errors=[FieldError("reveal", "must be id_number")])
        if principal.role not in _REVEALERS:
            raise Forbidden("only county, province and admin may read unmasked ID numbers", code="unmask_forbidden")
        if not reason or not reason.strip():
            raise Unprocessable("say why", errors=[FieldError("reason", "required with reveal (it is audited)")])
    async with ctx.uow() as uow:
        if not wants_clear:  # the household, its outcome and the re-assessment explaining it agree
            await one_snapshot(uow.session)
        stored = await get_household(uow.session, household_id, cipher=ctx.cipher if wants_clear else None)
        if stored is None or not principal.sees(stored.region_code):
            raise NotFound("no such household in your jurisdiction")
        loops = await loops_read(uow, stored.id)  # measures, re-assessment, red mark
        flags = await flags_of(uow.session, stored.id)  # negative-list flags from other services
        if wants_clear:
            await record_unmasked_read(
                uow.session,
                actor=principal.sub,
                role=principal.role,
                household_id=stored.id,
                fields="id_number,name",
                reason=mask_numbers_in_text((reason or "").strip()),  # kept in clear: no numbers
                request_id=request_id_var.get(),
            )
            await uow.commit()
    members = [
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
            "id_number": m.id_number if wants_clear else m.id_number_masked,
            "name": m.name if wants_clear else None,
        }
        for m in stored.members
    ]
    body = {
        "id": stored.id,
        "household_number": stored.household_number,
        "region_code": stored.region_code,
        "status": stored.status,
        "category": stored.category,
        "low_income_category": stored.low_income_category,
        "warning": stored.warning,
        "per_capita_income": None if stored.per_capita_income is None else f"{stored.per_capita_income:.2f}",
        "escaped_poverty": stored.escaped_poverty,
        "dibao_status": stored.dibao_status,
        "members": members,
        "unmasked": wants_clear,
        **loops,
        "exclusions": exclusions_of(stored),  # the negative list from the stored facts
        "negative_list_flags": flags,  # flags raised by other services, with their explanation
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
