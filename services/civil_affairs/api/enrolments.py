"""Routes: enrolments in dibao / 特困, re-checks (动态复核) and their due list, voluntary exit,
suspension, the monthly payment run and the payment orders. Thin: schema → command → use case."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.civil_affairs.adapters.programmes_runtime import idempotent, work
from services.civil_affairs.application import enrolments as uc
from services.civil_affairs.application.ports import PaymentOrder
from services.civil_affairs.domain.enrolments import Enrolment, to_doc
from services.civil_affairs.domain.programmes import MemberFacts, Programme
from shared.app import ServiceContext, get_ctx, get_principal
from shared.auth import Principal
from shared.errors import Forbidden
from shared.identifiers import InvalidRegionCode, validate_region_code
from shared.pii import mask_numbers_in_text

router = APIRouter(prefix="/api/v1/social-assistance", tags=["dibao and tekun"])

Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False)]
Period = Annotated[str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", examples=["2026-12"])]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnrolledMemberIn(_In):
    """A covered person, by opaque ref (no ID number) and birth date."""

    person_ref: str = Field(min_length=1, max_length=64)
    birth_date: dt.date
    labor_capacity: Literal["ordinary", "skilled", "weak", "half", "none"] = "ordinary"
    disability_grade: int | None = Field(default=None, ge=1, le=4)
    disability_kind: str | None = Field(default=None, max_length=16)
    serious_illness: bool = False
    care_level: Literal["self_care", "partial", "full"] = "self_care"


class EnrolmentCreate(_In):
    """An officer registers a household already receiving dibao / 特困."""

    household_id: str = Field(min_length=1, max_length=36)
    region_code: str
    programme: Programme
    members: list[EnrolledMemberIn] = Field(min_length=1, max_length=50)
    household_size: int | None = Field(default=None, ge=1, le=50, description="defaults to the covered members")
    per_capita_income_annual: Money
    start_month: Period
    stable_income: bool = Field(default=False, description="income changes little: yearly re-check")
    single_person: bool = Field(default=False, description="单人保: covered alone inside a dibao-edge family")

    @field_validator("region_code")
    @classmethod
    def _village(cls, v: str) -> str:
        try:
            return validate_region_code(v, level="village")
        except InvalidRegionCode as exc:
            raise ValueError(str(exc)) from None


class RecheckCreate(_In):
    per_capita_income_annual: Money | None = Field(default=None, description="dibao: the per-capita income found")
    tekun_conditions_hold: bool | None = Field(default=None, description="特困: the conditions still hold")
    note: str | None = Field(default=None, max_length=4000)
    version: int | None = None

    @field_validator("note")
    @classmethod
    def _masked(cls, v: str | None) -> str | None:
        return None if v is None else mask_numbers_in_text(v)


class VoluntaryExitCreate(_In):
    months: int | None = Field(default=None, ge=1, le=12, description="extra months (1 to the policy maximum)")
    version: int | None = None


class SuspensionCreate(_In):
    suspended: bool
    reason: str = Field(min_length=1, max_length=2000)

    @field_validator("reason")
    @classmethod
    def _masked(cls, v: str) -> str:
        return mask_numbers_in_text(v)


def _to_body(e: Enrolment) -> dict[str, Any]:
    """The enrolment as the API answers it: members by ref and birth year."""
    d = to_doc(e)
    d["members"] = [
        {k: v for k, v in m.items() if k != "birth_date"} | {"birth_year": int(m["birth_date"][:4])}
        for m in d["members"]
    ]
    return d


def _recheck_body(r: uc.RecheckRecorded) -> dict[str, Any]:
    return _to_body(r.enrolment) | {"outcome": r.outcome}


def _order_body(o: PaymentOrder) -> dict[str, Any]:
    return {
        "payment_id": o.id,
        "enrolment_id": o.enrolment_id,
        "period": o.period,
        "kind": o.kind,
        "household_id": o.household_id,
        "region_code": o.region_code,
        "status": o.status,
        "inputs": dict(o.inputs),
        "funding_source": o.funding_source,
        "amount": o.amount,
        "decision_id": o.decision_id,
        "decision_state": o.decision_state,
        "created_at": o.created_at.isoformat(),
        "recorded_at": o.recorded_at.isoformat() if o.recorded_at else None,
    }


def _run_body(r: uc.PaymentRun) -> dict[str, Any]:
    return {
        "period": r.period,
        "region": r.region,
        "ordered": r.ordered,
        "already_ordered": r.already_ordered,
        "not_payable": r.not_payable,
        "exited": r.exited,
    }


def _due_body(r: uc.RechecksDue) -> dict[str, Any]:
    return {
        "due_before": r.due_before.isoformat(),
        "items": [
            {
                "enrolment_id": d.enrolment_id,
                "household_id": d.household_id,
                "region_code": d.region_code,
                "programme": d.programme,
                "status": d.status,
                "next_recheck_on": d.next_recheck_on.isoformat(),
                "schedule": d.schedule,
            }
            for d in r.items
        ],
        "total": r.total,
    }


@router.post("/enrolments", status_code=201, summary="Register a household already receiving dibao / 特困")
async def register(
    body: EnrolmentCreate,
    idempotency_key: str | None = Header(default=None, alias="Idempotency-Key"),
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(get_principal),
) -> JSONResponse:
    members = tuple(MemberFacts(**m.model_dump()) for m in body.members)
    cmd = uc.RegisterEnrolment(
        principal=principal,
        household_id=body.household_id,
        region_code=body.region_code,
        programme=body.programme,
        members=members,
        household_size=body.household_size or len(members),
        per_capita_income_annual=body.per_capita_income_annual,
        start_month=body.start_month,
        stable_income=body.stable_income,
        single_person=body.single_person,
        at=ctx.now(),
    )
    status, out = await idempotent(
        ctx,
        principal,
        route="POST /social-assistance/enrolments",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        status=201,
        run=lambda w: uc.register_existing(cmd, w),
        answer=_to_body,
    )
    return JSONResponse(out, status_code=status)


@router.get("/enrolments", summary="Enrolments in your jurisdiction")
async def list_enrolments(
    region: str | None = Query(default=None, max_length=12),
    status: str | None = Query(default=None, max_length=200, description="a status, or several comma-separated"),
    programme: Programme | None = None,
    household_id: str | None = Query(default=None, max_length=36),
    page: int = Query(default=1, ge=1, le=1_000_000),
    page_size: int = Query(default=50, ge=1, le=1000),
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    _officer(principal)
    cmd = uc.ListEnrolments(
        principal,
        region=region,
        status=status,
        programme=str(programme) if programme else None,
        household_id=household_id,
        page=page,
        page_size=page_size,
    )
    async with work(ctx) as w:
        found = await uc.list_enrolments(cmd, w)
    return {
        "items": [_to_body(e) for e in found.items],
        "total": found.total,
        "page": found.page,
        "page_size": found.page_size,
    }


@router.get("/enrolments/{enrolment_id}", summary="One enrolment with its history")
async def read_enrolment(
    enrolment_id: str, ctx: ServiceContext = Depends(get_ctx), principal: Principal = Depends(get_principal)
) -> dict[str, Any]:
    async with work(ctx) as w:
        return _to_body(await uc.get_enrolment(w, principal, enrolment_id))


@router.post("/enrolments/{enrolment_id}/rechecks", summary="Record a re-check (动态复核)")
async def record_recheck(
    enrolment_id: str,
    body: RecheckCreate,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    cmd = uc.RecordRecheck(
        principal=principal,
        enrolment_id=enrolment_id,
        at=ctx.now(),
        per_capita_income_annual=body.per_capita_income_annual,
        tekun_conditions_hold=body.tekun_conditions_hold,
        note=body.note,
        version=body.version,
    )
    async with work(ctx) as w:
        return _recheck_body(await uc.recheck(cmd, w))


@router.post("/enrolments/{enrolment_id}/voluntary-exit", summary="The household asks to leave (extra months)")
async def voluntary_exit(
    enrolment_id: str,
    body: VoluntaryExitCreate,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    cmd = uc.StartVoluntaryExit(principal, enrolment_id, at=ctx.now(), months=body.months, version=body.version)
    async with work(ctx) as w:
        return _to_body(await uc.voluntary_exit(cmd, w))


@router.post("/enrolments/{enrolment_id}/suspension", summary="Suspend or resume an enrolment")
async def suspension(
    enrolment_id: str,
    body: SuspensionCreate,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    cmd = uc.SetSuspension(principal, enrolment_id, suspended=body.suspended, reason=body.reason, at=ctx.now())
    async with work(ctx) as w:
        return _to_body(await uc.suspend(cmd, w))


@router.get("/rechecks", summary="Enrolments whose re-check is due on or before a day")
async def rechecks_due(
    due_before: dt.date,
    region: str | None = Query(default=None, max_length=12),
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    _officer(principal)
    async with work(ctx) as w:
        return _due_body(await uc.rechecks_due(uc.ListRechecksDue(principal, before=due_before, region=region), w))


@router.post("/payments:run", summary="Order the month's payments (county; idempotent per enrolment and month)")
async def run_payments(
    period: Period,
    region: str | None = Query(default=None, max_length=12),
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    if principal.role not in ("county", "province", "admin"):
        raise Forbidden("the county orders the monthly payments", code="role_not_allowed")
    prefix = uc.jurisdiction_prefix(principal, region)
    cmd = uc.RunPayments(period=period, region_prefix=prefix, at=ctx.now(), by=principal.sub, role=principal.role)
    async with work(ctx) as w:
        return _run_body(await uc.run_payments(cmd, w))


@router.get("/payments", summary="Payment orders (ordered → recorded by subsidy, with the amount)")
async def list_payments(
    period: Period | None = None,
    enrolment_id: str | None = Query(default=None, max_length=36),
    region: str | None = Query(default=None, max_length=12),
    page: int = Query(default=1, ge=1, le=1_000_000),
    page_size: int = Query(default=50, ge=1, le=1000),
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    _officer(principal)
    cmd = uc.ListPayments(
        principal, region=region, period=period, enrolment_id=enrolment_id, page=page, page_size=page_size
    )
    async with work(ctx) as w:
        found = await uc.list_payments(cmd, w)
    return {
        "items": [_order_body(o) for o in found.items],
        "total": found.total,
        "page": found.page,
        "page_size": found.page_size,
    }


def _officer(principal: Principal) -> None:
    if not principal.is_officer:
        raise Forbidden("officers only")
