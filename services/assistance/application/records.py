"""What the assistance use cases read and write, as plain records: one per stored row (a plan, a
measure, a contact person, …), so that the use cases and their fakes never see a database row."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = [
    "Assignment",
    "Contact",
    "EmploymentRecord",
    "EmploymentService",
    "HistoryEntry",
    "Household",
    "Measure",
    "OfferOutcomeRecord",
    "Placement",
    "Plan",
    "PostWage",
    "SanctionRecord",
    "Visit",
]


@dataclass(frozen=True, slots=True)
class Household:
    """What identification told us about a household (its assistance file, 一户一档)."""

    id: str
    region_code: str
    case_id: str | None
    category: str | None
    risk_types: list[str]
    has_labor_capacity: bool
    labor_capable_members: int | None
    self_farming: bool
    #: monitored | eliminated | stable | pending (green channel, not yet identified) | cleared
    monitoring_status: str
    identified_on: dt.date | None
    eliminated_on: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Plan:
    """The household's plan (一户一方案); `active_key` is the household id while not closed."""

    id: str
    household_id: str
    region_code: str
    case_id: str | None
    status: str
    active_key: str | None
    origin: str
    opened_on: dt.date
    due_date: dt.date
    drawn_up_on: dt.date | None
    contact_id: str | None
    last_visit_on: dt.date | None
    next_visit_due: dt.date | None
    next_visit_id: str | None
    completed_at: dt.datetime | None
    closed_at: dt.datetime | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Measure:
    id: str
    plan_id: str
    household_id: str
    region_code: str
    type: str
    department: str
    status: str
    position: int
    origin: str
    rule: str | None
    source: str | None
    reason: str | None
    description: str | None
    outcome: str | None
    drop_reason: str | None
    last_progress_at: dt.datetime
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of a plan's or a measure's history (a measure's lines have no `measure_id`)."""

    action: str
    from_status: str | None
    to_status: str | None
    by: str
    role: str
    at: dt.datetime
    note: str | None
    measure_id: str | None = None


@dataclass(frozen=True, slots=True)
class Contact:
    """A contact person (帮扶联系人) on a village's roster; name and phone encrypted."""

    id: str
    region_code: str
    name_enc: bytes
    phone_enc: bytes | None
    unit: str | None
    sub_hash: str | None
    active: bool
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Assignment:
    contact_id: str
    previous_contact_id: str | None
    reason: str | None
    by: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class Visit:
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
    recorded_by: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class EmploymentRecord:
    """A laborer's survey record (附件3); `person_ref` is opaque, never an ID number."""

    id: str
    person_ref: str
    household_id: str
    region_code: str
    survey: dict[str, Any]
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class EmploymentService:
    """A guidance, training or job-post recommendation given; `id` is assigned on insert."""

    record_id: str
    kind: str
    provided_on: dt.date
    detail: str | None
    by: str
    created_at: dt.datetime
    id: int = 0


@dataclass(frozen=True, slots=True)
class Placement:
    id: str
    person_ref: str
    household_id: str
    region_code: str
    employer: str
    contract_months: int
    social_insurance: bool
    work_location: str
    epidemic_period: bool
    stable_months: int
    age: int
    placed_on: dt.date
    by: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PostWage:
    id: str
    person_ref: str
    household_id: str
    region_code: str
    year: int
    annual_wage: Decimal
    post: str | None
    by: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class OfferOutcomeRecord:
    """What became of one job-post recommendation (`service_id`)."""

    service_id: int
    record_id: str
    outcome: str
    valid_reason: bool | None
    note: str | None
    by: str
    recorded_at: dt.datetime


@dataclass(frozen=True, slots=True)
class SanctionRecord:
    """The one sanction per person after refused offers."""

    record_id: str
    person_ref: str
    household_id: str
    region_code: str
    refusals: int
    recommendation_ids: list[str]
    event_id: str
    decided_at: dt.datetime
