"""Routes of temporary relief (临时救助) under `/api/v1/social-assistance/relief`: schema →
command → use case → response (the use case commits through its unit of work)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.civil_affairs.application import relief as use
from services.civil_affairs.application.ports import Work
from shared.app import ServiceContext, get_ctx, get_principal, get_uow
from shared.auth import Principal
from shared.pii import MaskedText

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/social-assistance/relief", tags=["temporary relief"])

_VILLAGE = r"^\d{12}$"
_REGION = r"^\d{2}(\d{2}(\d{2}(\d{3}(\d{3})?)?)?)?$"
Money = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2, examples=["1500.00"])]


class HouseholdNotOnFile(BaseModel):
    """A household not (yet) in identification's registry: no names or ID numbers here."""

    model_config = ConfigDict(extra="forbid")

    members: int = Field(ge=1, le=50)
    note: MaskedText | None = Field(default=None, max_length=500)


class ReliefCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region_code: str = Field(pattern=_VILLAGE, description="the household's village (12 digits)")
    household_id: str | None = Field(default=None, max_length=64, description="identification's household id")
    household: HouseholdNotOnFile | None = None
    reason: Literal["illness", "accident", "disaster", "sudden_expense"]
    amount: Money
    description: MaskedText | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _one_household(self) -> ReliefCreate:
        if (self.household_id is None) == (self.household is None):
            raise ValueError("give household_id (on file) or household (not on file), not both")
        return self


class Paperwork(BaseModel):
    model_config = ConfigDict(extra="forbid")

    economic_check_ref: str = Field(min_length=1, max_length=200, description="the economic-check result's id")
    verification_record: MaskedText = Field(min_length=1, max_length=2000, description="入户核查 record")


class ReliefActionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["approve", "refer_to_county", "relief_first", "complete_paperwork", "reject"]
    amount: Money | None = Field(
        default=None, description="approve: the amount (default requested); relief_first: the urgent amount"
    )
    reason: MaskedText | None = Field(default=None, max_length=2000, description="reject: why")
    paperwork: Paperwork | None = None
    note: MaskedText | None = Field(default=None, max_length=2000)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _payment_body(p: use.ReliefPayment) -> dict[str, Any]:
    return {
        "payment_id": p.payment_id,
        "amount": _money(p.amount),
        "funding_source": p.funding_source,
        "approved_level": p.approved_level,
        "status": p.status,
        "decision_id": p.decision_id,
        "recorded_amount": _money(p.recorded_amount),
        "refusal": p.refusal,
        "ordered_at": _iso(p.ordered_at),
        "recorded_at": _iso(p.recorded_at),
    }


def _to_body(r: use.ReliefView) -> dict[str, Any]:
    """The request as the API answers it (docs/civil-affairs.md "Temporary relief")."""
    return {
        "id": r.id,
        "seq": r.seq,
        "state": r.state,
        "region_code": r.region_code,
        "household_id": r.household_id,
        "household": r.household,
        "reason": r.reason,
        "description": r.description,
        "requested_amount": _money(r.requested_amount),
        "approved_amount": _money(r.approved_amount),
        "approved_level": r.approved_level,
        "township_limit": _money(r.township_limit),
        "policy": {"id": r.policy.id, "version": r.policy.version, "as_of": r.policy.as_of.isoformat()},
        "explanations": r.explanations,
        "history": r.history,
        "allowed_actions": r.allowed_actions,
        "deadlines": {
            "paperwork_due_on": _iso(r.deadlines.paperwork_due_on),
            "paperwork_overdue": r.deadlines.paperwork_overdue,
        },
        "paperwork": r.paperwork,
        "rejection_reason": r.rejection_reason,
        "payments": [_payment_body(p) for p in r.payments],
        "submitted_by": r.submitted_by,
        "created_at": _iso(r.created_at),
        "updated_at": _iso(r.updated_at),
        "version": r.version,
    }


@router.get("/limit", summary="The township approval limit and relief-first figures in force")
async def limit(
    region_code: str = Query(pattern=_REGION),
    as_of: dt.date | None = None,
    ctx: ServiceContext = Depends(get_ctx),
    uow: Work = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    found = await use.relief_limit(uow, principal, region_code, as_of or ctx.today())
    return {"region_code": found.region_code, "as_of": found.as_of.isoformat(), **found.policy.as_dict()}


@router.post("", status_code=201, summary="Request temporary relief (officer or citizen)")
async def submit(
    body: ReliefCreate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: Work = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    cmd = use.SubmitRelief(
        region_code=body.region_code,
        reason=body.reason,
        amount=body.amount,
        household_id=body.household_id,
        household=None if body.household is None else body.household.model_dump(exclude_none=True),
        description=body.description,
    )
    return _to_body(await use.submit_relief(uow, principal, cmd, cipher=ctx.cipher, now=ctx.now(), today=ctx.today()))


@router.get("", summary="Relief requests in the caller's region, newest first")
async def list_requests(
    region: str | None = Query(default=None, pattern=_REGION),
    state: str | None = None,
    household_id: str | None = None,
    overdue: bool = Query(default=False, description="only reliefs paid first whose paperwork is overdue"),
    before: int | None = Query(default=None, ge=1, le=2**62, description="keyset cursor: `next_before`"),
    limit: int = Query(default=50, ge=1, le=200),
    ctx: ServiceContext = Depends(get_ctx),
    uow: Work = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    q = use.ListRelief(region, state, household_id, overdue, before, limit)
    page = await use.list_relief(uow, principal, q, cipher=ctx.cipher, today=ctx.today())
    return {"items": [_to_body(r) for r in page.items], "next_before": page.next_before}


@router.get("/{request_id}", summary="One request: state, history, allowed actions, deadlines, payments")
async def read(
    request_id: str,
    ctx: ServiceContext = Depends(get_ctx),
    uow: Work = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    return _to_body(await use.get_relief(uow, principal, request_id, cipher=ctx.cipher, today=ctx.today()))


@router.post("/{request_id}/actions", summary="Approve, refer to the county, relief first, complete paperwork, reject")
async def act(
    request_id: str,
    body: ReliefActionCreate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: Work = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    cmd = use.ActOnRelief(
        request_id=request_id,
        action=body.action,
        amount=body.amount,
        reason=body.reason,
        paperwork=None if body.paperwork is None else body.paperwork.model_dump(),
        note=body.note,
    )
    return _to_body(await use.act_on_relief(uow, principal, cmd, cipher=ctx.cipher, now=ctx.now(), today=ctx.today()))
