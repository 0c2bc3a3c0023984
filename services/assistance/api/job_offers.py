"""Job-offer outcomes under `/api/v1/employment/records/{id}`: what became of each job-post
recommendation, and the sanction after refused offers (`employment.offers_refused`)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from services.assistance.adapters.unit_of_work import AssistanceUnitOfWork
from services.assistance.application import job_offers as use
from shared.app import ServiceContext, get_ctx, get_principal
from shared.auth import Principal
from shared.pii import MaskedText

from .bodies import job_offers_body
from .deps import get_work

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/employment", tags=["employment"])


class OfferOutcomeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["accepted", "refused", "no_answer"]
    valid_reason: bool | None = Field(
        default=None, description="refused: was the reason valid (illness, care duties…)?"
    )
    note: MaskedText | None = Field(default=None, max_length=500)


@router.get("/records/{record_id}/job-offers", summary="Job recommendations, their outcomes, refusals and sanction")
async def job_offers(
    record_id: str,
    ctx: ServiceContext = Depends(get_ctx),
    uow: AssistanceUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    return job_offers_body(await use.job_offers_read(uow, principal, record_id, today=ctx.today()))


@router.post(
    "/records/{record_id}/services/{service_id}/outcome",
    status_code=201,
    summary="Record a job recommendation's outcome",
    description="The third refusal in a row without a valid reason publishes `employment.offers_refused`.",
)
async def record_outcome(
    record_id: str,
    service_id: str,
    body: OfferOutcomeCreate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: AssistanceUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    cmd = use.RecordOfferOutcome(record_id, service_id, body.outcome, body.valid_reason, body.note)
    return job_offers_body(await use.record_offer_outcome(uow, principal, cmd, now=ctx.now(), today=ctx.today()))
