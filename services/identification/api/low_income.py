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
from services.identification.api.monitoring_schemas import iso, money, policy_body, registry_item_body
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


def _roster_item_body(it: uc.RosterItem) -> dict[str, Any]:
    return {
        **registry_item_body(it.household),
        "per_capita_income": money(it.per_capita_income),
        "assessed_as_of": iso(it.assessed_as_of),
        "policy": policy_body(it.policy),
        "roster_category": it.roster_category,
        "other_reasons": it.other_reasons,
        "source": it.source,
    }


def _roster_body(page: uc.RosterPage) -> dict[str, Any]:
    return {
        "region": page.region,
        "category": page.category,
        "warning": page.warning,
        "items": [_roster_item_body(it) for it in page.items],
        "next_cursor": page.next_cursor,
    }


def _roster_csv_row(it: uc.RosterItem) -> dict[str, Any]:
    """A roster row of the CSV export (masked ID numbers, no names)."""
    h = it.household
    return {
        "household_id": h.id,
        "household_number": h.household_number,
        "region_code": h.region_code,
        "roster_category": it.roster_category,
        "low_income_category": h.low_income_category or "",
        "other_reasons": ";".join(it.other_reasons),
        "category": h.category or "",
        "warning": h.warning or "",
        "status": h.status,
        "members": h.members,
        "head_id_number_masked": "" if h.head is None else h.head.id_number_masked,
        "per_capita_income": money(it.per_capita_income) or "",
        "assessed_as_of": iso(it.assessed_as_of) or "",
    }


def _figures(f: uc.CategoryFigures) -> dict[str, int]:
    return {"households": f.households, "persons": f.persons}


def _summary_body(result: uc.LowIncomeSummary) -> dict[str, Any]:
    return {
        "region": result.region,
        "level": result.level,
        "rows": [
            {
                "region": r.region,
                "level": r.level,
                "categories": {c: _figures(f) for c, f in r.categories.items()},
                "low_income_households": r.low_income_households,
                "low_income_persons": r.low_income_persons,
            }
            for r in result.rows
        ],
        "totals": {
            "categories": {c: _figures(f) for c, f in result.totals.items()},
            "low_income_households": result.low_income_households,
            "low_income_persons": result.low_income_persons,
        },
        "sources": {"categories": result.categories_source, "other": result.other_source},
    }


def _run_body(run: uc.JointScreeningRun) -> dict[str, Any]:
    job = run.job
    return {
        "id": run.id,
        "kind": "joint_screening",
        "county": run.county,
        "period": run.period,
        "status": run.status,
        "as_of": iso(run.as_of),
        "job_id": run.job_id,
        "job": None
        if job is None
        else {"status": job.status, "rows_done": job.rows_done, "rows_total": job.rows_total},
        "schedule": run.schedule,
        "result": run.result,
        "started_by": run.started_by,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "source": run.source,
    }


def _task_body(t: uc.ComparisonTask) -> dict[str, Any]:
    return {
        "id": t.id,
        "county": t.county,
        "month": t.month,
        "department": t.department,
        "department_name": t.department_name,
        "subject": t.subject,
        "state": t.state,
        "due_on": iso(t.due_on),
        "due_rule": t.due_rule,
        "receipt": t.receipt,
        "received_at": iso(t.received_at),
        "received_by": t.received_by,
        "result": t.result,
        "compared_at": iso(t.compared_at),
        "compared_by": t.compared_by,
        "overdue_at": iso(t.overdue_at),
        "history": t.history,
        "version": t.version,
        "source": t.source,
    }


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
        rows = [_roster_csv_row(it) for it in await uc.roster_all(ctx, uow, principal, query)]
        return _csv(rows, "low-income-roster.csv")
    return JSONResponse(_roster_body(await uc.roster(ctx, uow, principal, query)))


@router.get("/summary")
async def summary(
    region: str | None = Query(default=None, max_length=12),
    level: str = Query(default="township", description="province | city | county | township | village, or 2/4/6/9/12"),
    ctx: ServiceContext = Depends(get_ctx),
    uow: IdentificationUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> Response:
    """Households and persons per low-income category per region of `level`, with totals."""
    result = await uc.summary(ctx, uow, principal, uc.SummaryQuery(region=region, level=level))
    return JSONResponse(_summary_body(result))


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
    result = await uc.list_joint_screenings(ctx, uow, principal, uc.ListJointScreenings(region=region, period=period))
    return JSONResponse({"region": result.region, "items": [_run_body(r) for r in result.items]})


@router.post("/joint-screenings", status_code=201)
async def start_joint_screening(
    body: JointScreeningCreate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: IdentificationUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> Response:
    """201 with the new run; 200 with the run that already exists for this half-year."""
    started = await uc.start_joint_screening(ctx, uow, principal, uc.StartJointScreening(county=body.county))
    return JSONResponse(_run_body(started.run), status_code=201 if started.created else 200)


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
    result = await uc.list_comparisons(ctx, uow, principal, query)
    return JSONResponse(
        {
            "region": result.region,
            "month": result.month,
            "counts": result.counts,
            "items": [_task_body(t) for t in result.items],
        }
    )


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
    return _task_body(await uc.receive_comparison(ctx, uow, principal, cmd))


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
    return _task_body(await uc.complete_comparison(ctx, uow, principal, cmd))
