"""Routes: subsidy decisions — record (`Idempotency-Key` recommended), read, list, approve, pay, reject."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from services.subsidy.adapters.idempotent import idempotent
from services.subsidy.application.calculation import check_region
from services.subsidy.application.decisions import (
    DecisionCommand,
    DecisionPage,
    DecisionView,
    ListDecisions,
    StepDecision,
    decide,
    list_decisions,
    read_decision,
    transition,
)
from services.subsidy.application.ports import Work
from services.subsidy.domain import DecisionAction, DecisionState, SubsidyKind
from shared.app import ServiceContext, get_ctx, get_principal, get_uow, problem_response
from shared.auth import Principal
from shared.identifiers import region_within

from .calculate import require_officer
from .schemas import DecisionCreate, DecisionReject, DecisionStep, body_schema, read_body

__all__ = ["decision_body", "make_router"]


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def decision_body(d: DecisionView) -> dict[str, Any]:
    """A decision as the API answers it (DESIGN.md): money as strings to the fen, times with `Z`."""
    return {
        "id": d.id,
        "kind": d.kind,
        "state": d.state,
        "subject_id": d.subject_id,
        "region_code": d.region_code,
        "household_id": d.household_id,
        "as_of": d.as_of.isoformat(),
        "amount": _money(d.amount),
        "calculated_amount": _money(d.calculated_amount),
        "funding_source": d.funding_source,
        "policy": {"id": d.policy.id, "version": d.policy.version, "clause": d.policy.clause},
        "parameters": d.parameters,
        "inputs": d.inputs,
        "breakdown": d.breakdown,
        "explanations": d.explanations,
        "rejection_reason": d.rejection_reason,
        "origin": d.origin,
        "origin_event_id": d.origin_event_id,
        "created_by": d.created_by,
        "created_at": _iso(d.created_at),
        "approved_by": d.approved_by,
        "approved_at": _iso(d.approved_at),
        "paid_by": d.paid_by,
        "paid_at": _iso(d.paid_at),
        "rejected_by": d.rejected_by,
        "rejected_at": _iso(d.rejected_at),
        "history": d.history,
        "version": d.version,
        "payment_id": d.payment_id,
        "reference": d.reference,
    }


def _page_body(page: DecisionPage) -> dict[str, Any]:
    return {"items": [decision_body(d) for d in page.items], "next_cursor": page.next_cursor}


def make_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/subsidies/decisions", tags=["decisions"])

    @router.post(
        "",
        status_code=201,
        summary="Record a decision (caps and one-off rules enforced across decisions)",
        openapi_extra=body_schema(DecisionCreate),
    )
    async def create(
        request: Request,
        idempotency_key: str | None = Header(
            default=None,
            alias="Idempotency-Key",
            description="recommended: the same key and body again replay the first answer instead of "
            "recording a second decision",
        ),
        principal: Principal = Depends(get_principal),
        ctx: ServiceContext = Depends(get_ctx),
    ) -> JSONResponse:
        require_officer(principal)
        body, raw = await read_body(request, DecisionCreate)
        check_region(body.region_code, principal.sees)
        cmd = DecisionCommand(
            kind=body.kind,
            region_code=body.region_code,
            as_of=body.as_of,
            inputs=body.inputs,
            household_id=body.household_id,
            note=body.note,
        )
        status, read, replayed = await idempotent(
            ctx,
            principal,
            route="subsidy.decisions",
            key=idempotency_key,
            body=raw,
            status=201,
            instance=request.url.path,
            run=lambda uow: decide(cmd, uow, principal),
            to_body=decision_body,
        )
        return _replay(status, read) if replayed else _created(read)

    @router.get("", summary="List decisions in your jurisdiction, newest first")
    async def list_(
        kind: SubsidyKind | None = None,
        state: DecisionState | None = None,
        region: str | None = Query(default=None, description="region code prefix within your own"),
        subject_id: str | None = None,
        household_id: str | None = None,
        as_of_from: dt.date | None = None,
        as_of_to: dt.date | None = None,
        cursor: int | None = Query(default=None, ge=0, le=2**63 - 1, description="next_cursor of the previous page"),
        limit: int = Query(default=50, ge=1, le=500),
        principal: Principal = Depends(get_principal),
        uow: Work = Depends(get_uow),
    ) -> dict[str, Any]:
        require_officer(principal)
        prefix = principal.region
        if region is not None:
            check_region(region, lambda r: region_within(r, principal.region), path="region")
            prefix = region
        q = ListDecisions(
            principal,
            region_prefix=prefix,
            kind=None if kind is None else kind.value,
            state=None if state is None else state.value,
            subject_id=subject_id,
            household_id=household_id,
            as_of_from=as_of_from,
            as_of_to=as_of_to,
            before_seq=cursor,
            limit=limit,
        )
        return _page_body(await list_decisions(q, uow))

    @router.get("/{decision_id}", summary="One decision: snapshot, breakdown, history")
    async def read_one(
        decision_id: str,
        principal: Principal = Depends(get_principal),
        uow: Work = Depends(get_uow),
    ) -> dict[str, Any]:
        require_officer(principal)
        return decision_body(await read_decision(uow, decision_id, principal))

    async def _step(
        request: Request, decision_id: str, action: DecisionAction, principal: Principal, uow: Work
    ) -> dict[str, Any]:
        reason = note = None
        if action is DecisionAction.REJECT:
            rejection, _ = await read_body(request, DecisionReject)
            reason = rejection.reason
        elif (await request.body()).strip():
            step, _ = await read_body(request, DecisionStep)
            note = step.note
        cmd = StepDecision(decision_id, action, principal, reason=reason, note=note)
        return decision_body(await transition(cmd, uow))

    @router.post(
        "/{decision_id}/approve",
        summary="Approve (county, province or admin)",
        openapi_extra=body_schema(DecisionStep),
    )
    async def approve(
        decision_id: str,
        request: Request,
        principal: Principal = Depends(get_principal),
        uow: Work = Depends(get_uow),
    ) -> dict[str, Any]:
        return await _step(request, decision_id, DecisionAction.APPROVE, principal, uow)

    @router.post(
        "/{decision_id}/pay",
        summary="Mark as paid (county, province or admin)",
        openapi_extra=body_schema(DecisionStep),
    )
    async def pay(
        decision_id: str,
        request: Request,
        principal: Principal = Depends(get_principal),
        uow: Work = Depends(get_uow),
    ) -> dict[str, Any]:
        return await _step(request, decision_id, DecisionAction.PAY, principal, uow)

    @router.post(
        "/{decision_id}/reject",
        summary="Reject with a reason (county, province or admin)",
        openapi_extra=body_schema(DecisionReject),
    )
    async def reject(
        decision_id: str,
        request: Request,
        principal: Principal = Depends(get_principal),
        uow: Work = Depends(get_uow),
    ) -> dict[str, Any]:
        return await _step(request, decision_id, DecisionAction.REJECT, principal, uow)

    return router


def _created(read: dict[str, Any]) -> JSONResponse:
    return JSONResponse(read, status_code=201, headers={"Location": f"/api/v1/subsidies/decisions/{read['id']}"})


def _replay(status: int, body: dict[str, Any]) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"}
    if status >= 400:
        return problem_response(status, body, headers)
    return JSONResponse(body, status_code=status, headers=headers)
