"""Use cases of the monitoring-case procedure: read a case (with what this caller may do now),
list cases, take a transition (optimistic concurrency, append-only history, household status,
outbox events). The rules themselves are domain.cases; this module feeds them and stores results
through the unit of work's repositories (`application.ports.Work`).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, cast

from services.identification.application.policies import policy_in_force
from services.identification.application.ports import CaseEventsWork, CaseFilter, CaseRow, StaleCase, Work
from services.identification.domain.assessment import assess
from services.identification.domain.cases import (
    Action,
    AssemblyDecision,
    Case,
    CaseEvent,
    CaseOpened,
    CaseState,
    CaseStatusChanged,
    ExclusionOverridden,
    HouseholdCleared,
    HouseholdFacts,
    HouseholdIdentified,
    HouseholdRolledBack,
    ObjectionRaised,
    ObjectionResolved,
    Procedure,
    ProcedurePolicy,
    RiskEliminated,
    TransitionRefused,
    TransitionRequest,
    allowed_actions,
    apply,
    is_overdue,
    overdue_on,
)
from services.identification.domain.model import (
    LaborCapacity,
)
from services.identification.domain.scale_risk import scale_risk
from shared.app import ServiceContext
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound, ServiceUnavailable
from shared.events import Event
from shared.identifiers import REGION_LEVELS
from shared.pii import mask_id_number
from shared.policy import ResolvedPolicy

__all__ = [
    "MAX_PAGE_SIZE",
    "CaseExtras",
    "CasePage",
    "CaseRead",
    "CaseSummary",
    "ListCases",
    "TransitionCase",
    "actor_label",
    "case_event_data",
    "emit_case_events",
    "get_case",
    "list_cases",
    "load_visible_case",
    "policy_in_force",
    "procedure_policy",
    "submitter_index",
    "transition_case",
]

SOURCE = "identification"
MAX_PAGE_SIZE = 200
_ABLE = frozenset({LaborCapacity.ORDINARY, LaborCapacity.SKILLED})
_NO_LABOR = LaborCapacity.NONE

#: What the household status becomes after these domain events (households.status).
_HOUSEHOLD_STATUS: Mapping[type[CaseEvent], str] = {
    HouseholdIdentified: "monitored",
    RiskEliminated: "eliminated",
    HouseholdRolledBack: "monitored",
    HouseholdCleared: "cleared",
}

# --------------------------------------------------------------------------- seams


def procedure_policy(resolved: ResolvedPolicy) -> ProcedurePolicy:
    try:
        return ProcedurePolicy.from_mapping({name: pv.value for name, pv in resolved.values.items()})
    except (KeyError, ValueError) as exc:
        raise ServiceUnavailable(
            f"the procedure policy for {resolved.region_code} is incomplete: {exc}", code="policy_incomplete"
        ) from None


def actor_label(principal: Principal) -> str:
    """Who acted, as recorded in history: a citizen's `sub` is their ID number, so it is masked."""
    if principal.role == "citizen":
        return "citizen:" + mask_id_number(principal.sub)
    return principal.sub


def submitter_index(ctx: ServiceContext, principal: Principal) -> str:
    """The blind index of the caller (a citizen's ID number never stored in clear)."""
    return ctx.cipher.blind_index(f"{principal.role}:{principal.sub}" if principal.role != "citizen" else principal.sub)


# --------------------------------------------------------------------------- visibility


async def _citizen_sees(ctx: ServiceContext, work: Work, principal: Principal, household_id: str) -> bool:
    """A citizen sees the applications they submitted and those of a household they belong to."""
    index = ctx.cipher.blind_index(principal.sub)
    if await work.applications.submitted_by(household_id, index):
        return True
    return await work.cases.is_member(household_id, index)


async def load_visible_case(
    ctx: ServiceContext, work: Work, principal: Principal, case_id: str
) -> tuple[Case, CaseRow]:
    """The case if the caller may see it; 404 otherwise (existence does not leak)."""
    found = await work.cases.get(case_id)
    if found is None or not principal.sees(found[1].region_code):
        raise NotFound(f"case {case_id} not found")
    if principal.role == "citizen" and not await _citizen_sees(ctx, work, principal, found[0].household_id):
        raise NotFound(f"case {case_id} not found")
    if principal.role in ("contact", "department"):
        # contacts and departments work from events and plans, not from the procedure's files
        raise NotFound(f"case {case_id} not found")
    return found


# --------------------------------------------------------------------------- facts


@dataclass(frozen=True, slots=True)
class CaseExtras:
    """Facts the service does not hold yet, given on the request (documented in
    docs/procedure.md): when assistance measures started (assistance service), whether only
    social-security measures are in place, and Hebei's stable-year facts."""

    measures_since: dt.date | None = None
    only_social_security: bool | None = None
    risk_factors_removed: bool | None = None
    income_stable_since: dt.date | None = None


async def _labor(work: CaseEventsWork, household_id: str) -> dict[str, Any]:
    capacities = await work.cases.labor_capacities(household_id)
    able = sum(1 for c in capacities if c in _ABLE)
    return {
        "has_labor_capacity": any(c != _NO_LABOR for c in capacities),
        "able_bodied_members": able,
        "members": len(capacities),
    }


async def household_facts(
    ctx: ServiceContext,
    work: Work,
    case: Case,
    *,
    today: dt.date,
    extras: CaseExtras = CaseExtras(),
) -> HouseholdFacts | None:
    """HouseholdFacts for the §5 guards: per-capita income via domain.assessment from the stored
    facts, labour capacity of the members, when monitoring (re)started, an open elimination case."""
    stored = await work.households.get(case.household_id)
    if stored is None:
        return None
    per_capita = stored.per_capita_income or Decimal(0)
    try:
        resolved = await policy_in_force(ctx, work, stored.region_code, today)
        per_capita = assess(stored.to_domain(), resolved, as_of=today).per_capita_income
    except (ValueError, KeyError, LookupError, ServiceUnavailable):
        pass  # keep the stored figure: the facts are incomplete for a full assessment
    capacities = [m.labor_capacity for m in stored.members]
    open_elimination = None
    restarted: dt.date | None = None
    for other in await work.cases.stamps_of(case.household_id):
        if other.procedure != Procedure.ELIMINATION:
            continue
        if other.is_open and other.id != case.id:
            open_elimination = other.id
        if other.state == CaseState.ROLLED_BACK:
            restarted = max(restarted or other.updated_on, other.updated_on)
    # what assistance told (application/loops.py) wins over the hand-typed `measures_since`
    told = await work.cases.measures_told(case.household_id)
    return HouseholdFacts(
        per_capita_income=per_capita,
        has_labor_capacity=any(c != _NO_LABOR for c in capacities),
        only_social_security=bool(extras.only_social_security),
        measures_since=told.measures_since or extras.measures_since,
        measures_open=told.measures_open,
        risk_factors_removed=bool(extras.risk_factors_removed),
        income_stable_since=extras.income_stable_since,
        monitored_since=restarted,
        open_elimination_case_id=open_elimination,
    )


def _needs_facts(case: Case) -> bool:
    return case.state is CaseState.MONITORED or (
        case.procedure is Procedure.ELIMINATION and case.state is CaseState.COUNTY_REVIEW
    )


# --------------------------------------------------------------------------- events


def case_event_data(case: Case, region_code: str, labor: Mapping[str, Any]) -> dict[str, Any]:
    """The fields every case event carries (no names, no ID numbers, no free text)."""
    return {
        "case_id": case.id,
        "household_id": case.household_id,
        "region_code": region_code,
        "procedure": str(case.procedure),
        "state": str(case.state),
        "category": case.category,
        "risk_types": list(case.risk_types),
        "urgent": case.urgent,
        "deadline": case.deadline.isoformat() if case.deadline else None,
        "parent_case_id": case.parent_case_id,
        "version": case.version,
        **labor,
    }


async def emit_case_events(
    ctx: ServiceContext,
    uow: CaseEventsWork,
    *,
    case: Case,
    region_code: str,
    events: tuple[CaseEvent, ...],
    opened: Case | None = None,
    application_id: str | None = None,
) -> None:
    """Map the domain's events to outbox events (DESIGN.md subjects) and keep households.status."""
    labor = await _labor(uow, case.household_id)
    for ev in events:
        subject_case = opened if isinstance(ev, CaseOpened) and opened is not None and ev.case_id == opened.id else case
        base = case_event_data(subject_case, region_code, labor)
        if isinstance(ev, CaseOpened | CaseStatusChanged):
            data = dict(base)
            if isinstance(ev, CaseOpened):
                data.update(action="submit" if ev.procedure is Procedure.IDENTIFICATION else "propose_elimination")
                data.update({"from": None, "to": str(ev.state), "role": str(subject_case.history[0].role)})
            else:
                data.update({"action": str(ev.action), "from": str(ev.from_state), "to": str(ev.to_state)})
                data["role"] = str(ev.role)
            if application_id is not None:
                data["application_id"] = application_id
            if data.get("to") == "public_notice" and subject_case.notice_ends_on is not None:
                data["notice_ends_on"] = subject_case.notice_ends_on.isoformat()
            data["at"] = ev.at.isoformat()
            uow.add_event(Event("case", "status_changed", subject_case.id, region_code, data, source=SOURCE))
            await _audit_transition(uow, subject_case, region_code, data, ev)
        elif isinstance(ev, ExclusionOverridden):
            decision = _decision_read(ev.assembly_decision)
            data = dict(base, exclusion_code=ev.exclusion_code, role=str(ev.role), at=ev.at.isoformat())
            uow.add_event(Event("case", "exclusion_overridden", case.id, region_code, data, source=SOURCE))
            await uow.audit.record(
                kind="exclusion_override",
                subject_type="case",
                subject_id=case.id,
                household_id=case.household_id,
                region_code=region_code,
                actor=ev.by,
                role=str(ev.role),
                at=ev.at,
                detail={
                    "exclusion_code": ev.exclusion_code,
                    "reason": ev.reason,
                    "assembly_decision": decision,
                    "case_version": case.version,
                },
            )
        elif isinstance(ev, ObjectionRaised | ObjectionResolved):
            name = "objection_raised" if isinstance(ev, ObjectionRaised) else "objection_resolved"
            data = dict(base, objection_id=ev.objection_id, at=ev.at.isoformat())
            uow.add_event(Event("case", name, case.id, region_code, data, source=SOURCE))
            entry = case.history[-1]
            await _audit_transition(
                uow,
                case,
                region_code,
                {
                    "action": str(entry.action),
                    "from": str(case.state),
                    "to": str(case.state),
                    "role": str(entry.role),
                    "objection_id": ev.objection_id,
                },
                ev,
                by=entry.by,
            )
        elif isinstance(ev, HouseholdIdentified):
            data = dict(
                base,
                monitored_since=ev.monitored_since.isoformat(),
                within_time_limit=ev.within_time_limit,
                at=ev.at.isoformat(),
            )
            uow.add_event(Event("household", "identified", case.household_id, region_code, data, source=SOURCE))
        elif isinstance(ev, RiskEliminated):
            data = dict(base, eliminated_on=ev.eliminated_on.isoformat(), at=ev.at.isoformat())
            uow.add_event(Event("risk", "eliminated", case.household_id, region_code, data, source=SOURCE))
        elif isinstance(ev, HouseholdRolledBack):
            data = dict(base, at=ev.at.isoformat())
            uow.add_event(Event("risk", "rolled_back", case.household_id, region_code, data, source=SOURCE))
        elif isinstance(ev, HouseholdCleared):
            data = dict(base, at=ev.at.isoformat())
            uow.add_event(Event("risk", "cleared", case.household_id, region_code, data, source=SOURCE))
        status = _HOUSEHOLD_STATUS.get(type(ev))
        if status is not None:
            await uow.cases.set_household_status(case.household_id, status)
            if isinstance(ev, HouseholdIdentified):
                await _maybe_flag_scale_risk(ctx, uow, region_code, ev.at)


def _decision_read(decision: AssemblyDecision) -> dict[str, str]:
    return {"date": decision.decided_on.isoformat(), "minutes_ref": decision.minutes_ref}


async def _audit_transition(
    work: CaseEventsWork,
    case: Case,
    region_code: str,
    data: Mapping[str, Any],
    ev: CaseEvent,
    *,
    by: str | None = None,
) -> None:
    """One chain entry per transition of a case (its opening, state changes, objections), with
    the history line's note (ID and phone numbers masked by shared.audit)."""
    entry = case.history[-1] if case.history else None
    if by is None:
        by = ev.by if isinstance(ev, CaseStatusChanged) else (case.history[0].by if case.history else "unknown")
    await work.audit.record(
        kind="case_transition",
        subject_type="case",
        subject_id=case.id,
        household_id=case.household_id,
        region_code=region_code,
        actor=by,
        role=str(data.get("role") or ""),
        at=ev.at,
        detail={
            "procedure": str(case.procedure),
            "action": data.get("action"),
            "from": data.get("from"),
            "to": data.get("to"),
            "case_version": case.version,
            "note": entry.note if entry is not None and entry.at == ev.at else None,
            "exclusions": [e.code for e in case.exclusions] if data.get("from") is None else None,
            "objection_id": data.get("objection_id"),
        },
    )


async def _maybe_flag_scale_risk(ctx: ServiceContext, uow: CaseEventsWork, village: str, at: dt.datetime) -> None:
    """`risk.scale_flagged` when this identification takes the village over the threshold
    (flagged now, not flagged with one household fewer): emitted once per crossing."""
    if len(village) != 12:
        return
    population, monitored = await uow.cases.village_figures(village)
    resolved = await policy_in_force(ctx, uow, village, at.date())
    threshold = procedure_policy(resolved).scale_risk_threshold
    if population == 0:
        return
    now = scale_risk(population, monitored, threshold)
    before = scale_risk(population, max(monitored - 1, 0), threshold)
    if now.flagged and not before.flagged:
        data = {
            "region_code": village,
            "village_population": population,
            "non_eliminated_monitored": monitored,
            "share": str(now.share.quantize(Decimal("0.0001"))),
            "threshold": str(threshold),
            "rule": now.rule,
            "source": now.source,
            "at": at.isoformat(),
        }
        uow.add_event(Event("risk", "scale_flagged", village, village, data, source=SOURCE))


# --------------------------------------------------------------------------- read


@dataclass(frozen=True, slots=True)
class CaseRead:
    """A case as `GET /cases/{id}` shows it: the case, where it is, the application behind it,
    whether it is overdue today and what this caller may do now (`opened_case_id`: the
    elimination case a transition opened)."""

    case: Case
    region_code: str
    application_id: str | None
    overdue: bool
    allowed_actions: tuple[str, ...]
    opened_case_id: str | None = None


@dataclass(frozen=True, slots=True)
class CaseSummary:
    """One case of a `GET /cases` page."""

    id: str
    household_id: str
    region_code: str
    procedure: str
    state: str
    category: str | None
    risk_types: tuple[str, ...]
    urgent: bool
    deadline: dt.date | None
    comparison_due: dt.date | None
    overdue: bool
    version: int


@dataclass(frozen=True, slots=True)
class CasePage:
    items: tuple[CaseSummary, ...]
    page: int
    page_size: int
    total: int


@dataclass(frozen=True, slots=True)
class ListCases:
    """Which cases to list: inside `region` (the caller's when None), in one of the
    comma-separated `state`s, of `procedure`, of `household_id`, overdue or not, with an open
    objection or not; page `page` of `page_size` (capped at `MAX_PAGE_SIZE`)."""

    region: str | None = None
    state: str | None = None
    procedure: str | None = None
    household_id: str | None = None
    overdue: bool | None = None
    has_open_objection: bool | None = None
    page: int = 1
    page_size: int = 50


async def case_read(ctx: ServiceContext, work: Work, principal: Principal, case: Case, row: CaseRow) -> CaseRead:
    today = ctx.now().date()
    policy = procedure_policy(await policy_in_force(ctx, work, row.region_code, today))
    facts = await household_facts(ctx, work, case, today=today) if _needs_facts(case) else None
    application_id = row.application_id or await work.cases.application_of_case(case.id)
    allowed = (
        allowed_actions(case, principal.role, today=today, policy=policy, facts=facts) if principal.is_officer else []
    )
    return CaseRead(
        case=case,
        region_code=row.region_code,
        application_id=application_id,
        overdue=is_overdue(case, today),
        allowed_actions=tuple(allowed),
    )


async def get_case(ctx: ServiceContext, work: Work, principal: Principal, case_id: str) -> CaseRead:
    case, row = await load_visible_case(ctx, work, principal, case_id)
    return await case_read(ctx, work, principal, case, row)


def _region_filter(principal: Principal, region: str | None) -> str | None:
    """The narrower of the caller's region and the requested one; None when they do not meet."""
    if region is None or region == "":
        return principal.region
    if len(region) not in REGION_LEVELS or not region.isdigit():
        return None
    if principal.sees(region):
        return region
    if region.startswith(principal.region) or principal.region.startswith(region):
        return principal.region
    return None


async def list_cases(ctx: ServiceContext, work: Work, principal: Principal, command: ListCases) -> CasePage:
    if not principal.is_officer:
        raise Forbidden("only officers list cases", code="role_not_allowed")
    page_size = max(1, min(command.page_size, MAX_PAGE_SIZE))
    page = max(1, command.page)
    prefix = _region_filter(principal, command.region)
    today = ctx.now().date()
    if prefix is None:
        return CasePage(items=(), page=page, page_size=page_size, total=0)
    where = CaseFilter(
        prefix=prefix,
        today=today,
        states=tuple(x.strip() for x in (command.state or "").split(",") if x.strip()),
        procedure=command.procedure or None,
        household_id=command.household_id or None,
        overdue=command.overdue,
        has_open_objection=command.has_open_objection,
    )
    total, rows = await work.cases.page(where, offset=(page - 1) * page_size, limit=page_size)
    items = tuple(
        CaseSummary(
            id=r.id,
            household_id=r.household_id,
            region_code=r.region_code,
            procedure=r.procedure,
            state=r.state,
            category=r.category,
            risk_types=tuple(json.loads(r.risk_types)),
            urgent=bool(r.urgent),
            deadline=r.deadline,
            comparison_due=r.comparison_due,
            overdue=overdue_on(
                today,
                is_open=bool(r.is_open),
                state=r.state,
                deadline=r.deadline,
                comparison_due=r.comparison_due,
            ),
            version=r.version,
        )
        for r in rows
    )
    return CasePage(items=items, page=page, page_size=page_size, total=total)


# --------------------------------------------------------------------------- transition


@dataclass(frozen=True, slots=True)
class TransitionCase:
    """One action on case `case_id` (advance, object, resolve_objection, reject,
    propose_elimination, rollback, clear, override_exclusion) with what it needs: the review
    `note`, a `reason`, the `investigators`, the objection, the assembly decision an override
    rests on; `expected_version`: the version the caller read (another one is a 409)."""

    case_id: str
    action: str
    note: str | None = None
    reason: str | None = None
    investigators: tuple[str, ...] = ()
    objection_id: str | None = None
    expected_version: int | None = None
    extras: CaseExtras = CaseExtras()
    exclusion_code: str | None = None
    assembly_decision: AssemblyDecision | None = None


def _refused(exc: TransitionRefused) -> Conflict:
    return Conflict(
        exc.message,
        code=str(exc.rule),
        rule=str(exc.rule),
        source=exc.source,
        violations=[str(v) for v in exc.violations],
        **exc.details,
    )


async def transition_case(ctx: ServiceContext, uow: Work, principal: Principal, command: TransitionCase) -> CaseRead:
    """Take one action on a case in one transaction: the domain decides, the repository writes
    the new case and its history lines only if nobody changed it meanwhile, the events go to the
    outbox, and the household's status follows. Refusals are 409 with the rule's code."""
    case_id, action = command.case_id, command.action
    case, row = await load_visible_case(ctx, uow, principal, case_id)
    if command.expected_version is not None and command.expected_version != case.version:
        raise Conflict(
            f"case {case_id} is at version {case.version}, not {command.expected_version}",
            code="version_conflict",
            current_version=case.version,
        )
    at = ctx.now()
    policy = procedure_policy(await policy_in_force(ctx, uow, row.region_code, at.date()))
    facts = (
        await household_facts(ctx, uow, case, today=at.date(), extras=command.extras) if _needs_facts(case) else None
    )
    request = TransitionRequest(
        # as the client sent it: `apply` checks it (an unknown action is refused, 409 state_not_allowed)
        action=cast(Action, action),
        by=actor_label(principal),
        role=principal.role,
        at=at,
        note=command.note,
        reason=command.reason,
        investigators=command.investigators,
        objection_id=command.objection_id,
        new_case_id=str(uuid.uuid4()) if action == "propose_elimination" else None,
        exclusion_code=command.exclusion_code,
        assembly_decision=command.assembly_decision,
    )
    try:
        result = apply(case, request, policy=policy, facts=facts)
    except TransitionRefused as exc:
        raise _refused(exc) from None
    repo = uow.cases
    try:
        await repo.save_transition(case, result.case, opened=result.opened_case, region_code=row.region_code)
    except StaleCase:
        raise Conflict(
            f"case {case_id} was changed by someone else; read it again",
            code="version_conflict",
        ) from None
    await emit_case_events(
        ctx,
        uow,
        case=result.case,
        region_code=row.region_code,
        events=result.events,
        opened=result.opened_case,
        application_id=row.application_id,
    )
    await uow.commit()
    saved = await repo.get_row(case_id)
    assert saved is not None  # written just now
    read = await case_read(ctx, uow, principal, result.case, saved)
    if result.opened_case is not None:
        read = replace(read, opened_case_id=result.opened_case.id)
    return read
