"""Payloads assistance produces: plans, measures and visits (`assistance.*`, docs/assistance.md,
docs/events.md) and the refused-offers sanction (`employment.offers_refused`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from shared.contracts._registry import contract, wire

__all__ = [
    "IncomeUpdated",
    "MeasureReferred",
    "MeasureStalled",
    "MeasureStatusChanged",
    "OffersRefused",
    "PlacementRecorded",
    "PlanClosed",
    "PlanCompleted",
    "PlanCreated",
    "PlanDrawnUp",
    "PlanMeasure",
    "PlanOverdue",
    "PlanReopened",
    "PostWageRecorded",
    "VisitCancelled",
    "VisitIncome",
    "VisitOverdue",
    "VisitRecorded",
    "VisitScheduled",
]

_frozen = dataclass(frozen=True, slots=True, kw_only=True)


@_frozen
class _Plan:
    plan_id: str
    household_id: str
    region_code: str  # the household's village (12 digits)


@_frozen
class PlanMeasure:
    id: str
    type: str
    department: str


@contract("assistance", "plan_created")
@_frozen
class PlanCreated(_Plan):
    case_id: str | None
    origin: str  # identified | green_channel
    due_date: dt.date  # the plan must be drawn up by then (10 days)
    contact_id: str | None
    contact_person_sub_hash: str | None
    measures: list[PlanMeasure]  # recommended, each `proposed`


@contract("assistance", "plan_drawn_up")
@_frozen
class PlanDrawnUp(_Plan):
    drawn_up_on: dt.date  # the day the first measure was accepted
    due_date: dt.date


@contract("assistance", "plan_overdue")
@_frozen
class PlanOverdue(_Plan):
    due_date: dt.date
    days_overdue: int
    contact_id: str | None
    contact_person_sub_hash: str | None


@contract("assistance", "plan_completed")
@_frozen
class PlanCompleted(_Plan):
    measures_closed: int
    measures_dropped: int


@contract("assistance", "plan_closed")
@_frozen
class PlanClosed(_Plan):
    reason: str  # eliminated | cleared


@contract("assistance", "plan_reopened")
@_frozen
class PlanReopened(_Plan):
    pass


@_frozen
class _Measure(_Plan):
    measure_id: str
    type: str
    department: str


@contract("assistance", "measure_status_changed")
@_frozen
class MeasureStatusChanged(_Measure):
    from_: str | None = wire("from")  # null: the measure was just added
    to: str  # proposed | accepted | referred | in_progress | closed | dropped
    on: dt.date


@contract("assistance", "measure_referred")
@_frozen
class MeasureReferred(_Measure):
    pass


@contract("assistance", "measure_stalled")
@_frozen
class MeasureStalled(_Measure):
    status: str
    last_progress_on: dt.date
    days_without_progress: int


@_frozen
class _Visit(_Plan):
    visit_id: str


@contract("assistance", "visit_scheduled")
@_frozen
class VisitScheduled(_Visit):
    due_date: dt.date
    contact_id: str | None
    contact_person_sub_hash: str | None


@contract("assistance", "visit_recorded")
@_frozen
class VisitRecorded(_Visit):
    visited_on: dt.date
    mode: str
    contact_id: str | None
    next_visit_due: dt.date


@contract("assistance", "visit_cancelled")
@_frozen
class VisitCancelled(_Visit):
    reason: str


@contract("assistance", "visit_overdue")
@_frozen
class VisitOverdue(_Visit):
    due_date: dt.date
    days_overdue: int
    contact_id: str | None
    contact_person_sub_hash: str | None


@_frozen
class VisitIncome:
    """Income found on a visit, yuan a year, by kind (DOMAIN.md §2); kinds not found are absent."""

    wage: Decimal | None = None
    business: Decimal | None = None
    property: Decimal | None = None
    transfer: Decimal | None = None
    insurance_claims: Decimal | None = None
    exempt: Decimal | None = None


@contract("assistance", "income_updated")
@_frozen
class IncomeUpdated(VisitIncome):
    """The visit's income in `income`, each kind also copied at the top level (older readers)."""

    household_id: str
    visit_id: str
    plan_id: str
    region_code: str
    visited_on: dt.date
    income: VisitIncome


@contract("assistance", "placement_recorded")
@_frozen
class PlacementRecorded:
    """A job placement (transport allowance, docs/subsidy.md); `person_ref` is opaque."""

    person_ref: str
    household_id: str
    region_code: str
    work_location: str
    contract_months: int
    social_insurance: bool
    epidemic_period: bool
    stable_months: int
    age: int
    placed_on: dt.date


@contract("assistance", "post_wage_recorded")
@_frozen
class PostWageRecorded:
    person_ref: str
    household_id: str
    region_code: str
    annual_wage: Decimal
    year: int


@contract("employment", "offers_refused")
@_frozen
class OffersRefused:
    """A member refused the offers the rule counts without a valid reason (the negative list)."""

    household_id: str
    region_code: str
    person_ref: str
    refusals: int
    recommendation_ids: list[str]
    decided_at: dt.datetime
    rule: str
    source: str  # the policy clause
