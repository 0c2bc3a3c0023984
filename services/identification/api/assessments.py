"""Routes: `POST /api/v1/assessments` — stateless evaluation of one household against the policy
in force (DESIGN.md), with optional what-if `policy_overrides`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.identification.adapters.jobs import job_read
from services.identification.adapters.unit_of_work import IdentificationUnitOfWork
from services.identification.api.assessment_body import assessment_read
from services.identification.api.deps import get_work, policy_store
from services.identification.api.schemas import (
    AssessmentCreate,
    AssessmentRead,
    JobRead,
    ScreeningCreate,
    SimulationCreate,
)
from services.identification.application.assessments import AssessHousehold, assess_household
from services.identification.application.screening import (
    CategoryMove,
    Simulate,
    Simulation,
    StartScreening,
    simulate,
    start_screening,
)
from services.identification.domain.model import VillageOverride
from shared.app import ServiceContext, get_ctx, get_principal
from shared.auth import Principal
from shared.policy_store import PolicyStore

router = APIRouter(prefix="/api/v1", tags=["assessments"])


@router.post("/assessments", response_model=AssessmentRead, summary="Assess one household (stateless)")
async def create_assessment(
    body: AssessmentCreate,
    principal: Principal = Depends(get_principal),
    uow: IdentificationUnitOfWork = Depends(get_work),
    store: PolicyStore = Depends(policy_store),
) -> dict[str, Any]:
    v = body.village_override
    command = AssessHousehold(
        region_code=body.region_code,
        as_of=body.as_of,
        household=body.household,
        policy_overrides=body.policy_overrides,
        village_override=None
        if v is None
        else VillageOverride(decision_ref=v.decision_ref, decided_on=v.decided_on, note=v.note),
    )
    assessed = await assess_household(work=uow, store=store, principal=principal, body=command)
    return assessment_read(assessed.assessment, assessed.household)


@router.post("/assessments:simulate", summary="What-if: how many households of a region change category")
async def simulate_assessments(
    body: SimulationCreate,
    principal: Principal = Depends(get_principal),
    uow: IdentificationUnitOfWork = Depends(get_work),
    store: PolicyStore = Depends(policy_store),
) -> dict[str, Any]:
    command = Simulate(region=body.region, as_of=body.as_of, policy_overrides=body.policy_overrides)
    return _simulation_body(await simulate(work=uow, store=store, principal=principal, body=command))


def _moves(moves: tuple[CategoryMove, ...]) -> list[dict[str, Any]]:
    return [{"from": m.from_category, "to": m.to_category, "count": m.count} for m in moves]


def _simulation_body(s: Simulation) -> dict[str, Any]:
    return {
        "region": s.region,
        "as_of": s.as_of,
        "policy_overrides": {k: str(v) if isinstance(v, Decimal) else v for k, v in s.policy_overrides.items()},
        "households": s.households,
        "without_policy": s.without_policy,
        "changed": s.changed,
        "transitions": _moves(s.transitions),
        "by_village": [
            {
                "village": v.village,
                "households": v.households,
                "changed": v.changed,
                "transitions": _moves(v.transitions),
            }
            for v in s.by_village
        ],
    }


@router.post("/screenings", status_code=202, response_model=JobRead, summary="Screen every household of a region")
async def create_screening(
    body: ScreeningCreate,
    principal: Principal = Depends(get_principal),
    ctx: ServiceContext = Depends(get_ctx),
) -> JSONResponse:
    job = await start_screening(ctx, principal, StartScreening(region=body.region, as_of=body.as_of))
    return JSONResponse(
        jsonable_encoder(job_read(job)), status_code=202, headers={"Location": f"/api/v1/jobs/{job.id}"}
    )
