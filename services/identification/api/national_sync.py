"""Routes of the export to the national monitoring system (docs/registry.md "National monitoring
system export"): start runs, their history, one run, and its file (streamed, decrypted on the way
out; it carries ID numbers, so only province and county callers get it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from services.identification.adapters.national_sync_repo import Run
from services.identification.application.national_sync import (
    ListSyncRuns,
    StartNationalSync,
    open_file,
    read_run,
    runs_history,
    start_national_sync,
)
from shared.app import ServiceContext, get_ctx, get_principal
from shared.auth import Principal

router = APIRouter(prefix="/api/v1/national-sync", tags=["national-sync"])


def _run_body(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "job": f"/api/v1/jobs/{run.id}",
        "county": run.county,
        "sequence": run.sequence,
        "full": run.full,
        "status": run.status,
        "phase": run.phase,
        "since": run.since,
        "until": run.until,
        "period": run.period,
        "households": run.households,
        "checksum": run.checksum,
        "bytes": run.bytes,
        "files": (
            [{"name": run.file_name, "url": f"/api/v1/national-sync/runs/{run.id}/files/{run.file_name}"}]
            if run.status == "completed"
            else []
        ),
        "created_by": run.created_by,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
    }


class NationalSyncRunCreate(BaseModel):
    """Start the export of a county, or of every county of a city or province."""

    model_config = ConfigDict(extra="forbid")

    region: str | None = Field(
        default=None,
        pattern=r"^[0-9]{2}([0-9]{2}([0-9]{2})?)?$",
        description="province (2), city (4) or county (6) code inside your region; default: yours",
    )
    full: bool = Field(default=False, description="every household of the county, not only those changed since")


class NationalSyncFile(BaseModel):
    name: str
    url: str


class NationalSyncRunRead(BaseModel):
    id: str
    job: str
    county: str
    sequence: int
    full: bool
    status: str
    phase: str
    since: dt.datetime | None
    until: dt.datetime
    period: str
    households: int | None
    checksum: str | None
    bytes: int | None
    files: list[NationalSyncFile]
    created_by: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    created: bool | None = None


class NationalSyncRunList(BaseModel):
    items: list[NationalSyncRunRead]


@router.post(
    "/runs",
    status_code=202,
    response_model=NationalSyncRunList,
    summary="Start the national export of a county (or every county of a region): one job per county",
)
async def start_runs(
    body: NationalSyncRunCreate,
    principal: Principal = Depends(get_principal),
    ctx: ServiceContext = Depends(get_ctx),
) -> JSONResponse:
    started = await start_national_sync(ctx, principal, StartNationalSync(region=body.region, full=body.full))
    items = [{**_run_body(s.run), "created": s.created} for s in started]
    return JSONResponse(jsonable_encoder({"items": items}), status_code=202)


@router.get("/runs", response_model=NationalSyncRunList, summary="History of national export runs, newest first")
async def list_runs(
    county: str | None = Query(default=None, pattern=r"^[0-9]{6}$"),
    status: str | None = Query(default=None, pattern="^(running|completed|failed)$"),
    limit: int = Query(default=50, ge=1, le=500),
    principal: Principal = Depends(get_principal),
    ctx: ServiceContext = Depends(get_ctx),
) -> dict[str, Any]:
    runs = await runs_history(ctx, principal, ListSyncRuns(county=county, status=status, limit=limit))
    return {"items": [_run_body(r) for r in runs]}


@router.get("/runs/{run_id}", response_model=NationalSyncRunRead, summary="One national export run")
async def get_run(
    run_id: str, principal: Principal = Depends(get_principal), ctx: ServiceContext = Depends(get_ctx)
) -> dict[str, Any]:
    return _run_body(await read_run(ctx, principal, run_id[:36]))


@router.get(
    "/runs/{run_id}/files/{name}",
    summary="A run's file in the national format (streamed; holds ID numbers)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def download_file(
    run_id: str, name: str, principal: Principal = Depends(get_principal), ctx: ServiceContext = Depends(get_ctx)
) -> StreamingResponse:
    chunks = await open_file(ctx, principal, run_id[:36], name)
    return StreamingResponse(
        chunks,
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
