"""Opening a case and taking an action on it (`open_case`, `apply`), and which actions a role
could take today (`allowed_actions`): state → role → request fields → timing → §5 guards."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from services.identification.domain.case_deadlines import identification_deadline
from services.identification.domain.case_events import (
    CaseEvent,
    CaseOpened,
    CaseRejected,
    CaseStatusChanged,
    EliminationProposed,
    ExclusionOverridden,
    GreenChannelOpened,
    HouseholdCleared,
    HouseholdIdentified,
    HouseholdRolledBack,
    ObjectionRaised,
    ObjectionResolved,
    RiskEliminated,
    TransitionResult,
)
from services.identification.domain.case_model import (
    AssemblyDecision,
    Case,
    CaseExclusion,
    ExclusionOverride,
    HistoryEntry,
    HouseholdFacts,
    Objection,
    TransitionRequest,
)
from services.identification.domain.case_policy import ProcedurePolicy
from services.identification.domain.case_roles import (
    ACTION_ROLES,
    GREEN_CHANNEL_CATEGORY,
    GREEN_CHANNEL_RISK_TYPES,
    OPEN_ROLES,
    REVIEW_STATES,
    TRANSITION_ACTIONS,
    next_state,
    procedure_allows,
    roles_for,
)
from services.identification.domain.case_vocabulary import Action, CaseState, Procedure, Role, Rule, TransitionRefused
from services.identification.domain.elimination_guards import enforce_guards

__all__ = ["allowed_actions", "apply", "open_case"]


def open_case(
    *,
    case_id: str,
    household_id: str,
    by: str,
    role: Role | str,
    at: dt.datetime,
    policy: ProcedurePolicy,
    category: str | None = None,
    risk_types: Sequence[str] = (),
    urgent: bool = False,
    note: str | None = None,
    holidays: Collection[dt.date] = frozenset(),
    exclusions: Sequence[CaseExclusion] = (),
) -> TransitionResult:
    """Open an identification case at ``submitted`` with its deadline fixed from ``policy``,
    carrying the negative-list ``exclusions`` the assessment found (they block ``monitored``).

    ``urgent`` (green channel) needs a sudden illness/disaster/accident: the category
    ``sudden_hardship`` or one of ``GREEN_CHANNEL_RISK_TYPES``.
    """
    actor = _role(role)
    if actor not in OPEN_ROLES:
        raise TransitionRefused(Rule.ROLE_NOT_ALLOWED, f"role {actor} may not open a case")
    risks = tuple(risk_types)
    if urgent and category != GREEN_CHANNEL_CATEGORY and not GREEN_CHANNEL_RISK_TYPES & set(risks):
        raise TransitionRefused(
            Rule.GREEN_CHANNEL_NOT_APPLICABLE,
            "the green channel is for sudden illness, disaster or accident",
        )
    deadline = identification_deadline(at.date(), policy, holidays)
    case = Case(
        id=case_id,
        household_id=household_id,
        procedure=Procedure.IDENTIFICATION,
        state=CaseState.SUBMITTED,
        submitted_at=at,
        category=category,
        risk_types=risks,
        urgent=urgent,
        deadline=deadline,
        history=(HistoryEntry(Action.SUBMIT, None, CaseState.SUBMITTED, by, actor, at, _clean(note)),),
        exclusions=tuple(exclusions),
    )
    events: list[CaseEvent] = [
        CaseOpened(
            case_id=case_id,
            household_id=household_id,
            at=at,
            procedure=Procedure.IDENTIFICATION,
            state=CaseState.SUBMITTED,
            urgent=urgent,
            deadline=deadline,
        )
    ]
    if urgent:
        events.append(GreenChannelOpened(case_id=case_id, household_id=household_id, at=at, risk_types=risks))
    return TransitionResult(case=case, events=tuple(events))


def _role(value: Role | str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise TransitionRefused(Rule.ROLE_NOT_ALLOWED, f"unknown role {value!r}") from None


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    stripped = text.strip()
    return stripped or None


def _require_note(request: TransitionRequest, what: str) -> str:
    note = _clean(request.note)
    if note is None:
        raise TransitionRefused(Rule.NOTE_REQUIRED, f"{what} needs a note")
    return note


def _require_reason(request: TransitionRequest, action: Action) -> str:
    """The reason of a reject / rollback / clear: `reason`, or `note` when only that was given."""
    reason = _clean(request.reason) or _clean(request.note)
    if reason is None:
        raise TransitionRefused(Rule.REASON_REQUIRED, f"{action} needs a reason")
    return reason


def _step(
    case: Case,
    request: TransitionRequest,
    role: Role,
    to_state: CaseState,
    note: str | None,
    **changes: Any,
) -> Case:
    entry = HistoryEntry(request.action, case.state, to_state, request.by, role, request.at, note)
    return replace(
        case,
        state=to_state,
        history=(*case.history, entry),
        version=case.version + 1,
        **changes,
    )


def _status_changed(before: Case, after: Case, request: TransitionRequest, role: Role) -> CaseEvent:
    return CaseStatusChanged(
        case_id=after.id,
        household_id=after.household_id,
        at=request.at,
        procedure=after.procedure,
        action=request.action,
        from_state=before.state,
        to_state=after.state,
        by=request.by,
        role=role,
    )


def _advance(
    case: Case,
    request: TransitionRequest,
    role: Role,
    policy: ProcedurePolicy,
    facts: HouseholdFacts | None,
) -> TransitionResult:
    target = next_state(case.procedure, case.state)
    assert target is not None  # the state table only lets open steps advance
    today = request.at.date()
    changes: dict[str, Any] = {}
    note = _clean(request.note)
    if case.state is CaseState.VERIFICATION:
        names = tuple(dict.fromkeys(n.strip() for n in request.investigators if n.strip()))
        if len(names) < 2:
            raise TransitionRefused(
                Rule.INVESTIGATORS_REQUIRED,
                f"household verification needs at least 2 investigators, got {len(names)}",
            )
        changes["investigators"] = names
        recorded = "investigators: " + ", ".join(names)
        note = f"{recorded}; {note}" if note else recorded
    if case.state in REVIEW_STATES:
        note = _require_note(request, str(case.state).replace("_", " "))
    if case.state is CaseState.VILLAGE_REVIEW:
        changes.update(
            notice_started_on=today,
            notice_days=policy.notice_days_for(case.procedure),
            objections=(),
        )
    if case.state is CaseState.PUBLIC_NOTICE:
        ends = case.notice_ends_on
        if ends is not None and today <= ends:
            raise TransitionRefused(
                Rule.NOTICE_PERIOD_RUNNING,
                f"the {case.notice_days}-day public notice runs until {ends}",
            )
        if case.open_objections:
            raise TransitionRefused(
                Rule.OBJECTION_OPEN,
                f"{len(case.open_objections)} objection(s) not yet investigated",
            )
    if target is CaseState.COUNTY_REVIEW:
        changes["comparison_due"] = today + dt.timedelta(days=policy.department_comparison_days)
    if target is CaseState.ELIMINATED:
        enforce_guards(case.monitored_since, facts, policy, today, approval=True)
        changes["eliminated_on"] = today
    if target is CaseState.MONITORED:
        standing = case.standing_exclusions
        if standing:
            codes = [e.code for e in standing]
            raise TransitionRefused(
                Rule.EXCLUSION_STANDING,
                f"on the negative list ({', '.join(codes)}): a county officer must first override "
                "each exclusion on a recorded village-assembly decision",
                details={"exclusions": [{"code": e.code, "detail": e.detail, "source": e.source} for e in standing]},
            )
        changes["monitored_since"] = today
    new = _step(case, request, role, target, note, **changes)
    events: list[CaseEvent] = [_status_changed(case, new, request, role)]
    if target is CaseState.MONITORED:
        events.append(
            HouseholdIdentified(
                case_id=new.id,
                household_id=new.household_id,
                at=request.at,
                category=new.category,
                risk_types=new.risk_types,
                monitored_since=today,
                within_time_limit=case.deadline is None or today <= case.deadline,
            )
        )
    if target is CaseState.ELIMINATED:
        events.append(
            RiskEliminated(
                case_id=new.id,
                household_id=new.household_id,
                at=request.at,
                eliminated_on=today,
                parent_case_id=new.parent_case_id,
            )
        )
    return TransitionResult(case=new, events=tuple(events))


def _object(
    case: Case,
    request: TransitionRequest,
    role: Role,
    policy: ProcedurePolicy,
    facts: HouseholdFacts | None,
) -> TransitionResult:
    text = _clean(request.note) or _clean(request.reason)  # what the objection says, in either field
    if text is None:
        raise TransitionRefused(Rule.NOTE_REQUIRED, "an objection needs a note (what is objected)")
    objection = Objection(
        id=f"objection-{len(case.objections) + 1}",
        raised_by=request.by,
        raised_at=request.at,
        text=text,
    )
    new = _step(case, request, role, case.state, text, objections=(*case.objections, objection))
    event = ObjectionRaised(case_id=new.id, household_id=new.household_id, at=request.at, objection_id=objection.id)
    return TransitionResult(case=new, events=(event,))


def _resolve_objection(
    case: Case,
    request: TransitionRequest,
    role: Role,
    policy: ProcedurePolicy,
    facts: HouseholdFacts | None,
) -> TransitionResult:
    open_ones = case.open_objections
    if request.objection_id is None:
        if len(open_ones) != 1:
            raise TransitionRefused(
                Rule.OBJECTION_NOT_FOUND,
                f"{len(open_ones)} open objections: name the one resolved (objection_id)",
            )
        target = open_ones[0]
    else:
        found = [o for o in open_ones if o.id == request.objection_id]
        if not found:
            raise TransitionRefused(Rule.OBJECTION_NOT_FOUND, f"no open objection {request.objection_id!r}")
        target = found[0]
    finding = _require_note(request, "resolving an objection")
    resolved = replace(target, resolved_by=request.by, resolved_at=request.at, resolution=finding)
    objections = tuple(resolved if o.id == target.id else o for o in case.objections)
    new = _step(case, request, role, case.state, f"{target.id}: {finding}", objections=objections)
    event = ObjectionResolved(case_id=new.id, household_id=new.household_id, at=request.at, objection_id=target.id)
    return TransitionResult(case=new, events=(event,))


def _to_end_state(
    case: Case,
    request: TransitionRequest,
    role: Role,
    action: Action,
    to_state: CaseState,
    specific: Callable[[Case], CaseEvent],
) -> TransitionResult:
    """reject / rollback / clear: a reason is required, the case ends in `to_state`, and the
    status change is published together with the action's own event."""
    reason = _require_reason(request, action)
    new = _step(case, request, role, to_state, reason, reason=reason)
    return TransitionResult(case=new, events=(_status_changed(case, new, request, role), specific(new)))


def _reject(
    case: Case,
    request: TransitionRequest,
    role: Role,
    policy: ProcedurePolicy,
    facts: HouseholdFacts | None,
) -> TransitionResult:
    return _to_end_state(
        case,
        request,
        role,
        Action.REJECT,
        CaseState.REJECTED,
        lambda new: CaseRejected(
            case_id=new.id,
            household_id=new.household_id,
            at=request.at,
            procedure=new.procedure,
            from_state=case.state,
        ),
    )


def _propose_elimination(
    case: Case,
    request: TransitionRequest,
    role: Role,
    policy: ProcedurePolicy,
    facts: HouseholdFacts | None,
) -> TransitionResult:
    if facts is not None and facts.open_elimination_case_id is not None:
        raise TransitionRefused(
            Rule.ELIMINATION_IN_PROGRESS,
            f"elimination case {facts.open_elimination_case_id} is still open",
        )
    today = request.at.date()
    enforce_guards(case.monitored_since, facts, policy, today)
    assert facts is not None  # enforce_guards refuses without facts
    proposals = sum(1 for e in case.history if e.action is Action.PROPOSE_ELIMINATION)
    new_id = request.new_case_id or f"{case.id}/elimination/{proposals + 1}"
    note = _clean(request.note)
    opened = Case(
        id=new_id,
        household_id=case.household_id,
        procedure=Procedure.ELIMINATION,
        state=CaseState.SUBMITTED,
        submitted_at=request.at,
        category=case.category,
        risk_types=case.risk_types,
        monitored_since=facts.monitored_since or case.monitored_since,
        parent_case_id=case.id,
        history=(
            HistoryEntry(
                Action.PROPOSE_ELIMINATION,
                None,
                CaseState.SUBMITTED,
                request.by,
                role,
                request.at,
                note,
            ),
        ),
    )
    opened_note = f"elimination case {new_id} opened" + (f"; {note}" if note else "")
    new = _step(case, request, role, case.state, opened_note)
    events = (
        EliminationProposed(
            case_id=case.id,
            household_id=case.household_id,
            at=request.at,
            elimination_case_id=new_id,
        ),
        CaseOpened(
            case_id=new_id,
            household_id=case.household_id,
            at=request.at,
            procedure=Procedure.ELIMINATION,
            state=CaseState.SUBMITTED,
            urgent=False,
            deadline=None,
            parent_case_id=case.id,
        ),
    )
    return TransitionResult(case=new, events=events, opened_case=opened)


def _rollback(
    case: Case,
    request: TransitionRequest,
    role: Role,
    policy: ProcedurePolicy,
    facts: HouseholdFacts | None,
) -> TransitionResult:
    return _to_end_state(
        case,
        request,
        role,
        Action.ROLLBACK,
        CaseState.ROLLED_BACK,
        lambda new: HouseholdRolledBack(
            case_id=new.id, household_id=new.household_id, at=request.at, parent_case_id=new.parent_case_id
        ),
    )


def _clear(
    case: Case,
    request: TransitionRequest,
    role: Role,
    policy: ProcedurePolicy,
    facts: HouseholdFacts | None,
) -> TransitionResult:
    return _to_end_state(
        case,
        request,
        role,
        Action.CLEAR,
        CaseState.CLEARED,
        lambda new: HouseholdCleared(case_id=new.id, household_id=new.household_id, at=request.at),
    )


def _override_exclusion(
    case: Case,
    request: TransitionRequest,
    role: Role,
    policy: ProcedurePolicy,
    facts: HouseholdFacts | None,
) -> TransitionResult:
    """Lift one standing exclusion: a reason and the village-assembly decision (date, minutes
    reference) are required; the exclusion stays on record with its override."""
    standing = case.standing_exclusions
    code = _clean(request.exclusion_code)
    if code is None and len(standing) == 1:
        code = standing[0].code
    target = next((e for e in standing if e.code == code), None)
    if target is None:
        raise TransitionRefused(
            Rule.EXCLUSION_NOT_FOUND,
            f"no standing exclusion {code!r}" if code else f"{len(standing)} standing exclusions: name one",
        )
    reason = _require_reason(request, Action.OVERRIDE_EXCLUSION)
    decision = request.assembly_decision
    if decision is None or not decision.minutes_ref.strip():
        raise TransitionRefused(
            Rule.ASSEMBLY_DECISION_REQUIRED,
            "an override needs the village-assembly decision: its date and minutes reference",
        )
    override = ExclusionOverride(request.by, role, request.at, reason, decision)
    exclusions = tuple(replace(e, override=override) if e is target else e for e in case.exclusions)
    note = (
        f"exclusion {target.code} overridden: assembly decision {decision.minutes_ref} "
        f"of {decision.decided_on}; {reason}"
    )
    new = _step(case, request, role, case.state, note, exclusions=exclusions)
    event = ExclusionOverridden(
        case_id=new.id,
        household_id=new.household_id,
        at=request.at,
        exclusion_code=target.code,
        by=request.by,
        role=role,
        reason=reason,
        assembly_decision=decision,
    )
    return TransitionResult(case=new, events=(event,))


_Handler = Callable[[Case, TransitionRequest, Role, ProcedurePolicy, HouseholdFacts | None], TransitionResult]

_HANDLERS: Mapping[Action, _Handler] = {
    Action.ADVANCE: _advance,
    Action.OBJECT: _object,
    Action.RESOLVE_OBJECTION: _resolve_objection,
    Action.REJECT: _reject,
    Action.PROPOSE_ELIMINATION: _propose_elimination,
    Action.ROLLBACK: _rollback,
    Action.CLEAR: _clear,
    Action.OVERRIDE_EXCLUSION: _override_exclusion,
}


def apply(
    case: Case,
    request: TransitionRequest,
    *,
    policy: ProcedurePolicy,
    facts: HouseholdFacts | None = None,
) -> TransitionResult:
    """Take ``request`` on ``case``: a new case (the old one is untouched) and its events.

    Raises ``TransitionRefused`` with the refusing rule. ``facts`` is needed only by
    ``propose_elimination`` and by the county's approval of an elimination case.
    """
    try:
        action = Action(request.action)
    except ValueError:
        raise TransitionRefused(Rule.STATE_NOT_ALLOWED, f"unknown action {request.action!r}") from None
    handler = _HANDLERS.get(action)
    if (
        handler is None
        or (case.state, action) not in ACTION_ROLES
        or not procedure_allows(case.procedure, case.state, action)
    ):
        raise TransitionRefused(
            Rule.STATE_NOT_ALLOWED,
            f"{action} is not possible on a {case.procedure} case in state {case.state}",
        )
    role = _role(request.role)
    if role not in roles_for(case, action):
        raise TransitionRefused(Rule.ROLE_NOT_ALLOWED, f"role {role} may not {action} in state {case.state}")
    return handler(case, replace(request, action=action), role, policy, facts)


def allowed_actions(
    case: Case,
    role: Role | str,
    *,
    today: dt.date,
    policy: ProcedurePolicy,
    facts: HouseholdFacts | None = None,
) -> list[str]:
    """The actions ``role`` could take on ``case`` today, given complete request fields.

    State, role, timing (notice period, open objections) and the §5 guards are checked; the
    request's own fields (note, reason, investigators) are assumed supplied. Without ``facts``,
    actions that need them (``propose_elimination``, approving an elimination) are not listed.
    """
    try:
        actor = _role(role)
    except TransitionRefused:
        return []
    at = dt.datetime.combine(today, dt.time(12, 0))
    open_ids = [o.id for o in case.open_objections]
    standing = case.standing_exclusions
    allowed: list[str] = []
    for action in TRANSITION_ACTIONS:
        probe = TransitionRequest(
            action=action,
            by="probe",
            role=actor,
            at=at,
            note="probe",
            reason="probe",
            investigators=("probe-1", "probe-2"),
            objection_id=open_ids[0] if open_ids else None,
            exclusion_code=standing[0].code if standing else None,
            assembly_decision=AssemblyDecision(today, "probe"),
        )
        try:
            apply(case, probe, policy=policy, facts=facts)
        except TransitionRefused:
            continue
        allowed.append(str(action))
    return allowed
