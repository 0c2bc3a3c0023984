"""Routes of the low-income side (民政, seed 003): the roster and the summary by low-income
category and region level (`/low-income/roster`, `/low-income/summary`), the twice-yearly joint
screenings (`/low-income/joint-screenings`) and the monthly comparison tasks with the four
departments (`/low-income/comparisons`, `…/{id}/receive`, `…/{id}/complete`). Thin: schema →
command → use case (application/low_income.py) → JSON."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from services.identification.adapters.unit_of_work import IdentificationUnitOfWork
from services.identification.api.deps import get_work
from services.identification.api.statistics import _csv
from services.identification.application import low_income as uc
from shared.app import ServiceContext, get_ctx, get_principal
from shared.auth import Principal
from shared.pii import mask_numbers_in_text

router = APIRouter(prefix="/api/v1/low-income", tags=["low-income"])

_MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
_PERIOD = r"^\d{4}-H[12]$"
Category = Literal["dibao", "tekun", "dibao_edge", "expenditure_hardship", "other"]
Colour = Literal["red", "orange", "yellow"]
Department = Literal["medical_insurance", "disabled_persons_federation", "human_resources", "rural_revitalisation"]


@router.get("/roster", responses={200: {"content": {"text/csv": {}}}})
async def roster(
    region: str | None = Query(default=None, max_length=12),
    category: Category | None = None,
    warning: Colour | None = None,
    cursor: str | None = Query(default=None, max_length=400),
    limit: int = Query(default=100, ge=1, le=1000),
    format: Literal["json", "csv"] = "json",
    ctx: ServiceContext = Depends(get_ctx),
    uow: IdentificationUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> Response:
    """Low-income households (低收入人口台账) by category, warning colour and region, with the
    household head's masked ID number (never a name); `next_cursor` pages on. `format=csv`: every
    page at once."""
    query = uc.RosterQuery(region=region, category=category, warning=warning, cursor=cursor, limit=limit)
    if format == "csv":
        return _csv(await uc.roster_csv_rows(ctx, uow, principal, query), "low-income-roster.csv")
    return JSONResponse(await uc.roster(ctx, uow, principal, query))


@router.get("/summary")
async def summary(
    region: str | None = Query(default=None, max_length=12),
    level: str = Query(default="township", description="province | city | county | township | village, or 2/4/6/9/12"),
    ctx: ServiceContext = Depends(get_ctx),
    uow: IdentificationUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> Response:
    """Households and persons per low-income category per region of `level`, with totals."""
    return JSONResponse(await uc.summary(ctx, uow, principal, uc.SummaryQuery(region=region, level=level)))


class JointScreeningCreate(BaseModel):
    """Start the county's joint screening of the current half-year now (once per half-year)."""

    model_config = ConfigDict(extra="forbid")
    county: str = Field(pattern=r"^\d{6}$", examples=["341221"])


@router.get("/joint-screenings")
async def list_joint_screenings(
    region: str | None = Query(default=None, max_length=12),
    period: str | None = Query(default=None, pattern=_PERIOD, description="YYYY-H1 | YYYY-H2"),
    ctx: ServiceContext = Depends(get_ctx),
    uow: IdentificationUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> Response:
    return JSONResponse(await uc.list_joint_screenings(ctx, uow, principal, region=region, period=period))


@router.post("/joint-screenings", status_code=201)
async def start_joint_screening(
    body: JointScreeningCreate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: IdentificationUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> Response:
    """201 with the new run; 200 with the run that already exists for this half-year."""
    run, created = await uc.start_joint_screening(ctx, uow, principal, uc.StartJointScreening(county=body.county))
    return JSONResponse(run, status_code=201 if created else 200)


@router.get("/comparisons")
async def list_comparisons(
    month: str | None = Query(default=None, pattern=_MONTH, description="YYYY-MM"),
    region: str | None = Query(default=None, max_length=12),
    state: Literal["pending", "received", "compared", "overdue"] | None = None,
    department: Department | None = None,
    ctx: ServiceContext = Depends(get_ctx),
    uow: IdentificationUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> Response:
    query = uc.ListComparisons(region=region, month=month, state=state, department=department)
    return JSONResponse(await uc.list_comparisons(ctx, uow, principal, query))


def _note(note: str | None) -> str | None:
    return None if note is None else mask_numbers_in_text(note)


class SignalsReceipt(BaseModel):
    """The department's data came as signals (`POST /signals`) with this `source_dept`."""

    model_config = ConfigDict(extra="forbid")
    via: Literal["signals"]
    source_dept: str = Field(min_length=1, max_length=64)
    since: dt.datetime | None = Field(default=None, description="default: the month's first day (CST)")
    until: dt.datetime | None = Field(default=None, description="default: now")
    note: str | None = Field(default=None, max_length=2000)


class FileReceipt(BaseModel):
    """The department's data came as a comparison file (e.g. through the provincial platform)."""

    model_config = ConfigDict(extra="forbid")
    via: Literal["file"]
    file_name: str = Field(min_length=1, max_length=255)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    rows: int = Field(ge=0)
    note: str | None = Field(default=None, max_length=2000)


ComparisonReceive = Annotated[SignalsReceipt | FileReceipt, Field(discriminator="via")]


class ComparisonComplete(BaseModel):
    """The comparison is done. For data received as a file, the counts are required; for
    signals they are counted by the service and must be left out."""

    model_config = ConfigDict(extra="forbid")
    matched: int | None = Field(default=None, ge=0)
    households_flagged: int | None = Field(default=None, ge=0)
    new_signals: int | None = Field(default=None, ge=0)
    note: str | None = Field(default=None, max_length=2000)


@router.post("/comparisons/{task_id}/receive")
async def receive_comparison(
    task_id: str,
    body: Annotated[ComparisonReceive, Body()],
    ctx: ServiceContext = Depends(get_ctx),
    uow: IdentificationUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    if isinstance(body, SignalsReceipt):
        cmd = uc.ReceiveComparison(
            task_id, "signals", source_dept=body.source_dept, since=body.since, until=body.until, note=_note(body.note)
        )
    else:
        cmd = uc.ReceiveComparison(
            task_id, "file", file_name=body.file_name, sha256=body.sha256, rows=body.rows, note=_note(body.note)
        )
    return await uc.receive_comparison(ctx, uow, principal, cmd)


@router.post("/comparisons/{task_id}/complete")
async def complete_comparison(
    task_id: str,
    body: ComparisonComplete,
    ctx: ServiceContext = Depends(get_ctx),
    uow: IdentificationUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    cmd = uc.CompleteComparison(
        task_id,
        matched=body.matched,
        households_flagged=body.households_flagged,
        new_signals=body.new_signals,
        note=_note(body.note),
    )
    return await uc.complete_comparison(ctx, uow, principal, cmd)
