"""Routes: monitoring cases — read one (with its history and what the caller may do now), list
(paged, by region, state, overdue), and take a transition (409 with the refusing rule)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.identification.adapters.unit_of_work import IdentificationUnitOfWork
from services.identification.application import cases as uc
from services.identification.domain.cases import AssemblyDecision, CaseExclusion
from shared.app import ServiceContext, get_ctx, get_principal, get_uow
from shared.auth import Principal
from shared.pii import mask_numbers_in_text

router = APIRouter(prefix="/api/v1", tags=["cases"])


class AssemblyDecisionIn(BaseModel):
    """The recorded village-assembly decision (村民代表会议评议) an exclusion override rests on."""

    model_config = ConfigDict(extra="forbid")

    date: dt.date = Field(description="the day the assembly decided")
    minutes_ref: str = Field(min_length=1, max_length=200, description="reference of the minutes / record")

    @field_validator("minutes_ref")
    @classmethod
    def _masked(cls, v: str) -> str:
        return mask_numbers_in_text(v)


class TransitionCreate(BaseModel):
    """One action on a case. `note` is the review opinion (required at every review), the text
    of an objection, or the finding that resolves one; `reason` is for reject/rollback/clear."""

    model_config = ConfigDict(extra="forbid")

    action: str = Field(
        description="advance | object | resolve_objection | reject | propose_elimination | rollback | clear"
        " | override_exclusion",
        max_length=32,
    )
    note: str | None = Field(default=None, max_length=4000)
    reason: str | None = Field(default=None, max_length=4000)
    investigators: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="leaving verification: at least two investigators (names or officer ids)",
    )
    objection_id: str | None = Field(default=None, max_length=64)
    version: int | None = Field(default=None, description="the case version you read; a different one is 409")
    measures_since: dt.date | None = Field(
        default=None,
        description="elimination guards: when assistance measures were first in place (the assistance "
        "service holds this; until it is wired, the proposing/approving officer states it)",
    )
    only_social_security: bool | None = Field(
        default=None, description="elimination guards: every measure in place is a social-security one"
    )
    risk_factors_removed: bool | None = Field(default=None, description="Hebei stable-year guard")
    exclusion_code: str | None = Field(
        default=None, max_length=40, description="override_exclusion: the standing exclusion lifted (e.g. car)"
    )
    assembly_decision: AssemblyDecisionIn | None = Field(
        default=None, description="override_exclusion: the village-assembly decision (date, minutes reference)"
    )
    income_stable_since: dt.date | None = Field(default=None, description="Hebei stable-year guard")

    @field_validator("note", "reason")
    @classmethod
    def _no_numbers_in_clear(cls, v: str | None) -> str | None:
        """Review notes and reasons are kept and shown as they are: ID and phone numbers masked."""
        return None if v is None else mask_numbers_in_text(v)

    @field_validator("investigators")
    @classmethod
    def _investigators_masked(cls, v: list[str]) -> list[str]:
        return [mask_numbers_in_text(x) for x in v]


def _exclusion_body(e: CaseExclusion) -> dict[str, Any]:
    """One stored exclusion as `GET /cases/{id}` shows it (DESIGN.md case, extended)."""
    o = e.override
    return {
        "code": e.code,
        "detail": e.detail,
        "source": e.source,
        "inputs": dict(e.inputs),
        "policy": {"id": e.policy_id, "version": e.policy_version},
        "overridden": o is not None,
        "override": {
            "by": o.by,
            "role": str(o.role),
            "at": o.at,
            "reason": o.reason,
            "assembly_decision": {
                "date": o.assembly_decision.decided_on.isoformat(),
                "minutes_ref": o.assembly_decision.minutes_ref,
            },
        }
        if o is not None
        else None,
    }


def _case_body(read: uc.CaseRead) -> dict[str, Any]:
    """`GET /cases/{id}` (and a transition's answer): the case, its notice, objections,
    exclusions, history and the actions the caller may take now."""
    case = read.case
    body: dict[str, Any] = {
        "id": case.id,
        "household_id": case.household_id,
        "region_code": read.region_code,
        "procedure": str(case.procedure),
        "state": str(case.state),
        "category": case.category,
        "risk_types": list(case.risk_types),
        "urgent": case.urgent,
        "deadline": case.deadline,
        "comparison_due": case.comparison_due,
        "overdue": read.overdue,
        "submitted_at": case.submitted_at,
        "notice": {
            "started_on": case.notice_started_on,
            "days": case.notice_days,
            "ends_on": case.notice_ends_on,
        }
        if case.notice_started_on
        else None,
        "objections": [
            {
                "id": o.id,
                "raised_at": o.raised_at,
                "text": o.text,
                "open": o.is_open,
                "resolved_at": o.resolved_at,
                "resolution": o.resolution,
            }
            for o in case.objections
        ],
        "investigators": list(case.investigators),
        "monitored_since": case.monitored_since,
        "eliminated_on": case.eliminated_on,
        "parent_case_id": case.parent_case_id,
        "application_id": read.application_id,
        "reason": case.reason,
        "version": case.version,
        "exclusions": [_exclusion_body(e) for e in case.exclusions],
        "history": [
            {
                "action": str(h.action),
                "from": str(h.from_state) if h.from_state else None,
                "to": str(h.to_state),
                "by": h.by,
                "role": str(h.role),
                "at": h.at,
                "note": h.note,
            }
            for h in case.history
        ],
        "allowed_actions": list(read.allowed_actions),
    }
    if read.opened_case_id is not None:
        body["opened_case_id"] = read.opened_case_id
    return body


def _page_body(page: uc.CasePage) -> dict[str, Any]:
    return {
        "items": [
            {
                "id": c.id,
                "household_id": c.household_id,
                "region_code": c.region_code,
                "procedure": c.procedure,
                "state": c.state,
                "category": c.category,
                "risk_types": list(c.risk_types),
                "urgent": c.urgent,
                "deadline": c.deadline,
                "comparison_due": c.comparison_due,
                "overdue": c.overdue,
                "version": c.version,
            }
            for c in page.items
        ],
        "page": page.page,
        "page_size": page.page_size,
        "total": page.total,
    }


@router.get("/cases/{case_id}")
async def read_case(
    case_id: str,
    ctx: ServiceContext = Depends(get_ctx),
    work: IdentificationUnitOfWork = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    return _case_body(await uc.get_case(ctx, work, principal, case_id))


@router.get("/cases")
async def list_cases(
    region: str | None = Query(default=None, max_length=12),
    state: str | None = Query(default=None, max_length=200, description="a state, or several comma-separated"),
    procedure: str | None = Query(default=None, max_length=16),
    household_id: str | None = Query(default=None, max_length=36),
    overdue: bool | None = None,
    has_open_objection: bool | None = Query(default=None, description="public notice with an objection open"),
    # bounded so that (page - 1) × page_size stays a 64-bit SQL integer (beyond it: 422, not 500)
    page: int = Query(default=1, ge=1, le=1_000_000),
    page_size: int = Query(default=50, ge=1, description=f"capped at {uc.MAX_PAGE_SIZE}"),
    ctx: ServiceContext = Depends(get_ctx),
    work: IdentificationUnitOfWork = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    command = uc.ListCases(
        region=region,
        state=state,
        procedure=procedure,
        household_id=household_id,
        overdue=overdue,
        has_open_objection=has_open_objection,
        page=page,
        page_size=page_size,
    )
    return _page_body(await uc.list_cases(ctx, work, principal, command))


@router.post("/cases/{case_id}/transitions")
async def take_transition(
    case_id: str,
    body: TransitionCreate,
    ctx: ServiceContext = Depends(get_ctx),
    uow: IdentificationUnitOfWork = Depends(get_uow),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    command = uc.TransitionCase(
        case_id=case_id,
        action=body.action,
        note=body.note,
        reason=body.reason,
        investigators=tuple(body.investigators),
        objection_id=body.objection_id,
        expected_version=body.version,
        extras=uc.CaseExtras(
            measures_since=body.measures_since,
            only_social_security=body.only_social_security,
            risk_factors_removed=body.risk_factors_removed,
            income_stable_since=body.income_stable_since,
        ),
        exclusion_code=body.exclusion_code,
        assembly_decision=AssemblyDecision(body.assembly_decision.date, body.assembly_decision.minutes_ref)
        if body.assembly_decision is not None
        else None,
    )
    return _case_body(await uc.transition_case(ctx, uow, principal, command))
