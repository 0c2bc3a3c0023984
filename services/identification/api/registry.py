"""Routes of the household registry look-up: `GET /api/v1/households` (keyset-paged list within
the caller's jurisdiction), `POST /api/v1/households/search` (by a member's ID number, never in
a URL) and `GET /api/v1/households/{id}/risk` (outcome, signal warning and their explanations)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.identification.api.assessment_body import risk_assessment_body
from services.identification.api.deps import policy_store
from services.identification.api.monitoring_schemas import iso, money, policy_body, registry_item_body
from services.identification.application import registry as uc
from shared.app import ServiceContext, get_ctx, get_principal
from shared.auth import Principal
from shared.policy_store import PolicyStore

router = APIRouter(prefix="/api/v1", tags=["households"])

_NO_STORE = {"Cache-Control": "no-store"}


def _page_body(page: uc.HouseholdPage) -> dict[str, Any]:
    return {"items": [registry_item_body(i) for i in page.items], "next_cursor": page.next_cursor}


def _explanation_body(e: uc.Explanation) -> dict[str, Any]:
    return {"rule": e.rule, "source": e.source, "detail": e.detail}


def _risk_body(risk: uc.HouseholdRisk) -> dict[str, Any]:
    outcome, signal, mark = risk.outcome, risk.signal_warning, risk.red_mark
    return {
        "household_id": risk.household_id,
        "region_code": risk.region_code,
        "status": risk.status,
        "warning": risk.warning,
        "outcome": None
        if outcome is None
        else {
            "category": outcome.category,
            "low_income_category": outcome.low_income_category,
            "warning": outcome.warning,
            "per_capita_income": money(outcome.per_capita_income),
            "assessed_at": iso(outcome.assessed_at),
            "as_of": iso(outcome.as_of),
            "policy": policy_body(outcome.policy),
            "screening_job_id": outcome.screening_job_id,
        },
        "assessment": risk_assessment_body(risk.assessment, risk.assessed_as_of),
        "signal_warning": None
        if signal is None
        else {
            "colour": signal.colour,
            "risk_types": signal.risk_types,
            "signals": signal.signals,
            "raised_at": iso(signal.raised_at),
            "updated_at": iso(signal.updated_at),
            "explanations": [_explanation_body(e) for e in signal.explanations],
        },
        "red_mark": None
        if mark is None
        else {"reason": mark.reason, "at": iso(mark.at), "explanation": _explanation_body(mark.explanation)},
    }


class HouseholdSearch(BaseModel):
    """A look-up by a member's resident ID number (matched by its blind index)."""

    model_config = ConfigDict(extra="forbid")

    id_number: str = Field(min_length=15, max_length=18, description="resident ID number (18 characters)")


@router.get("/households", summary="The households of your jurisdiction, keyset-paged, masked")
async def list_households(
    region: str | None = Query(default=None, max_length=12, description="region code prefix within yours"),
    q: str | None = Query(
        default=None,
        max_length=64,
        description="household number prefix; or (county, province, admin) the head's exact name. "
        "Never an ID number: use POST /households/search",
    ),
    state: str | None = Query(
        default=None, max_length=16, description="registered | monitored | eliminated | cleared | open_case"
    ),
    warning: str | None = Query(default=None, max_length=8, description="red | orange | yellow"),
    category: str | None = Query(
        default=None, max_length=24, description="unstable_escaped | marginal | sudden_hardship"
    ),
    cursor: str | None = Query(default=None, max_length=200, description="next_cursor of the previous page"),
    limit: int = Query(default=50, ge=1, le=uc.MAX_LIMIT),
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(get_principal),
) -> JSONResponse:
    query = uc.ListHouseholds(
        region=region, q=q, state=state, warning=warning, category=category, cursor=cursor, limit=limit
    )
    return JSONResponse(_page_body(await uc.list_households(ctx, principal, query)), headers=_NO_STORE)


@router.post("/households/search", summary="Households with a member of this ID number (blind index)")
async def search_households(
    body: HouseholdSearch,
    ctx: ServiceContext = Depends(get_ctx),
    principal: Principal = Depends(get_principal),
) -> JSONResponse:
    page = await uc.search_by_id_number(ctx, principal, uc.FindByIdNumber(body.id_number))
    return JSONResponse(_page_body(page), headers=_NO_STORE)


@router.get("/households/{household_id}/risk", summary="Why the household has its category and warning")
async def household_risk(
    household_id: str,
    ctx: ServiceContext = Depends(get_ctx),
    store: PolicyStore = Depends(policy_store),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    return _risk_body(await uc.household_risk(ctx, store, principal, household_id))
