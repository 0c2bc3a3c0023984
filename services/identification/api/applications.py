"""Routes: self-applications (农户自主申报) and officer-started cases — `POST /applications`
with an `Idempotency-Key`, and `GET /applications/{id}` (status and history, by scope)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.identification.adapters.unit_of_work import IdentificationUnitOfWork
from services.identification.api.schemas import HouseholdIn, validate_village_code
from services.identification.application import applications as uc
from services.identification.domain.model import RiskType
from shared.app import ServiceContext, get_ctx, get_principal, get_uow
from shared.auth import Principal
from shared.pii import mask_numbers_in_text

router = APIRouter(prefix="/api/v1", tags=["applications"])


class ConsentIn(BaseModel):
    """The signed commitment and the authorisation to query family assets (002 篇九 附件1):
    both must be true."""

    model_config = ConfigDict(extra="forbid")

    commitment: Literal[True] = Field(description="the applicant signs the commitment (承诺书)")
    asset_query_authorized: Literal[True] = Field(description="authorisation to query family assets (授权书)")


class ApplicationCreate(BaseModel):
    """Body of `POST /api/v1/applications`."""

    model_config = ConfigDict(extra="forbid")

    region_code: str = Field(description="12-digit village code", examples=["341221001201"])
    household: HouseholdIn
    reason: str = Field(min_length=1, max_length=2000)
    risk_types: list[RiskType] = Field(default_factory=list, max_length=20)
    urgent: bool = Field(default=False, description="green channel (绿色通道): sudden illness, disaster, accident")
    consent: ConsentIn
    household_number: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[0-9A-Za-z_\-]+$",
        description="extension: the household's register number, when known (matched before members)",
    )

    @field_validator("region_code")
    @classmethod
    def _village(cls, v: str) -> str:
        return validate_village_code(v)

    @field_validator("reason")
    @classmethod
    def _no_numbers_in_clear(cls, v: str) -> str:
        return mask_numbers_in_text(v)


def application_body(a: uc.ApplicationRead) -> dict[str, Any]:
    """A submitted application as `POST /applications` answers (and stores for its
    Idempotency-Key) and `GET /applications/{id}` starts."""
    return {
        "id": a.id,
        "status": a.status,
        "case_id": a.case_id,
        "household_id": a.household_id,
        "region_code": a.region_code,
        "category": a.category,
        "risk_types": list(a.risk_types),
        "declared_risk_types": list(a.declared_risk_types),
        "urgent": a.urgent,
        "deadline": a.deadline.isoformat() if a.deadline else None,
        "submitted_by_role": a.submitted_by_role,
        "created_at": a.created_at.isoformat(),
    }


@router.post("/applications", status_code=201)
async def submit_application(
    body: ApplicationCreate,
    idempotency_key: str | None = Header(default=None, alias="Idempotency-Key"),
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(get_principal),
) -> JSONResponse:
    command = uc.SubmitApplication(
        household=body.household,
        region_code=body.region_code,
        reason=body.reason,
        risk_types=tuple(str(r) for r in body.risk_types),
        urgent=body.urgent,
        household_number=body.household_number,
    )
    result = await uc.submit_application(
        ctx,
        principal,
        command,
        body=body.model_dump(mode="json"),
        idempotency_key=idempotency_key,
        render=application_body,
    )
    if isinstance(result, uc.Replayed):
        return JSONResponse(result.body, status_code=result.status)
    return JSONResponse(application_body(result), status_code=201)


@router.get("/applications/{application_id}")
async def read_application(
    application_id: str,
    ctx: ServiceContext = Depends(get_ctx),
    work: IdentificationUnitOfWork = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    detail = await uc.get_application(ctx, work, principal, application_id)
    body = application_body(detail.application)
    body["reason"] = detail.reason
    body["history"] = [
        {
            "action": str(h.action),
            "from": str(h.from_state) if h.from_state else None,
            "to": str(h.to_state),
            "by": h.by,
            "role": str(h.role),
            "at": h.at.isoformat(),
            "note": h.note,
        }
        for h in detail.history
    ]
    return body
