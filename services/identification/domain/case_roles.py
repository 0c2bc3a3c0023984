"""Who may take which action in which state (DOMAIN.md §3; the table is in domain/cases.py),
and where `advance` leads."""

from __future__ import annotations

from collections.abc import Mapping

from services.identification.domain.case_model import Case
from services.identification.domain.case_vocabulary import STEPS, Action, CaseState, Procedure, Role

__all__ = [
    "ACTION_ROLES",
    "GREEN_CHANNEL_CATEGORY",
    "GREEN_CHANNEL_RISK_TYPES",
    "OPEN_ROLES",
    "OVERRIDE_ROLES",
    "REVIEW_STATES",
    "TRANSITION_ACTIONS",
    "next_state",
    "procedure_allows",
    "roles_for",
]

REVIEW_STATES = frozenset({CaseState.VILLAGE_REVIEW, CaseState.TOWNSHIP_REVIEW, CaseState.COUNTY_REVIEW})
_OFFICERS = frozenset({Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY, Role.PROVINCE})

_STEP_ROLES: Mapping[CaseState, frozenset[Role]] = {
    CaseState.SUBMITTED: frozenset({Role.VILLAGE, Role.TOWNSHIP}),
    CaseState.VERIFICATION: frozenset({Role.VILLAGE, Role.TOWNSHIP}),
    CaseState.VILLAGE_REVIEW: frozenset({Role.VILLAGE}),
    CaseState.PUBLIC_NOTICE: frozenset({Role.VILLAGE}),
    CaseState.TOWNSHIP_REVIEW: frozenset({Role.TOWNSHIP}),
    CaseState.COUNTY_REVIEW: frozenset({Role.COUNTY}),
}

#: (state, action) → the roles (besides ``admin``) that may take it; absent = state refuses.
ACTION_ROLES: Mapping[tuple[CaseState, Action], frozenset[Role]] = {
    **{(state, Action.ADVANCE): roles for state, roles in _STEP_ROLES.items()},
    **{(state, Action.REJECT): roles for state, roles in _STEP_ROLES.items()},
    (CaseState.PUBLIC_NOTICE, Action.OBJECT): _OFFICERS,
    (CaseState.PUBLIC_NOTICE, Action.RESOLVE_OBJECTION): frozenset({Role.VILLAGE, Role.TOWNSHIP}),
    (CaseState.MONITORED, Action.PROPOSE_ELIMINATION): frozenset({Role.VILLAGE}),
    (CaseState.MONITORED, Action.CLEAR): frozenset({Role.PROVINCE}),
    (CaseState.ELIMINATED, Action.ROLLBACK): frozenset({Role.PROVINCE}),
    (CaseState.ELIMINATED, Action.CLEAR): frozenset({Role.PROVINCE}),
    **{(state, Action.OVERRIDE_EXCLUSION): frozenset({Role.COUNTY, Role.PROVINCE}) for state in _STEP_ROLES},
}

#: Who may lift a negative-list exclusion on a recorded village-assembly decision (besides admin).
OVERRIDE_ROLES = frozenset({Role.COUNTY, Role.PROVINCE})

#: Roles that may open an identification case (self-application or officer/platform discovery).
OPEN_ROLES = frozenset({Role.CITIZEN, Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY, Role.PROVINCE, Role.ADMIN})

#: Risk types (and the category) that qualify for the green channel (002 篇二 §(一)5).
GREEN_CHANNEL_RISK_TYPES = frozenset({"illness", "disaster", "natural_disaster", "accident"})
GREEN_CHANNEL_CATEGORY = "sudden_hardship"

#: Actions a caller may send to ``apply``, in the order ``allowed_actions`` lists them.
TRANSITION_ACTIONS: tuple[Action, ...] = (
    Action.ADVANCE,
    Action.OBJECT,
    Action.RESOLVE_OBJECTION,
    Action.REJECT,
    Action.PROPOSE_ELIMINATION,
    Action.ROLLBACK,
    Action.CLEAR,
    Action.OVERRIDE_EXCLUSION,
)


def procedure_allows(procedure: Procedure, state: CaseState, action: Action) -> bool:
    """Proposing elimination starts from the identification case; rollback undoes an
    elimination; clear-out (wrongly identified) ends either case — a monitored household's
    identification case or an eliminated household's elimination case (DESIGN.md: "a monitored
    or eliminated household may later be rolled_back or cleared")."""
    if action is Action.PROPOSE_ELIMINATION:
        return procedure is Procedure.IDENTIFICATION
    if action is Action.CLEAR:
        return (procedure, state) in (
            (Procedure.IDENTIFICATION, CaseState.MONITORED),
            (Procedure.ELIMINATION, CaseState.ELIMINATED),
        )
    if action is Action.ROLLBACK:
        return procedure is Procedure.ELIMINATION
    if action is Action.OVERRIDE_EXCLUSION:
        return procedure is Procedure.IDENTIFICATION
    return True


def next_state(procedure: Procedure, state: CaseState) -> CaseState | None:
    """The state ``advance`` leads to, or None at an end."""
    if state not in STEPS:
        return None
    index = STEPS.index(state)
    if index + 1 < len(STEPS):
        return STEPS[index + 1]
    return CaseState.MONITORED if procedure is Procedure.IDENTIFICATION else CaseState.ELIMINATED


def roles_for(case: Case, action: Action) -> frozenset[Role]:
    """Who may take ``action`` on ``case`` in its current state (``admin`` included)."""
    if not procedure_allows(case.procedure, case.state, action):
        return frozenset()
    roles = ACTION_ROLES.get((case.state, action))
    if roles is None:
        return frozenset()
    return roles | {Role.ADMIN}
