"""Measure lifecycle (受理—转办—办结, 003 §二) and plan lifecycle, table-tested."""

from __future__ import annotations

import pytest

from services.assistance.domain.errors import RuleViolation
from services.assistance.domain.lifecycle import (
    ActorKind,
    MeasureAction,
    MeasureState,
    PlanStatus,
    allowed_measure_actions,
    ensure_plan_editable,
    plan_status_after_measures,
    plan_status_on_elimination,
    plan_status_on_rollback,
    transition_measure,
)

OF, D = ActorKind.OFFICER, ActorKind.DEPARTMENT

MOVES = [
    ("officer-accepts-proposed", "proposed", "accept", OF, {}, "accepted"),
    ("officer-refers-accepted", "accepted", "refer", OF, {}, "referred"),
    ("officer-starts-accepted-without-referral", "accepted", "start", OF, {}, "in_progress"),
    ("department-acknowledges-referral", "referred", "start", D, {}, "in_progress"),
    ("department-reports-back-with-outcome", "in_progress", "close", D, {"outcome": "已纳入低保"}, "closed"),
    ("officer-drops-with-reason", "proposed", "drop", OF, {"reason": "重复"}, "dropped"),
    ("officer-drops-in-progress", "in_progress", "drop", OF, {"reason": "户主拒绝"}, "dropped"),
]


@pytest.mark.parametrize(
    ("state", "action", "actor", "kw", "expected"), [m[1:] for m in MOVES], ids=[m[0] for m in MOVES]
)
def test_allowed_moves(state: str, action: str, actor: ActorKind, kw: dict[str, str], expected: str) -> None:
    assert transition_measure(MeasureState(state), MeasureAction(action), actor=actor, **kw) is MeasureState(expected)


REFUSALS = [
    ("cannot-refer-proposed", "proposed", "refer", OF, {}, "state_not_allowed"),
    ("cannot-close-accepted", "accepted", "close", OF, {"outcome": "x"}, "state_not_allowed"),
    ("closed-is-final", "closed", "drop", OF, {"reason": "x"}, "state_not_allowed"),
    ("dropped-is-final", "dropped", "accept", OF, {}, "state_not_allowed"),
    ("close-needs-outcome", "in_progress", "close", OF, {}, "outcome_required"),
    ("close-blank-outcome", "in_progress", "close", OF, {"outcome": "  "}, "outcome_required"),
    ("drop-needs-reason", "accepted", "drop", OF, {}, "reason_required"),
    ("department-cannot-accept", "proposed", "accept", D, {}, "role_not_allowed"),
    ("department-cannot-drop", "referred", "drop", D, {"reason": "x"}, "role_not_allowed"),
    ("department-cannot-start-unreferred", "accepted", "start", D, {}, "role_not_allowed"),
]


@pytest.mark.parametrize(
    ("state", "action", "actor", "kw", "code"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_refusals(state: str, action: str, actor: ActorKind, kw: dict[str, str], code: str) -> None:
    with pytest.raises(RuleViolation) as err:
        transition_measure(MeasureState(state), MeasureAction(action), actor=actor, **kw)
    assert err.value.code == code
    assert err.value.source


def test_allowed_actions_by_actor() -> None:
    assert allowed_measure_actions(MeasureState.REFERRED, D) == [MeasureAction.START]
    assert set(allowed_measure_actions(MeasureState.ACCEPTED, OF)) == {
        MeasureAction.REFER,
        MeasureAction.START,
        MeasureAction.DROP,
    }
    assert allowed_measure_actions(MeasureState.CLOSED, OF) == []


S = MeasureState
PLAN = [
    ("all-closed-completes", "open", [S.CLOSED, S.CLOSED], "completed"),
    ("closed-and-dropped-completes", "open", [S.CLOSED, S.DROPPED], "completed"),
    ("all-dropped-stays-open", "open", [S.DROPPED], "open"),
    ("one-in-progress-stays-open", "open", [S.CLOSED, S.IN_PROGRESS], "open"),
    ("no-measures-stays-open", "open", [], "open"),
    ("new-measure-reopens-completed", "completed", [S.CLOSED, S.PROPOSED], "open"),
    ("closed-plan-stays-closed", "closed", [S.CLOSED], "closed"),
]


@pytest.mark.parametrize(("status", "states", "expected"), [p[1:] for p in PLAN], ids=[p[0] for p in PLAN])
def test_plan_status_after_measures(status: str, states: list[MeasureState], expected: str) -> None:
    assert plan_status_after_measures(PlanStatus(status), states) is PlanStatus(expected)


def test_elimination_closes_and_rollback_reopens() -> None:
    assert plan_status_on_elimination(PlanStatus.OPEN) is PlanStatus.CLOSED
    assert plan_status_on_elimination(PlanStatus.COMPLETED) is PlanStatus.CLOSED
    assert plan_status_on_rollback(PlanStatus.CLOSED) is PlanStatus.OPEN
    with pytest.raises(RuleViolation) as err:
        ensure_plan_editable(PlanStatus.CLOSED)
    assert err.value.code == "plan_closed"
    ensure_plan_editable(PlanStatus.COMPLETED)
