"""The domain events a case action produces (the application maps them to outbox events) and
the result of an action."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

from services.identification.domain.case_model import AssemblyDecision, Case
from services.identification.domain.case_vocabulary import Action, CaseState, Procedure, Role

__all__ = [
    "CaseEvent",
    "CaseOpened",
    "CaseRejected",
    "CaseStatusChanged",
    "EliminationProposed",
    "ExclusionOverridden",
    "GreenChannelOpened",
    "HouseholdCleared",
    "HouseholdIdentified",
    "HouseholdRolledBack",
    "ObjectionRaised",
    "ObjectionResolved",
    "RiskEliminated",
    "TransitionResult",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseEvent:
    """Base of the case's domain events. No names, ID numbers or free text (DESIGN.md Events)."""

    event_type: ClassVar[str] = "case.event"
    case_id: str
    household_id: str
    at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseOpened(CaseEvent):
    event_type: ClassVar[str] = "case.opened"
    procedure: Procedure
    state: CaseState
    urgent: bool
    deadline: dt.date | None
    parent_case_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GreenChannelOpened(CaseEvent):
    event_type: ClassVar[str] = "case.green_channel_opened"
    risk_types: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseStatusChanged(CaseEvent):
    event_type: ClassVar[str] = "case.status_changed"
    procedure: Procedure
    action: Action
    from_state: CaseState
    to_state: CaseState
    by: str
    role: Role


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectionRaised(CaseEvent):
    event_type: ClassVar[str] = "case.objection_raised"
    objection_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectionResolved(CaseEvent):
    event_type: ClassVar[str] = "case.objection_resolved"
    objection_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseRejected(CaseEvent):
    event_type: ClassVar[str] = "case.rejected"
    procedure: Procedure
    from_state: CaseState


@dataclass(frozen=True, slots=True, kw_only=True)
class ExclusionOverridden(CaseEvent):
    event_type: ClassVar[str] = "case.exclusion_overridden"
    exclusion_code: str
    by: str
    role: Role
    reason: str
    assembly_decision: AssemblyDecision


@dataclass(frozen=True, slots=True, kw_only=True)
class HouseholdIdentified(CaseEvent):
    event_type: ClassVar[str] = "risk.household_identified"
    category: str | None
    risk_types: tuple[str, ...]
    monitored_since: dt.date
    within_time_limit: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class EliminationProposed(CaseEvent):
    event_type: ClassVar[str] = "risk.elimination_proposed"
    elimination_case_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskEliminated(CaseEvent):
    event_type: ClassVar[str] = "risk.eliminated"
    eliminated_on: dt.date
    parent_case_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class HouseholdRolledBack(CaseEvent):
    event_type: ClassVar[str] = "risk.rolled_back"
    parent_case_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class HouseholdCleared(CaseEvent):
    event_type: ClassVar[str] = "risk.cleared"


@dataclass(frozen=True, slots=True)
class TransitionResult:
    """The new case, the events to write to the outbox, and a case the action opened."""

    case: Case
    events: tuple[CaseEvent, ...] = ()
    opened_case: Case | None = None
