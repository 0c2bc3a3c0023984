"""Payloads identification produces: applications and cases (`application.*`, `case.*`), the
household's monitoring (`household.*`, `risk.*`), signal leads, the low-income side
(`low_income.*`, docs/civil-affairs.md) and the DCI exchange's own work items (`dci.*`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from shared.contracts._registry import contract, wire

__all__ = [
    "ApplicationSubmitted",
    "CaseEvent",
    "CaseExclusionOverridden",
    "CaseObjection",
    "CaseStatusChanged",
    "ComparisonCompared",
    "ComparisonOverdue",
    "ComparisonReceived",
    "DciCallbackQueued",
    "DciSearchRequested",
    "DuplicateFound",
    "DuplicateResolved",
    "HouseholdIdentified",
    "JointScreeningFinished",
    "JointScreeningStarted",
    "LeadResolved",
    "LowIncomeComparison",
    "PolicyRef",
    "RiskEliminated",
    "RiskWarning",
    "ScaleFlagged",
    "WarningExplanation",
]

_frozen = dataclass(frozen=True, slots=True, kw_only=True)
Warning = Literal["red", "orange", "yellow"]


@contract("application", "submitted")
@_frozen
class ApplicationSubmitted:
    application_id: str
    case_id: str
    household_id: str
    region_code: str
    category: str | None
    risk_types: list[str]
    urgent: bool  # green channel (绿色通道): assistance opens a plan at once
    deadline: dt.date | None
    submitted_by_role: str
    applicant_sub_hash: str  # blind index of the submitter's token subject (docs/events.md)
    at: dt.datetime


@_frozen
class CaseEvent:
    """What every case-derived event carries (`case_event_data`): the case as it now stands and
    the household's labour figures — no names, ID numbers or free text."""

    case_id: str
    household_id: str
    region_code: str
    procedure: str  # identification | elimination
    state: str
    category: str | None
    risk_types: list[str]
    urgent: bool
    deadline: dt.date | None
    parent_case_id: str | None
    version: int
    has_labor_capacity: bool
    able_bodied_members: int
    members: int
    at: dt.datetime


@contract("case", "status_changed")
@_frozen
class CaseStatusChanged(CaseEvent):
    action: str
    from_: str | None = wire("from")  # null: the case was just opened
    to: str
    role: str
    application_id: str | None = None  # the application that opened the case
    notice_ends_on: dt.date | None = None  # set when `to` is public_notice


@contract("case", "exclusion_overridden")
@_frozen
class CaseExclusionOverridden(CaseEvent):
    exclusion_code: str
    role: str


@_frozen
class CaseObjection(CaseEvent):
    objection_id: str


contract("case", "objection_raised")(CaseObjection)
contract("case", "objection_resolved")(CaseObjection)


@contract("household", "identified")
@_frozen
class HouseholdIdentified(CaseEvent):
    monitored_since: dt.date
    within_time_limit: bool


@contract("risk", "eliminated")
@_frozen
class RiskEliminated(CaseEvent):
    eliminated_on: dt.date


contract("risk", "rolled_back")(CaseEvent)
contract("risk", "cleared")(CaseEvent)


@contract("risk", "scale_flagged")
@_frozen
class ScaleFlagged:
    """A village over the share of non-eliminated monitored households (规模性返贫风险)."""

    region_code: str
    village_population: int
    non_eliminated_monitored: int
    share: Decimal
    threshold: Decimal
    rule: str
    source: str
    at: dt.datetime


@_frozen
class PolicyRef:
    id: str
    version: str


@_frozen
class WarningExplanation:
    rule: str
    source: str
    detail: str


@_frozen
class RiskWarning:
    """`risk.warning_raised` / `warning_cleared`: a household's warning colour changed. Four
    producers fill it: signals (`signal_kinds`, `source_depts`, `signals`), a visit's income
    (`trigger` income_updated, with the re-assessment), a county officer's red mark (`manual`),
    and the screening run (`screening_job_id`, `household_number`, `as_of`, no `region_code`)."""

    household_id: str
    warning: Warning | None  # null: no warning any more (cleared)
    previous_warning: Warning | None
    region_code: str | None = None
    risk_types: list[str] | None = None
    category: str | None = None
    low_income_category: str | None = None
    per_capita_income: Decimal | None = None
    has_labor_capacity: bool | None = None
    case_id: str | None = None
    signal_kinds: list[str] | None = None
    source_depts: list[str] | None = None
    signals: int | None = None
    trigger: str | None = None
    visit_id: str | None = None
    rules: list[str] | None = None
    explanations: list[WarningExplanation] | None = None
    policy: PolicyRef | None = None
    manual: bool | None = None
    marked_by_role: str | None = None
    household_number: str | None = None  # the household's register number, not a person's
    as_of: dt.date | None = None
    screening_job_id: str | None = None
    at: dt.datetime | None = None


contract("risk", "warning_raised")(RiskWarning)
contract("risk", "warning_cleared")(RiskWarning)


@contract("signal", "lead_resolved")
@_frozen
class LeadResolved:
    lead_id: str
    signal_id: str | None
    signal_ids: list[str]
    source_dept: str
    kind: str
    region_code: str
    outcome: str  # matched | dismissed
    household_id: str | None
    case_id: str | None
    warning: Warning | None
    resolved_by_role: str
    source_sub_hashes: list[str]  # blind indexes of the department accounts that sent the signals
    at: dt.datetime


@_frozen
class _Duplicate:
    duplicate_id: str
    match: str
    household_id: str
    region_code: str
    other_household_id: str | None
    other_region_code: str | None
    resolve_region: str | None
    origin: str
    refused: bool
    status: str
    at: dt.datetime


@contract("household", "duplicate_found")
@_frozen
class DuplicateFound(_Duplicate):
    pass


@contract("household", "duplicate_resolved")
@_frozen
class DuplicateResolved(_Duplicate):
    resolution: str
    split_household_id: str | None
    changed_household_ids: list[str]


@_frozen
class _JointScreening:
    county: str  # 6 digits
    period: str  # YYYY-H1 / YYYY-H2
    job_id: str


@contract("low_income", "joint_screening_started")
@_frozen
class JointScreeningStarted(_JointScreening):
    households: int
    as_of: dt.date


@_frozen
class JointScreeningFinished(_JointScreening):
    result: dict[str, Any] | None  # counts by category and warning, `in_both`; null when it failed


contract("low_income", "joint_screening_completed")(JointScreeningFinished)
contract("low_income", "joint_screening_failed")(JointScreeningFinished)


@_frozen
class LowIncomeComparison:
    county: str
    month: str  # YYYY-MM
    department: str


@contract("low_income", "comparison_received")
@_frozen
class ComparisonReceived(LowIncomeComparison):
    via: Literal["signals", "file"]
    state: str


@contract("low_income", "comparison_compared")
@_frozen
class ComparisonCompared(LowIncomeComparison):
    result: dict[str, Any]  # new signals, households flagged, …, `late`


@contract("low_income", "comparison_overdue")
@_frozen
class ComparisonOverdue(LowIncomeComparison):
    due_on: dt.date
    state_before: str


@contract("dci", "search_requested")
@_frozen
class DciSearchRequested:
    """An async DCI search to answer (the service's own work queue)."""

    correlation_id: str
    sender_id: str


@contract("dci", "callback_queued")
@_frozen
class DciCallbackQueued:
    """A signed message to a partner, queued (the service's own work queue)."""

    outbound_id: str
    action: str
