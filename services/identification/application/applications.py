"""Use cases of self-applications (农户自主申报) and officer-started cases: submit (idempotent,
one open application per household, household created or updated, identification case opened
with the policy's deadline, events to the outbox) and read (status and history, by scope)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from services.identification.application.assessments import to_domain_household
from services.identification.application.cases import (
    actor_label,
    emit_case_events,
    load_visible_case,
    policy_in_force,
    procedure_policy,
    submitter_index,
)
from services.identification.application.duplicates import HouseholdConflict, match_household, record_sightings
from services.identification.application.household_input import HouseholdIn
from services.identification.application.ports import ApplicationExists, ApplicationRow, Work, open_work
from services.identification.application.stored import HouseholdRecord
from services.identification.domain.assessment import assess
from services.identification.domain.cases import Case, CaseExclusion, HistoryEntry, TransitionRefused, open_case
from services.identification.domain.model import Household, RiskType
from shared import idempotency
from shared.app import ServiceContext
from shared.auth import Principal
from shared.errors import Conflict, NotFound
from shared.events import Event

__all__ = [
    "ROUTE",
    "ApplicationDetail",
    "ApplicationRead",
    "RenderApplication",
    "Replayed",
    "SubmitApplication",
    "get_application",
    "submit",
    "submit_application",
]

ROUTE = "POST /api/v1/applications"
SOURCE = "identification"
_RISK_ORDER = tuple(str(r) for r in RiskType)
_CENT = Decimal("0.01")


def _ordered_risks(*groups: Sequence[str]) -> tuple[str, ...]:
    found = {str(r) for g in groups for r in g}
    return tuple(r for r in _RISK_ORDER if r in found) + tuple(sorted(found - set(_RISK_ORDER)))


# --------------------------------------------------------------------------- household


async def _save_household(
    ctx: ServiceContext,
    work: Work,
    *,
    household_id: str | None,
    household_number: str | None,
    region_code: str,
    body: HouseholdIn,
    evaluation: dict[str, Any],
) -> str:
    """Create or update the household through the household repository (keyed by its number;
    a household found by a member's ID number keeps its number), then record this assessment."""
    if household_id is not None:
        stored = await work.households.get(household_id)
        assert stored is not None
        household_number = stored.household_number
    number = household_number or f"APP-{uuid.uuid4().hex[:20]}"
    outcome = await work.households.upsert(ctx.cipher, HouseholdRecord(number, region_code, body), source="application")
    await work.households.record_outcome(outcome.household_id, **evaluation)
    return outcome.household_id


# --------------------------------------------------------------------------- submit


@dataclass(frozen=True, slots=True)
class ApplicationRead:
    """An application as its submitter and the officers see it: its case's state (`status`),
    category and risk types, the risk types declared on it, the green channel, the deadline."""

    id: str
    status: str
    case_id: str
    household_id: str
    region_code: str
    category: str | None
    risk_types: tuple[str, ...]
    declared_risk_types: tuple[str, ...]
    urgent: bool
    deadline: dt.date | None
    submitted_by_role: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ApplicationDetail:
    """`GET /applications/{id}`: the application, why it was made, its case's history."""

    application: ApplicationRead
    reason: str
    history: tuple[HistoryEntry, ...]


@dataclass(frozen=True, slots=True)
class Replayed:
    """The reply stored for an Idempotency-Key that was used before (sent again as it was)."""

    status: int
    body: Any


#: How the caller shows a submitted application: the Idempotency-Key's stored reply is that.
RenderApplication = Callable[[ApplicationRead], Any]


def _application_read(row: ApplicationRow, case: Case) -> ApplicationRead:
    return ApplicationRead(
        id=row.id,
        status=str(case.state),
        case_id=row.case_id,
        household_id=row.household_id,
        region_code=row.region_code,
        category=case.category,
        risk_types=tuple(case.risk_types),
        declared_risk_types=tuple(json.loads(row.risk_types)),
        urgent=bool(row.urgent),
        deadline=case.deadline,
        submitted_by_role=row.submitter_role,
        created_at=case.submitted_at,
    )


async def _refuse_if_open(work: Work, household_id: str) -> None:
    repo = work.cases
    for row in await repo.open_cases_of(household_id):
        existing = row.application_id or await repo.application_of_case(row.id)
        raise Conflict(
            "this household already has an open application or case",
            code="application_exists",
            existing_application_id=existing,
            existing_case_id=row.id,
        )
    household = await repo.household(household_id)
    if household is not None and household.status == "monitored":
        raise Conflict("this household is already monitored", code="already_monitored")


@dataclass(frozen=True, slots=True)
class SubmitApplication:
    """A self-application (or an officer's) for `household` in village `region_code`: why,
    the declared risk types, the green channel, and the register number when known."""

    household: HouseholdIn
    region_code: str
    reason: str
    risk_types: tuple[str, ...] = ()
    urgent: bool = False
    household_number: str | None = None


async def submit_application(
    ctx: ServiceContext,
    principal: Principal,
    command: SubmitApplication,
    *,
    body: dict[str, Any],
    idempotency_key: str | None,
    render: RenderApplication,
) -> ApplicationRead | Replayed:
    """`POST /applications`, once per Idempotency-Key: the submitted application, or the reply
    stored for the key. `body` is the validated request as JSON, hashed for the key's check;
    `render` makes the reply stored for the key (the response the caller sends)."""
    claim = await idempotency.claim(
        ctx.uow,
        ctx.tables["idempotency_keys"],
        scope=idempotency.scope_for(ROUTE, principal),
        key=idempotency_key,
        body=body,
    )
    if claim.replay is not None:
        return Replayed(*claim.replay)
    try:
        async with open_work(ctx) as uow:
            return await submit(ctx, uow, principal, command, claim, render=render)
    except BaseException:
        await idempotency.release(ctx.uow, ctx.tables["idempotency_keys"], claim)
        raise


async def submit(
    ctx: ServiceContext,
    uow: Work,
    principal: Principal,
    command: SubmitApplication,
    claim: idempotency.IdempotencyClaim,
    *,
    render: RenderApplication,
) -> ApplicationRead:
    """One transaction: the household matched inside the caller's jurisdiction (refused outside
    it), created or updated with this assessment, the identification case opened with its
    deadline and the negative-list exclusions, the application stored, the events and the
    Idempotency-Key's reply (`render` of the result) written; committed."""
    household, region_code, risk_types = command.household, command.region_code, command.risk_types
    reason, urgent, household_number = command.reason, command.urgent, command.household_number
    if not principal.sees(region_code):
        raise NotFound("no such region in your jurisdiction")
    domain_household: Household = to_domain_household(household, region_code=region_code)
    at = ctx.now()
    resolved = await policy_in_force(ctx, uow, region_code, at.date())
    policy = procedure_policy(resolved)
    assessment = assess(domain_household, resolved, as_of=at.date())
    risks = _ordered_risks(risk_types, [str(r) for r in assessment.risk_types])
    category = str(assessment.category) if assessment.category else None
    # matching only inside the caller's jurisdiction (application.duplicates): a household
    # of another jurisdiction is never changed — refused, recorded for the level above both
    match = await match_household(ctx, uow, principal, household, household_number, region_code)
    if match.refused:
        await record_sightings(
            uow, match.refused, origin="application", by=actor_label(principal), role=principal.role, at=at
        )
        await uow.commit()
        raise HouseholdConflict()
    existing = match.household_id
    if existing is not None:
        await _refuse_if_open(uow, existing)
    case_id = str(uuid.uuid4())
    application_id = str(uuid.uuid4())
    try:
        opened = open_case(
            case_id=case_id,
            household_id=existing or "pending",
            by=actor_label(principal),
            role=principal.role,
            at=at,
            policy=policy,
            category=category,
            risk_types=risks,
            urgent=urgent,
            note="self-application" if principal.role == "citizen" else f"application by {principal.role} officer",
            exclusions=_exclusions(assessment),
        )
    except TransitionRefused as exc:
        raise Conflict(exc.message, code=str(exc.rule), rule=str(exc.rule), source=exc.source) from None
    household_id = await _save_household(
        ctx,
        uow,
        household_id=existing,
        household_number=household_number,
        region_code=region_code,
        body=household,
        evaluation={
            "category": category,
            "low_income_category": str(assessment.low_income_category) if assessment.low_income_category else None,
            "warning": str(assessment.warning) if assessment.warning else None,
            "per_capita_income": assessment.per_capita_income.quantize(_CENT),
            "as_of": at.date(),
            "policy_id": resolved.id,
            "policy_version": resolved.version,
        },
    )
    # one person in two households of this jurisdiction: flagged, to be resolved
    await record_sightings(
        uow,
        [replace(f, other_household_id=household_id) for f in match.flags if f.household_id != household_id],
        origin="application",
        by=actor_label(principal),
        role=principal.role,
        at=at,
    )
    case = _with_household(opened.case, household_id)
    await uow.cases.add(case, region_code=region_code, application_id=application_id)
    try:
        await uow.applications.add(
            {
                "id": application_id,
                "household_id": household_id,
                "case_id": case_id,
                "region_code": region_code,
                "reason": reason,
                "risk_types": json.dumps(list(risk_types)),
                "urgent": urgent,
                "consent": json.dumps({"commitment": True, "asset_query_authorized": True, "at": at.isoformat()}),
                "submitter_role": principal.role,
                "submitter_index": submitter_index(ctx, principal),
                "submitted_by": actor_label(principal),
                "created_at": at,
            }
        )
    except ApplicationExists:
        raise Conflict("this household already has an open application or case", code="application_exists") from None
    uow.add_event(
        Event(
            "application",
            "submitted",
            household_id,
            region_code,
            {
                "application_id": application_id,
                "case_id": case_id,
                "household_id": household_id,
                "region_code": region_code,
                "category": category,
                "risk_types": list(risks),
                "urgent": urgent,
                "deadline": case.deadline.isoformat() if case.deadline else None,
                "submitted_by_role": principal.role,
                # The submitter's blind index (keyed HMAC, not the ID number): lets the
                # notification service route status changes to the applicant's inbox.
                "applicant_sub_hash": submitter_index(ctx, principal),
                "at": at.isoformat(),
            },
            source=SOURCE,
        )
    )
    events = tuple(_with_household_event(e, household_id) for e in opened.events)
    await emit_case_events(
        ctx, uow, case=case, region_code=region_code, events=events, opened=case, application_id=application_id
    )
    row = await uow.applications.get(application_id)
    assert row is not None  # added just now
    read = _application_read(row, case)
    await uow.complete_claim(ctx.tables["idempotency_keys"], claim, 201, render(read))
    await uow.commit()
    return read


def _exclusions(assessment: Any) -> tuple[CaseExclusion, ...]:
    """The assessment's negative-list exclusions as stored on the case, with their evidence: the
    input flag (`assets.<code>`), the policy in force and the clause."""
    return tuple(
        CaseExclusion(
            code=e.code,
            detail=e.detail,
            source=e.source,
            inputs={f"assets.{e.code}": True},
            policy_id=assessment.policy_id,
            policy_version=assessment.policy_version,
        )
        for e in assessment.exclusions
    )


def _with_household(case: Case, household_id: str) -> Case:
    return replace(case, household_id=household_id)


def _with_household_event(event: Any, household_id: str) -> Any:
    return replace(event, household_id=household_id)


# --------------------------------------------------------------------------- read


async def get_application(
    ctx: ServiceContext, work: Work, principal: Principal, application_id: str
) -> ApplicationDetail:
    row = await work.applications.get(application_id)
    if row is None:
        raise NotFound(f"application {application_id} not found")
    try:
        case, _ = await load_visible_case(ctx, work, principal, row.case_id)
    except NotFound:
        raise NotFound(f"application {application_id} not found") from None
    return ApplicationDetail(application=_application_read(row, case), reason=row.reason, history=case.history)
