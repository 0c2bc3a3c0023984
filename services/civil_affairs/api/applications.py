"""Routes: dibao / 特困 applications (`/api/v1/social-assistance/applications`) and the economic
check's result callback. Thin: schema → command → use case → response."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.civil_affairs.adapters.economic_check import parse_result
from services.civil_affairs.adapters.programmes_runtime import checks, dispatch_check, idempotent, work
from services.civil_affairs.application import applications as uc
from services.civil_affairs.domain.programmes import Programme
from shared.app import ServiceContext, get_ctx, get_principal
from shared.auth import Principal
from shared.errors import FieldError, Unprocessable
from shared.identifiers import InvalidIdNumber, InvalidRegionCode, validate_id_number, validate_region_code
from shared.pii import mask_numbers_in_text

router = APIRouter(prefix="/api/v1/social-assistance", tags=["dibao and tekun"])

Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemberIn(_In):
    """One member of the household (户籍), as in `/assessments`, plus the 特困 care level."""

    id_number: str = Field(description="18-character resident ID number; encrypted at rest, never shown")
    name: str = Field(min_length=1, max_length=100, description="kept by the check request only, never stored")
    relation: str = Field(min_length=1, max_length=16, examples=["head", "spouse", "child"])
    labor_capacity: Literal["ordinary", "skilled", "weak", "half", "none"]
    disability_grade: int | None = Field(default=None, ge=1, le=4)
    disability_kind: Literal["visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple"] | None = (
        None
    )
    serious_illness: bool = False
    care_level: Literal["self_care", "partial", "full"] = "self_care"
    person_ref: str | None = Field(
        default=None, max_length=64, description="the member's opaque id in other services (e.g. assistance)"
    )

    @field_validator("id_number")
    @classmethod
    def _id(cls, v: str) -> str:
        try:
            return validate_id_number(v)
        except InvalidIdNumber as exc:
            raise ValueError(str(exc)) from None


class IncomeIn(_In):
    """A year's household income by kind (yuan); exempt income and employment costs are deducted."""

    wage: Money = Decimal(0)
    business: Money = Decimal(0)
    property: Money = Decimal(0)
    transfer: Money = Decimal(0)
    exempt: Money = Field(default=Decimal(0), description="收入豁免: pensions of entitled groups, 两残补贴 …")
    employment_costs: Money = Field(default=Decimal(0), description="就业成本扣减 (000 safety-net §三(一)1)")

    def counted(self) -> Decimal:
        return max(
            self.wage + self.business + self.property + self.transfer - self.exempt - self.employment_costs, Decimal(0)
        )


class AssetsIn(_In):
    car: bool = False
    commercial_property: bool = False
    company: bool = False
    large_deposits: bool = False
    supporters_able: bool = Field(default=False, description="a legally obliged supporter able to support (特困)")


class HouseholdIn(_In):
    members: list[MemberIn] = Field(min_length=1, max_length=50)
    income: IncomeIn = Field(default_factory=IncomeIn)
    assets: AssetsIn = Field(default_factory=AssetsIn)


class ConsentIn(_In):
    commitment: bool = Field(description="the applicant's commitment that the declaration is true")
    asset_query_authorized: bool = Field(description="authorises the household economic-situation check (授权核对)")


class ApplicationCreate(_In):
    """Body of `POST /api/v1/social-assistance/applications`."""

    programme: Programme
    region_code: str = Field(description="12-digit village code", examples=["341221001001"])
    household_id: str | None = Field(default=None, max_length=36, description="identification's household id, if any")
    household: HouseholdIn
    consent: ConsentIn

    @field_validator("region_code")
    @classmethod
    def _village(cls, v: str) -> str:
        try:
            return validate_region_code(v, level="village")
        except InvalidRegionCode as exc:
            raise ValueError(str(exc)) from None


class TransitionCreate(_In):
    action: Literal["accept", "advance", "approve", "reject", "withdraw"]
    note: str | None = Field(default=None, max_length=4000, description="the review opinion (审核意见)")
    reason: str | None = Field(default=None, max_length=4000, description="why it is rejected / withdrawn")
    version: int | None = Field(default=None, description="the version you read; another one is 409")

    @field_validator("note", "reason")
    @classmethod
    def _masked(cls, v: str | None) -> str | None:
        return None if v is None else mask_numbers_in_text(v)


class AssetFoundIn(_In):
    kind: str = Field(min_length=1, max_length=40, examples=["car", "deposits", "real_estate", "company"])
    description: str | None = Field(default=None, max_length=400)
    value: Money | None = None


class CheckResultIn(_In):
    """The check system's answer (callback)."""

    passed: bool
    checked_at: dt.datetime
    reference: str = Field(min_length=1, max_length=200)
    assets_found: list[AssetFoundIn] = Field(default_factory=list, max_length=100)
    income_found_annual: Money | None = None
    note: str | None = Field(default=None, max_length=2000)


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _to_body(v: uc.ApplicationView) -> dict[str, Any]:
    """The application as the API answers it: members by ref and birth year (no ID number)."""
    app = v.application
    return {
        "id": app.id,
        "programme": str(app.programme),
        "region_code": app.region_code,
        "household_id": app.household_id,
        "state": str(app.state),
        "submitted_at": app.submitted_at.isoformat(),
        "state_since": app.state_since.isoformat(),
        "deadline": _iso(app.deadline),
        "township_deadline": app.township_deadline.isoformat(),
        "total_deadline": app.total_deadline.isoformat(),
        "overdue": v.overdue,
        "notice_posted_on": _iso(app.notice_posted_on),
        "notice_ends_on": _iso(app.notice_ends_on),
        "time_limits": app.limits.to_doc(),
        "members": [
            {k: val for k, val in m.to_doc().items() if k != "birth_date"} | {"birth_year": m.birth_date.year}
            for m in app.facts.members
        ],
        "income_annual": str(app.facts.income_annual),
        "decision": app.decision.to_doc(),
        "economic_check": app.check,
        "history": list(app.history),
        "allowed_actions": v.allowed_actions,
        "version": app.version,
    }


@router.post("/applications", status_code=201, summary="Apply for dibao or 特困 (citizen or officer)")
async def create_application(
    body: ApplicationCreate,
    idempotency_key: str | None = Header(default=None, alias="Idempotency-Key"),
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(get_principal),
) -> JSONResponse:
    if not body.consent.commitment:
        raise Unprocessable(
            "the applicant's commitment is required", errors=[FieldError("consent.commitment", "must be true")]
        )
    h = body.household
    cmd = uc.SubmitApplication(
        principal=principal,
        programme=body.programme,
        region_code=body.region_code,
        household_id=body.household_id,
        members=[
            uc.MemberInput(
                id_number=m.id_number,
                relation=m.relation,
                labor_capacity=m.labor_capacity,
                disability_grade=m.disability_grade,
                disability_kind=m.disability_kind,
                serious_illness=m.serious_illness,
                care_level=m.care_level,
                person_ref=m.person_ref,
            )
            for m in h.members
        ],
        income_annual=h.income.counted(),
        assets_within_rules=not (
            h.assets.car or h.assets.commercial_property or h.assets.company or h.assets.large_deposits
        ),
        supporters_able=h.assets.supporters_able,
        asset_query_authorized=body.consent.asset_query_authorized,
        at=ctx.now(),
    )
    status, out = await idempotent(
        ctx,
        principal,
        route="POST /social-assistance/applications",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        status=201,
        run=lambda w: uc.submit(cmd, w, ctx.cipher),
        answer=_to_body,
    )
    return JSONResponse(out, status_code=status)


@router.get("/applications", summary="Applications in your jurisdiction (a citizen: their own)")
async def list_applications(
    region: str | None = Query(default=None, max_length=12),
    state: str | None = Query(default=None, max_length=200, description="a state, or several comma-separated"),
    programme: Programme | None = None,
    household_id: str | None = Query(default=None, max_length=36),
    page: int = Query(default=1, ge=1, le=1_000_000),
    page_size: int = Query(default=50, ge=1, le=1000),
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    cmd = uc.ListApplications(
        principal=principal,
        today=ctx.today(),
        region=region,
        state=state,
        programme=str(programme) if programme else None,
        household_id=household_id,
        page=page,
        page_size=page_size,
    )
    async with work(ctx) as w:
        found = await uc.list_applications(cmd, w, ctx.cipher)
    return {
        "items": [_to_body(v) for v in found.items],
        "total": found.total,
        "page": found.page,
        "page_size": found.page_size,
    }


@router.get(
    "/applications/{programme_application_id}", summary="One application: state, deadline, history, allowed actions"
)
async def read_application(
    programme_application_id: str, ctx: ServiceContext = Depends(get_ctx), principal: Principal = Depends(get_principal)
) -> dict[str, Any]:
    async with work(ctx) as w:
        return _to_body(await uc.get_application(w, principal, programme_application_id, ctx.cipher, ctx.today()))


@router.post(
    "/applications/{programme_application_id}/transitions", summary="Act on an application (409 names the rule)"
)
async def transition(
    programme_application_id: str,
    body: TransitionCreate,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    cmd = uc.ActOnApplication(
        principal=principal,
        application_id=programme_application_id,
        action=body.action,
        at=ctx.now(),
        note=body.note,
        reason=body.reason,
        version=body.version,
    )
    async with work(ctx) as w:
        acted = await uc.act(cmd, w, ctx.cipher, checks(ctx).for_county)
    out = acted.view
    if acted.check is not None and await dispatch_check(ctx, acted.check.id):
        async with work(ctx) as w:
            out = await uc.get_application(w, principal, programme_application_id, ctx.cipher, ctx.today())
    return _to_body(out)


@router.post("/economic-checks/{check_id}/result", summary="The county check system's answer (callback)")
async def check_result(
    check_id: str,
    body: CheckResultIn,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    result = parse_result(body.model_dump(mode="json"))
    async with work(ctx) as w:
        check = await uc.record_check_result(
            uc.RecordCheckResult(check_id=check_id, result=result, at=ctx.now(), principal=principal), w
        )
    return check.view()
