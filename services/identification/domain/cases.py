"""The monitoring-case state machine (监测对象识别 / 风险消除程序): steps, who may take them, the
guards of DOMAIN.md §3 and §5, deadlines, history and domain events. Pure: no I/O, no clock.

A case is one run of a procedure for one household::

    identification: submitted → verification → village_review → public_notice
                    → township_review → county_review → monitored
    elimination:    submitted (village proposal) → verification → village_review
                    → public_notice → township_review → county_review → eliminated
    any open step   --reject(reason)--> rejected
    monitored (identification case) --propose_elimination--> opens a new elimination case
    monitored (identification case) --clear--> cleared        (清退, provincial approval)
    eliminated (elimination case)   --rollback--> rolled_back (回退, provincial approval)

Household status is derived by the application layer from its cases: an identification case
stays ``monitored`` ("identification done") while its elimination cases run; an ``eliminated``
elimination case means the household's risk is eliminated; ``rolled_back`` puts the household
back under monitoring (its identification case is still ``monitored``, so a later
``propose_elimination`` starts from there); ``cleared`` removes it. Proposing elimination again
while one is running is refused through ``HouseholdFacts.open_elimination_case_id``.

Who may act (``admin`` may do everything; ``contact``, ``department`` and ``citizen`` may not
transition a case)::

    state            advance            reject             object                   resolve_objection
    submitted        village, township  village, township  -                        -
    verification     village, township  village, township  -                        -
    village_review   village            village            -                        -
    public_notice    village            village            village, township,       village, township
                                                           county, province
    township_review  township           township           -                        -
    county_review    county             county             -                        -
    monitored        propose_elimination: village; clear: province
    eliminated       rollback: province
    any open step    override_exclusion (identification): county, province

Negative list: the exclusions found at opening (``CaseExclusion``) stay on the case; the county's
approval to ``monitored`` is refused (``exclusion_standing``) while one stands, until
``override_exclusion`` records a reason and the village-assembly decision for it.

Objections come from villagers. A citizen's token only sees their own applications (DESIGN.md,
scope), so a villager objecting to a neighbour's case cannot reach it through the API; the
village officer records the objection on the villager's behalf, and any officer level may
record one it received. Opening an identification case (``open_case``) is allowed to a citizen
(self-application), village, township, county and province officers (screening, big-data
warnings) and admin.

Refusals raise ``TransitionRefused`` with a stable ``rule`` code and the source clause. Checks
run in this order, so the reported rule is deterministic: state → role → the request's fields
(investigators, note, reason, objection) → timing (notice period, open objections) → §5 guards.

Times: ``at`` is an aware datetime in local (China Standard) time; all rules use ``at.date()``.
Public notice: the day it is posted is day 1 of ``notice_days`` calendar days; the notice
has run at the end of its last day, so advancing is allowed from the next day (a 5-day notice
posted on the 1st may advance on the 6th, not the 5th).

This module is the procedure's one public name; the parts live beside it: ``case_vocabulary``
(states, actions, roles, rules), ``case_policy``, ``case_model`` (the case, requests, facts),
``case_events``, ``case_roles`` (who may act), ``case_deadlines``, ``elimination_guards`` (the §5
guards) and ``case_transitions`` (``open_case``, ``apply``, ``allowed_actions``).
"""

from __future__ import annotations

from services.identification.domain.case_deadlines import (
    identification_deadline,
    is_overdue,
    overdue_on,
)
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
from services.identification.domain.case_policy import (
    ProcedurePolicy,
)
from services.identification.domain.case_roles import (
    ACTION_ROLES,
    GREEN_CHANNEL_RISK_TYPES,
    OPEN_ROLES,
    OVERRIDE_ROLES,
    next_state,
    roles_for,
)
from services.identification.domain.case_transitions import (
    allowed_actions,
    apply,
    open_case,
)
from services.identification.domain.case_vocabulary import (
    RULE_SOURCES,
    Action,
    CaseState,
    Procedure,
    Role,
    Rule,
    TransitionRefused,
)
from services.identification.domain.elimination_guards import (
    GuardOutcome,
    elimination_guards,
)

__all__ = [
    "ACTION_ROLES",
    "GREEN_CHANNEL_RISK_TYPES",
    "OPEN_ROLES",
    "OVERRIDE_ROLES",
    "RULE_SOURCES",
    "Action",
    "AssemblyDecision",
    "Case",
    "CaseEvent",
    "CaseExclusion",
    "CaseOpened",
    "CaseRejected",
    "CaseState",
    "CaseStatusChanged",
    "EliminationProposed",
    "ExclusionOverridden",
    "ExclusionOverride",
    "GreenChannelOpened",
    "GuardOutcome",
    "HistoryEntry",
    "HouseholdCleared",
    "HouseholdFacts",
    "HouseholdIdentified",
    "HouseholdRolledBack",
    "Objection",
    "ObjectionRaised",
    "ObjectionResolved",
    "Procedure",
    "ProcedurePolicy",
    "RiskEliminated",
    "Role",
    "Rule",
    "TransitionRefused",
    "TransitionRequest",
    "TransitionResult",
    "allowed_actions",
    "apply",
    "elimination_guards",
    "identification_deadline",
    "is_overdue",
    "next_state",
    "open_case",
    "overdue_on",
    "roles_for",
]
