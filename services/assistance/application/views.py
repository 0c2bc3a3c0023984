"""The read models the assistance use cases answer with (frozen dataclasses; #21): plans with
their measures and histories, measures, contact persons (name and phone masked), visits and the
visit schedule, employment records and the 1 + 5 standard, job offers, statistics, the overdue
sweep. Values keep their types (dates, datetimes, int counts); free text, names and phone numbers
are masked here; the routers (`api/bodies.py`) turn them into the JSON of the API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ContactChange",
    "ContactView",
    "EmploymentRecordView",
    "EmploymentStandard",
    "HistoryItem",
    "JobOfferView",
    "MeasureBrief",
    "MeasureCount",
    "MeasureDetail",
    "MeasureView",
    "PersonJobOffers",
    "PlanDetail",
    "PlanPolicy",
    "PlanSummary",
    "RegionCount",
    "SanctionView",
    "ServiceView",
    "Shortfall",
    "StandardRule",
    "Statistics",
    "SweepResult",
    "VillageStandard",
    "VisitCounts",
    "VisitDue",
    "VisitView",
]


@dataclass(frozen=True, slots=True)
class ContactView:
    """A contact person as readers see them: the family name only, the phone masked.
    `households` (plans not closed) is given on the roster and for a new contact only."""

    id: str
    region_code: str
    name: str
    phone: str | None
    unit: str | None
    active: bool
    has_account: bool
    households: int | None = None


@dataclass(frozen=True, slots=True)
class MeasureView:
    """A measure; `allowed_actions` (for the caller) when it was read for someone."""

    id: str
    plan_id: str
    household_id: str
    region_code: str
    type: str
    department: str
    status: str
    origin: str
    rule: str | None
    source: str | None
    reason: str | None
    description: str | None
    outcome: str | None
    drop_reason: str | None
    last_progress_at: dt.datetime | None
    version: int
    allowed_actions: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class MeasureBrief:
    """A measure in a plan list (the DESIGN.md contract fields)."""

    id: str
    type: str
    department: str
    status: str


@dataclass(frozen=True, slots=True)
class PlanSummary:
    """A plan in a list: the contract fields (`id`, `household_id`, `status`, `due_date`,
    `contact_person`, `measures`) and its schedule."""

    id: str
    household_id: str
    region_code: str
    case_id: str | None
    status: str
    origin: str
    opened_on: dt.date
    due_date: dt.date
    drawn_up_on: dt.date | None
    overdue: bool
    contact_person: ContactView | None
    last_visit_on: dt.date | None
    next_visit_due: dt.date | None
    version: int
    measures: tuple[MeasureBrief, ...]


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """A line of a plan's or a measure's history (note masked); `measure_id` on a plan's lines."""

    action: str
    from_status: str | None
    to_status: str | None
    by: str
    role: str
    at: dt.datetime
    note: str | None
    measure_id: str | None = None


@dataclass(frozen=True, slots=True)
class MeasureDetail:
    measure: MeasureView
    history: tuple[HistoryItem, ...]


@dataclass(frozen=True, slots=True)
class ContactChange:
    contact_id: str
    previous_contact_id: str | None
    reason: str | None
    by: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class PlanPolicy:
    """The plan-due parameter a plan was opened under, and where it comes from."""

    plan_due_days: int
    source: str


@dataclass(frozen=True, slots=True)
class PlanDetail:
    """The plan in full: its summary, its measures with their histories, its own history and its
    contact persons; `policy` when read on its own (`GET /plans/{id}`)."""

    plan: PlanSummary
    measures: tuple[MeasureDetail, ...]
    history: tuple[HistoryItem, ...]
    contact_history: tuple[ContactChange, ...]
    policy: PlanPolicy | None = None


@dataclass(frozen=True, slots=True)
class VisitView:
    id: str
    plan_id: str
    household_id: str
    region_code: str
    contact_id: str | None
    visited_on: dt.date
    mode: str
    findings: str
    income: dict[str, str] | None
    attachments: list[str]


@dataclass(frozen=True, slots=True)
class VisitDue:
    """A plan's next visit on the schedule."""

    plan_id: str
    household_id: str
    region_code: str
    contact_id: str | None
    plan_status: str
    last_visit_on: dt.date | None
    due_date: dt.date
    overdue: bool
    days_overdue: int


@dataclass(frozen=True, slots=True)
class ServiceView:
    """An employment service given; `id` as the API shows it (a string)."""

    id: str
    kind: str
    provided_on: dt.date
    detail: str | None


@dataclass(frozen=True, slots=True)
class EmploymentRecordView:
    id: str
    person_ref: str
    household_id: str
    region_code: str
    survey: dict[str, Any]
    services: tuple[ServiceView, ...]


@dataclass(frozen=True, slots=True)
class StandardRule:
    min_guidance_or_training: int
    min_job_recommendations: int


@dataclass(frozen=True, slots=True)
class Shortfall:
    record_id: str
    person_ref: str
    guidance_or_training: int
    job_recommendations: int
    missing: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VillageStandard:
    region_code: str
    laborers: int
    meeting_standard: int
    standard: StandardRule
    short: tuple[Shortfall, ...]


@dataclass(frozen=True, slots=True)
class EmploymentStandard:
    region: str
    as_of: dt.date
    source: str
    villages: tuple[VillageStandard, ...]


@dataclass(frozen=True, slots=True)
class JobOfferView:
    """A job-post recommendation and what became of it (None while not recorded)."""

    id: str
    provided_on: dt.date
    outcome: str | None
    valid_reason: bool | None
    note: str | None


@dataclass(frozen=True, slots=True)
class SanctionView:
    refusals: int
    recommendation_ids: tuple[str, ...]
    event_id: str
    decided_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PersonJobOffers:
    """A person's job recommendations, the refusals in a row, the policy's count and the sanction."""

    record_id: str
    person_ref: str
    household_id: str
    recommendations: tuple[JobOfferView, ...]
    refusals_in_a_row: int
    refusals_before_sanction: int
    sanction: SanctionView | None


@dataclass(frozen=True, slots=True)
class RegionCount:
    region_code: str
    count: int


@dataclass(frozen=True, slots=True)
class MeasureCount:
    type: str
    department: str
    status: str
    count: int


@dataclass(frozen=True, slots=True)
class VisitCounts:
    """Visits due (next 30 days), done (this month) and overdue for a village or a contact person."""

    key: str | None  # the village code, or the contact id (None: plans without a contact)
    due: int
    done: int
    overdue: int


@dataclass(frozen=True, slots=True)
class Statistics:
    region: str
    as_of: dt.date
    visits_done_since: dt.date
    visits_due_until: dt.date
    households_without_plan: tuple[RegionCount, ...]
    plans_overdue: tuple[RegionCount, ...]
    measures: tuple[MeasureCount, ...]
    visits_by_village: tuple[VisitCounts, ...]
    visits_by_contact: tuple[VisitCounts, ...]

    @property
    def households_without_plan_total(self) -> int:
        return sum(r.count for r in self.households_without_plan)


@dataclass(frozen=True, slots=True)
class SweepResult:
    """How many events of each kind one pass of the overdue sweep published."""

    plan_overdue: int = 0
    measure_stalled: int = 0
    visit_overdue: int = 0

    @property
    def published(self) -> int:
        return self.plan_overdue + self.measure_stalled + self.visit_overdue
