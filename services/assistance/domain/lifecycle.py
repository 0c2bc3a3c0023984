"""Measure and plan lifecycles. A measure goes proposed → accepted (受理) → referred (转办) →
in_progress → closed (办结, with an outcome), or is dropped (with a reason) on the way (003
§二: 受理—转办—办结). A plan is open, completed when every measure is done, closed when the risk
is eliminated, and reopened by a rollback (DOMAIN.md §5)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from .errors import RuleViolation

__all__ = [
    "TERMINAL_MEASURE_STATES",
    "ActorKind",
    "MeasureAction",
    "MeasureState",
    "PlanStatus",
    "allowed_measure_actions",
    "ensure_plan_editable",
    "plan_status_after_measures",
    "plan_status_on_elimination",
    "plan_status_on_rollback",
    "transition_measure",
]

_SOURCE = "003 §二: 受理—转办—办结"


class MeasureState(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"  # 受理
    REFERRED = "referred"  # 转办
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"  # 办结
    DROPPED = "dropped"


class MeasureAction(StrEnum):
    ACCEPT = "accept"
    REFER = "refer"
    START = "start"
    CLOSE = "close"
    DROP = "drop"


class ActorKind(StrEnum):
    OFFICER = "officer"
    DEPARTMENT = "department"  # the measure's lead department (dept claim = measure.department)


class PlanStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CLOSED = "closed"


TERMINAL_MEASURE_STATES = frozenset({MeasureState.CLOSED, MeasureState.DROPPED})

_S = MeasureState
_A = MeasureAction
_MOVES: dict[tuple[MeasureState, MeasureAction], MeasureState] = {
    (_S.PROPOSED, _A.ACCEPT): _S.ACCEPTED,
    (_S.ACCEPTED, _A.REFER): _S.REFERRED,
    (_S.ACCEPTED, _A.START): _S.IN_PROGRESS,  # handled by the village itself, no referral
    (_S.REFERRED, _A.START): _S.IN_PROGRESS,  # the department acknowledges
    (_S.IN_PROGRESS, _A.CLOSE): _S.CLOSED,
    **{(s, _A.DROP): _S.DROPPED for s in (_S.PROPOSED, _S.ACCEPTED, _S.REFERRED, _S.IN_PROGRESS)},
}
#: What a department may do: acknowledge a referral and report back (no accepting or dropping).
_DEPARTMENT_MOVES = frozenset({(_S.REFERRED, _A.START), (_S.IN_PROGRESS, _A.CLOSE)})


def allowed_measure_actions(state: MeasureState, actor: ActorKind) -> list[MeasureAction]:
    return [a for (s, a) in _MOVES if s is state and (actor is ActorKind.OFFICER or (s, a) in _DEPARTMENT_MOVES)]


def transition_measure(
    state: MeasureState,
    action: MeasureAction,
    *,
    actor: ActorKind,
    outcome: str | None = None,
    reason: str | None = None,
) -> MeasureState:
    """The next state, or RuleViolation: `state_not_allowed`, `role_not_allowed`,
    `outcome_required` (closing needs the outcome), `reason_required` (dropping needs a reason)."""
    target = _MOVES.get((state, action))
    if target is None:
        raise RuleViolation("state_not_allowed", f"a {state} measure cannot {action}", _SOURCE)
    if actor is ActorKind.DEPARTMENT and (state, action) not in _DEPARTMENT_MOVES:
        raise RuleViolation("role_not_allowed", f"a department cannot {action} a {state} measure", _SOURCE)
    if action is MeasureAction.CLOSE and not (outcome and outcome.strip()):
        raise RuleViolation("outcome_required", "closing a measure (办结) records its outcome", _SOURCE)
    if action is MeasureAction.DROP and not (reason and reason.strip()):
        raise RuleViolation("reason_required", "dropping a measure needs a reason", _SOURCE)
    return target


def plan_status_after_measures(status: PlanStatus, states: Iterable[MeasureState]) -> PlanStatus:
    """Completed when every measure is closed or dropped and at least one was closed; an open
    measure (e.g. one added later) makes a completed plan open again. Closed plans stay closed."""
    if status is PlanStatus.CLOSED:
        return status
    states = list(states)
    done = bool(states) and all(s in TERMINAL_MEASURE_STATES for s in states) and MeasureState.CLOSED in states
    return PlanStatus.COMPLETED if done else PlanStatus.OPEN


def plan_status_on_elimination(status: PlanStatus) -> PlanStatus:
    """风险消除 closes the plan (kept, not deleted: the household is still revisited)."""
    return PlanStatus.CLOSED


def plan_status_on_rollback(status: PlanStatus) -> PlanStatus:
    """回退 reopens the plan: the household is monitored again (DOMAIN.md §5)."""
    return PlanStatus.OPEN


def ensure_plan_editable(status: PlanStatus) -> None:
    if status is PlanStatus.CLOSED:
        raise RuleViolation(
            "plan_closed",
            "the plan was closed when the risk was eliminated; a rollback reopens it",
            "002 篇九 §四",
        )
