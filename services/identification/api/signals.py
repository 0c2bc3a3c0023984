"""Routes: department risk signals (部门筛查预警) — `POST /signals` (a batch of up to 10,000,
one outcome per signal), `GET /signals/leads` (unknown persons for the village to verify) and
`POST /signals/leads/{id}/resolve` (matched to a household, or dismissed with a reason)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from services.identification.adapters.unit_of_work import IdentificationUnitOfWork
from services.identification.api.deps import get_work
from services.identification.application import signals as uc
from shared.app import ServiceContext, get_ctx, get_principal, request_body
from shared.auth import Principal
from shared.identifiers import InvalidIdNumber, InvalidRegionCode, validate_id_number, validate_region_code
from shared.pii import mask_numbers_in_text, mask_numbers_in_value

router = APIRouter(prefix="/api/v1", tags=["signals"])

#: the optional members of a signal's outcome, in the order they are answered (absent when None)
_OUTCOME_EXTRAS = ("first_outcome", "code", "household_id", "case_id", "open_case_id", "lead_id", "warning")


def _outcome_body(o: uc.SignalOutcome) -> dict[str, Any]:
    body: dict[str, Any] = {
        "signal_id": o.signal_id,
        "source_dept": o.source_dept,
        "kind": o.kind,
        "outcome": o.outcome,
    }
    for name in _OUTCOME_EXTRAS:
        value = getattr(o, name)
        if value is not None:
            body[name] = value
    return body


def _lead_body(lead: uc.Lead) -> dict[str, Any]:
    return {
        "id": lead.id,
        "region_code": lead.region_code,
        "id_number_masked": lead.id_number_masked,
        "source_dept": lead.source_dept,
        "kind": lead.kind,
        "risk_types": lead.risk_types,
        "warning": lead.warning,
        "signals": lead.signals,
        "status": lead.status,
        "first_observed_at": lead.first_observed_at,
        "household_id": lead.household_id,
        "reason": lead.reason,
        "resolved_at": lead.resolved_at,
        "resolved_by_role": lead.resolved_by_role,
    }


MAX_BATCH = 10_000


class SignalIn(BaseModel):
    """One department signal. Exactly one of `id_number` (matched by its blind index; never
    echoed back) and `household_id`."""

    model_config = ConfigDict(extra="forbid")

    source_dept: str = Field(min_length=1, max_length=64)
    signal_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="the department's own id: re-sending is harmless. Without one, the signal's content "
        "(department, kind, person or household, region, time, payload) identifies it",
    )
    kind: str = Field(
        min_length=1,
        max_length=48,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="hospital_stay | disability_certificate | unemployment | dangerous_house | disaster | dropout | …",
    )
    id_number: str | None = None
    household_id: str | None = Field(default=None, max_length=36)
    region_code: str
    observed_at: dt.datetime
    payload: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id_number")
    @classmethod
    def _id(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            return validate_id_number(v)
        except InvalidIdNumber as exc:
            raise ValueError(str(exc)) from None

    @field_validator("region_code")
    @classmethod
    def _region(cls, v: str) -> str:
        try:
            return validate_region_code(v)
        except InvalidRegionCode as exc:
            raise ValueError(str(exc)) from None

    @field_validator("payload")
    @classmethod
    def _payload_masked(cls, v: dict[str, Any]) -> dict[str, Any]:
        """Stored and shown as sent, so ID and phone numbers in it are masked first (recursively)."""
        masked: dict[str, Any] = mask_numbers_in_value(v)
        return masked

    @model_validator(mode="after")
    def _one_subject(self) -> SignalIn:
        if (self.id_number is None) == (self.household_id is None):
            raise ValueError("give exactly one of id_number and household_id")
        return self


class SignalBatch(BaseModel):
    """The batch wrapped in an object."""

    model_config = ConfigDict(extra="forbid")

    signals: list[SignalIn] = Field(max_length=MAX_BATCH)


_SIGNALS = TypeAdapter(list[SignalIn])
_BODY_SCHEMA = TypeAdapter(
    Annotated[list[SignalIn], Field(max_length=MAX_BATCH)] | SignalBatch | SignalIn
).json_schema()


def signals_of(body: Any) -> list[SignalIn]:
    """The signals of a request body: a JSON array of signals, `{"signals": [...]}`, or one
    signal. Errors carry the field path as the client wrote it (`3.kind`, `signals.3.kind`,
    `kind`) and never the values (they may be ID numbers)."""
    prefix: tuple[str | int, ...] = ()
    single = False
    if isinstance(body, dict) and "signals" in body:
        if set(body) != {"signals"}:
            extra = sorted(k for k in body if k != "signals")
            raise RequestValidationError(
                [{"loc": ("body", extra[0]), "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}]
            )
        body, prefix = body["signals"], ("signals",)
    elif isinstance(body, dict):
        body, single = [body], True
    if not isinstance(body, list):
        raise RequestValidationError(
            [
                {
                    "loc": ("body", *prefix),
                    "msg": 'expected a signal, a list of signals or {"signals": [...]}',
                    "type": "list_type",
                }
            ]
        )
    if len(body) > MAX_BATCH:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", *prefix),
                    "msg": f"at most {MAX_BATCH:,} signals per request, got {len(body):,}",
                    "type": "too_long",
                }
            ]
        )
    try:
        return _SIGNALS.validate_python(body)
    except ValidationError as exc:
        errors = []
        for e in exc.errors(include_url=False, include_input=False, include_context=False):
            loc = e["loc"][1:] if single else e["loc"]
            errors.append({"loc": ("body", *prefix, *loc), "msg": e["msg"], "type": e["type"]})
        raise RequestValidationError(errors) from None


@router.post("/signals", openapi_extra=request_body(_BODY_SCHEMA))
async def receive_signals(
    body: Annotated[Any, Body()],
    ctx: ServiceContext = Depends(get_ctx),
    uow: IdentificationUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    items = [
        uc.SignalItem(
            source_dept=s.source_dept,
            signal_id=s.signal_id or "",
            kind=s.kind,
            region_code=s.region_code,
            observed_at=s.observed_at,
            payload=s.payload,
            id_number=s.id_number,
            household_id=s.household_id,
        )
        for s in signals_of(body)
    ]
    done = await uc.receive_signals(ctx, uow, principal, uc.ReceiveSignals(items))
    return {"received": done.received, "counts": done.counts, "outcomes": [_outcome_body(o) for o in done.outcomes]}


@router.get("/signals/leads")
async def list_leads(
    region: str | None = Query(default=None, max_length=12),
    status: str = Query(default="open", max_length=16),
    limit: int = Query(default=200, ge=1),
    ctx: ServiceContext = Depends(get_ctx),
    uow: IdentificationUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    leads = await uc.list_leads(ctx, uow, principal, uc.ListLeads(region=region, status=status, limit=limit))
    return {"region": leads.region, "items": [_lead_body(lead) for lead in leads.items]}


class LeadResolve(BaseModel):
    """How a lead was resolved: `match` it to a household (`household_id`), or `dismiss` it with
    a `reason`."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["match", "dismiss"]
    household_id: str | None = Field(default=None, min_length=1, max_length=36)
    reason: str | None = Field(default=None, max_length=2000)

    @field_validator("reason")
    @classmethod
    def _masked(cls, v: str | None) -> str | None:
        """Kept and shown as written: ID and phone numbers masked."""
        return None if v is None else mask_numbers_in_text(v.strip()) or None

    @model_validator(mode="after")
    def _fields_for_action(self) -> LeadResolve:
        if self.action == "match" and self.household_id is None:
            raise ValueError("match needs household_id")
        if self.action == "dismiss" and self.reason is None:
            raise ValueError("dismiss needs a reason")
        return self


@router.post("/signals/leads/{lead_id}/resolve")
async def resolve_lead(
    lead_id: str,
    body: LeadResolve,
    ctx: ServiceContext = Depends(get_ctx),
    uow: IdentificationUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    cmd = uc.ResolveLead(lead_id, body.action, household_id=body.household_id, reason=body.reason)
    r = await uc.resolve_lead(ctx, uow, principal, cmd)
    return {
        "lead_id": r.lead_id,
        "status": r.status,
        "outcome": r.outcome,
        "household_id": r.household_id,
        "case_id": r.case_id,
        "warning": r.warning,
        "reason": r.reason,
        "resolved_at": r.resolved_at,
    }
