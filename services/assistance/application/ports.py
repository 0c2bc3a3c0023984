"""What the assistance use cases need from the database, as Protocols: the repositories and the
read queries a unit of work provides (`Work`). The adapters implement them over SQLAlchemy; the
unit tests over dictionaries. Nothing here commits but `Work.commit`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from services.assistance.domain.contacts import ContactLoad
from services.assistance.domain.job_offers import RecordedOutcome
from shared.events import Event

from .records import (
    Assignment,
    Contact,
    EmploymentRecord,
    EmploymentService,
    HistoryEntry,
    Household,
    Measure,
    OfferOutcomeRecord,
    Placement,
    Plan,
    PostWage,
    SanctionRecord,
    Visit,
)

__all__ = [
    "Alert",
    "Alerts",
    "Contacts",
    "Employment",
    "Households",
    "JobOffers",
    "MeasureFilter",
    "Measures",
    "PlanFilter",
    "Plans",
    "Reads",
    "StatisticsCounts",
    "Visits",
    "Work",
]


class Households(Protocol):
    async def get(self, household_id: str) -> Household | None: ...

    async def upsert(self, household_id: str, values: dict[str, Any], at: dt.datetime) -> None:
        """Create the household with `values` (all columns) or update the given ones."""


class Plans(Protocol):
    async def get(self, plan_id: str) -> Plan | None: ...

    async def active(self, household_id: str) -> Plan | None:
        """The household's one plan that is not closed."""

    async def latest(self, household_id: str) -> Plan | None: ...

    async def add(self, plan: Plan) -> None: ...

    async def update(self, plan: Plan, values: dict[str, Any], at: dt.datetime) -> None:
        """Conditional on `plan.version` (and bumps it): a lost update is a 409 `stale_plan`."""

    async def claim_next_visit(self, plan_id: str, expected: str | None, new: str) -> bool:
        """Swap the announced visit id `expected` for `new`; False if another visit took it."""

    async def set_visits(self, plan_id: str, last_visit_on: dt.date, next_visit_due: dt.date, at: dt.datetime) -> None:
        """The visit schedule after a visit (not versioned: visits never conflict with edits)."""

    async def with_visit_announced(self, contact_id: str) -> list[Plan]:
        """The plans of the contact person whose next visit is announced."""

    async def add_history(
        self,
        plan_id: str,
        action: str,
        *,
        by: str,
        role: str,
        at: dt.datetime,
        from_status: str | None = None,
        to_status: str | None = None,
        measure_id: str | None = None,
        note: str | None = None,
    ) -> None: ...

    async def add_assignment(
        self, plan_id: str, contact_id: str, previous: str | None, reason: str | None, by: str, at: dt.datetime
    ) -> None: ...

    async def late(self, day: dt.date) -> list[Plan]:
        """Plans not drawn up (no measure accepted) and not closed, due before `day`."""

    async def visits_past_due(self, day: dt.date) -> list[Plan]: ...


class Measures(Protocol):
    async def get(self, measure_id: str) -> Measure | None: ...

    async def of_plan(self, plan_id: str) -> list[Measure]:
        """In the plan's order (position, then creation)."""

    async def add(self, measure: Measure) -> None: ...

    async def update(self, measure: Measure, values: dict[str, Any], at: dt.datetime, version: int | None) -> None:
        """Conditional on the version (the caller's, if given): a lost update is a 409 `stale_measure`."""

    async def add_history(
        self,
        measure_id: str,
        action: str,
        *,
        by: str,
        role: str,
        at: dt.datetime,
        from_status: str | None,
        to_status: str | None,
        note: str | None = None,
    ) -> None: ...

    async def unfinished(self) -> list[Measure]:
        """Measures neither closed nor dropped."""


class Contacts(Protocol):
    async def get(self, contact_id: str) -> Contact | None: ...

    async def loads(self, village: str) -> list[ContactLoad]:
        """The village's roster with each contact's plans not closed."""

    async def add(self, contact: Contact) -> None: ...

    async def set_sub_hash(self, contact_id: str, sub_hash: str | None) -> None: ...

    async def sub_hashes(self, contact_ids: Iterable[str]) -> dict[str, str | None]: ...


class Visits(Protocol):
    async def add(self, visit: Visit) -> None: ...


class Employment(Protocol):
    async def record(self, record_id: str) -> EmploymentRecord | None: ...

    async def record_of(self, person_ref: str) -> EmploymentRecord | None: ...

    async def add_record(self, record: EmploymentRecord) -> None: ...

    async def update_survey(self, record_id: str, survey: dict[str, Any], at: dt.datetime) -> None: ...

    async def add_service(self, service: EmploymentService) -> None: ...

    async def add_placement(self, placement: Placement) -> None: ...

    async def post_wage_recorded(self, person_ref: str, year: int) -> bool: ...

    async def add_post_wage(self, wage: PostWage) -> None: ...


class JobOffers(Protocol):
    async def record(self, record_id: str) -> EmploymentRecord | None: ...

    async def recommendation(self, record_id: str, service_id: int) -> EmploymentService | None: ...

    async def recommendations(self, record_id: str) -> list[EmploymentService]:
        """The person's job-post recommendations in the order given."""

    async def outcome(self, service_id: int) -> OfferOutcomeRecord | None: ...

    async def add_outcome(self, outcome: OfferOutcomeRecord) -> None: ...

    async def outcomes(self, record_id: str) -> list[RecordedOutcome]:
        """The person's recorded outcomes in the order the recommendations were given."""

    async def outcomes_by_service(self, record_id: str) -> dict[int, OfferOutcomeRecord]: ...

    async def lock_record(self, record_id: str) -> None:
        """Serialise outcome recording per person for the rest of the transaction."""

    async def sanction(self, record_id: str) -> SanctionRecord | None: ...

    async def add_sanction(self, sanction: SanctionRecord) -> None: ...


@dataclass(frozen=True, slots=True)
class Alert:
    """An occurrence the overdue sweep publishes once: (kind, key) is its identity."""

    kind: str
    key: str
    ref_id: str
    region_code: str
    event_id: str
    published_at: dt.datetime


class Alerts(Protocol):
    async def record_fresh(self, alerts: list[Alert]) -> set[tuple[str, str]]:
        """Record the alerts not recorded yet; returns their (kind, key)."""


@dataclass(frozen=True, slots=True)
class PlanFilter:
    scope: str  # region prefix ("" = everywhere)
    household_id: str | None = None
    status: str | None = None
    contact_id: str | None = None
    overdue_on: dt.date | None = None  # only plans not drawn up past their due date on that day
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True)
class MeasureFilter:
    scope: str
    department: str | None = None
    status: str | None = None
    type: str | None = None
    unfinished: bool = False  # neither closed nor dropped
    caller_department: str | None = None  # a department caller sees its own measures only


@dataclass(frozen=True, slots=True)
class StatisticsCounts:
    """The counts behind `/plans/statistics`, grouped as the SQL groups them."""

    without_plan: dict[str, int]  # village → households monitored or pending without a plan drawn up
    plans_overdue: list[tuple[str, int]]
    measures: list[tuple[str, str, str, int]]  # type, department, status, count
    #: key (village / contact id) → {"due", "done", "overdue"}
    visits_by_village: dict[Any, dict[str, int]]
    visits_by_contact: dict[Any, dict[str, int]]


class Reads(Protocol):
    """Read models (lists, details, statistics): queries only, never a write."""

    async def plan(self, plan_id: str) -> Plan | None: ...

    async def measure(self, measure_id: str) -> Measure | None: ...

    async def contact(self, contact_id: str) -> Contact | None: ...

    async def employment_record(self, record_id: str) -> EmploymentRecord | None: ...

    async def plans(self, f: PlanFilter) -> list[Plan]: ...

    async def measures_of(self, plan_ids: list[str]) -> list[Measure]: ...

    async def measures(self, f: MeasureFilter) -> list[Measure]: ...

    async def measure_histories(self, measure_ids: list[str]) -> list[HistoryEntry]: ...

    async def plan_history(self, plan_id: str) -> list[HistoryEntry]: ...

    async def assignments(self, plan_id: str) -> list[Assignment]: ...

    async def contacts(self, contact_ids: set[str]) -> list[Contact]: ...

    async def roster(self, scope: str) -> list[tuple[Contact, int]]:
        """The contacts in scope with how many plans not closed each has."""

    async def visits(self, scope: str, household_id: str | None, limit: int) -> list[Visit]: ...

    async def visit_schedule(
        self, scope: str, contact_id: str | None, *, until: dt.date | None, before: dt.date | None
    ) -> list[Plan]:
        """Plans with a next visit due by `until` (or before `before`), earliest first."""

    async def employment_records(self, scope: str, household_id: str | None) -> list[EmploymentRecord]: ...

    async def laborers(self, scope: str) -> list[EmploymentRecord]:
        """The records in scope by village, then `person_ref` (the 1 + 5 standard's order)."""

    async def services(self, record_id: str) -> list[EmploymentService]: ...

    async def service_kinds(self, record_ids: list[str]) -> dict[str, list[str]]: ...

    async def statistics(self, scope: str, day: dt.date, since: dt.date, until: dt.date) -> StatisticsCounts: ...


class Work(Protocol):
    """The unit of work as the use cases see it: one transaction over the repositories; events
    added go to the outbox in the same transaction when `commit` runs."""

    @property
    def households(self) -> Households: ...

    @property
    def plans(self) -> Plans: ...

    @property
    def measures(self) -> Measures: ...

    @property
    def contacts(self) -> Contacts: ...

    @property
    def visits(self) -> Visits: ...

    @property
    def employment(self) -> Employment: ...

    @property
    def job_offers(self) -> JobOffers: ...

    @property
    def alerts(self) -> Alerts: ...

    @property
    def reads(self) -> Reads: ...

    def add_event(self, event: Event) -> None: ...

    async def commit(self) -> None: ...
