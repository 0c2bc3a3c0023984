"""An in-memory unit of work for the assistance use cases: the repositories of
`application/ports.py` over dictionaries, the read models (`Reads`) over the same rows, events
collected, commits counted. No database."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any

from services.assistance.application.ports import Alert, MeasureFilter, PlanFilter, Reads, StatisticsCounts
from services.assistance.application.records import (
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
from services.assistance.domain.contacts import ContactLoad
from services.assistance.domain.job_offers import OfferOutcome, RecordedOutcome
from shared import contracts
from shared.errors import Conflict
from shared.events import Event


class FakeHouseholds:
    def __init__(self) -> None:
        self.rows: dict[str, Household] = {}

    async def get(self, household_id: str) -> Household | None:
        return self.rows.get(household_id)

    async def upsert(self, household_id: str, values: dict[str, Any], at: dt.datetime) -> None:
        old = self.rows.get(household_id)
        if old is None:
            self.rows[household_id] = Household(id=household_id, created_at=at, updated_at=at, **values)
        else:
            self.rows[household_id] = dataclasses.replace(old, updated_at=at, **values)


class FakePlans:
    def __init__(self) -> None:
        self.rows: dict[str, Plan] = {}
        self.history: list[dict[str, Any]] = []
        self.assignments: list[tuple[str, str, str | None]] = []
        self.assignment_rows: list[tuple[str, Assignment]] = []

    async def get(self, plan_id: str) -> Plan | None:
        return self.rows.get(plan_id)

    async def active(self, household_id: str) -> Plan | None:
        return next((p for p in self.rows.values() if p.active_key == household_id), None)

    async def latest(self, household_id: str) -> Plan | None:
        mine = [p for p in self.rows.values() if p.household_id == household_id]
        return max(mine, key=lambda p: (p.created_at, p.id), default=None)

    async def add(self, plan: Plan) -> None:
        self.rows[plan.id] = plan

    async def update(self, plan: Plan, values: dict[str, Any], at: dt.datetime) -> None:
        if self.rows[plan.id].version != plan.version:
            raise Conflict("the plan was changed meanwhile; reload and retry", code="stale_plan")
        self.rows[plan.id] = dataclasses.replace(plan, version=plan.version + 1, updated_at=at, **values)

    async def claim_next_visit(self, plan_id: str, expected: str | None, new: str) -> bool:
        if self.rows[plan_id].next_visit_id != expected:
            return False
        self.rows[plan_id] = dataclasses.replace(self.rows[plan_id], next_visit_id=new)
        return True

    async def set_visits(self, plan_id: str, last_visit_on: dt.date, next_visit_due: dt.date, at: dt.datetime) -> None:
        self.rows[plan_id] = dataclasses.replace(
            self.rows[plan_id], last_visit_on=last_visit_on, next_visit_due=next_visit_due, updated_at=at
        )

    async def with_visit_announced(self, contact_id: str) -> list[Plan]:
        return [p for p in self.rows.values() if p.contact_id == contact_id and p.next_visit_id and p.next_visit_due]

    async def add_history(self, plan_id: str, action: str, **kw: Any) -> None:
        self.history.append({"plan_id": plan_id, "action": action, **kw})

    async def add_assignment(
        self, plan_id: str, contact_id: str, previous: str | None, reason: str | None, by: str, at: dt.datetime
    ) -> None:
        self.assignments.append((plan_id, contact_id, previous))
        self.assignment_rows.append((plan_id, Assignment(contact_id, previous, reason, by, at)))

    async def late(self, day: dt.date) -> list[Plan]:
        return [p for p in self.rows.values() if p.drawn_up_on is None and p.status != "closed" and p.due_date < day]

    async def visits_past_due(self, day: dt.date) -> list[Plan]:
        return [p for p in self.rows.values() if p.next_visit_due is not None and p.next_visit_due < day]


class FakeMeasures:
    def __init__(self) -> None:
        self.rows: dict[str, Measure] = {}
        self.history: list[dict[str, Any]] = []

    async def get(self, measure_id: str) -> Measure | None:
        return self.rows.get(measure_id)

    async def of_plan(self, plan_id: str) -> list[Measure]:
        mine = [m for m in self.rows.values() if m.plan_id == plan_id]
        return sorted(mine, key=lambda m: (m.position, m.created_at))

    async def add(self, measure: Measure) -> None:
        self.rows[measure.id] = measure

    async def update(self, measure: Measure, values: dict[str, Any], at: dt.datetime, version: int | None) -> None:
        if (version is not None and version != measure.version) or self.rows[measure.id].version != measure.version:
            raise Conflict("the measure was changed meanwhile; reload and retry", code="stale_measure")
        self.rows[measure.id] = dataclasses.replace(measure, version=measure.version + 1, updated_at=at, **values)

    async def add_history(self, measure_id: str, action: str, **kw: Any) -> None:
        self.history.append({"measure_id": measure_id, "action": action, **kw})

    async def unfinished(self) -> list[Measure]:
        return [m for m in self.rows.values() if m.status not in ("closed", "dropped")]


class FakeContacts:
    def __init__(self, plans: FakePlans) -> None:
        self.rows: dict[str, Contact] = {}
        self._plans = plans

    async def get(self, contact_id: str) -> Contact | None:
        return self.rows.get(contact_id)

    async def loads(self, village: str) -> list[ContactLoad]:
        def load(cid: str) -> int:
            return sum(1 for p in self._plans.rows.values() if p.active_key and p.contact_id == cid)

        return [
            ContactLoad(c.id, c.region_code, c.active, load(c.id))
            for c in self.rows.values()
            if c.region_code == village
        ]

    async def add(self, contact: Contact) -> None:
        self.rows[contact.id] = contact

    async def set_sub_hash(self, contact_id: str, sub_hash: str | None) -> None:
        self.rows[contact_id] = dataclasses.replace(self.rows[contact_id], sub_hash=sub_hash)

    async def sub_hashes(self, contact_ids: Iterable[str]) -> dict[str, str | None]:
        return {i: self.rows[i].sub_hash for i in contact_ids if i in self.rows}


class FakeVisits:
    def __init__(self) -> None:
        self.rows: dict[str, Visit] = {}

    async def add(self, visit: Visit) -> None:
        assert visit.id not in self.rows, "a visit id is recorded once"
        self.rows[visit.id] = visit


class FakeEmployment:
    def __init__(self) -> None:
        self.records: dict[str, EmploymentRecord] = {}
        self.services: list[EmploymentService] = []
        self.placements: list[Placement] = []
        self.wages: list[PostWage] = []

    async def record(self, record_id: str) -> EmploymentRecord | None:
        return self.records.get(record_id)

    async def record_of(self, person_ref: str) -> EmploymentRecord | None:
        return next((r for r in self.records.values() if r.person_ref == person_ref), None)

    async def add_record(self, record: EmploymentRecord) -> None:
        self.records[record.id] = record

    async def update_survey(self, record_id: str, survey: dict[str, Any], at: dt.datetime) -> None:
        self.records[record_id] = dataclasses.replace(self.records[record_id], survey=survey, updated_at=at)

    async def add_service(self, service: EmploymentService) -> None:
        self.services.append(dataclasses.replace(service, id=len(self.services) + 1))

    async def add_placement(self, placement: Placement) -> None:
        self.placements.append(placement)

    async def post_wage_recorded(self, person_ref: str, year: int) -> bool:
        return any(w.person_ref == person_ref and w.year == year for w in self.wages)

    async def add_post_wage(self, wage: PostWage) -> None:
        self.wages.append(wage)


class FakeJobOffers:
    """Job offers over the employment fake's records and services (as the tables are shared)."""

    def __init__(self, employment: FakeEmployment) -> None:
        self._employment = employment
        self.outcomes_: dict[int, OfferOutcomeRecord] = {}
        self.sanctions: dict[str, SanctionRecord] = {}
        self.locked: list[str] = []

    async def record(self, record_id: str) -> EmploymentRecord | None:
        return self._employment.records.get(record_id)

    async def recommendation(self, record_id: str, service_id: int) -> EmploymentService | None:
        return next((s for s in self._employment.services if s.id == service_id and s.record_id == record_id), None)

    async def recommendations(self, record_id: str) -> list[EmploymentService]:
        mine = [s for s in self._employment.services if s.record_id == record_id and s.kind == "job_recommendation"]
        return sorted(mine, key=lambda s: (s.provided_on, s.id))

    async def outcome(self, service_id: int) -> OfferOutcomeRecord | None:
        return self.outcomes_.get(service_id)

    async def add_outcome(self, outcome: OfferOutcomeRecord) -> None:
        self.outcomes_[outcome.service_id] = outcome

    async def outcomes(self, record_id: str) -> list[RecordedOutcome]:
        return [
            RecordedOutcome(str(s.id), OfferOutcome(o.outcome), bool(o.valid_reason))
            for s in await self.recommendations(record_id)
            if (o := self.outcomes_.get(s.id)) is not None
        ]

    async def outcomes_by_service(self, record_id: str) -> dict[int, OfferOutcomeRecord]:
        return {k: o for k, o in self.outcomes_.items() if o.record_id == record_id}

    async def lock_record(self, record_id: str) -> None:
        self.locked.append(record_id)

    async def sanction(self, record_id: str) -> SanctionRecord | None:
        return self.sanctions.get(record_id)

    async def add_sanction(self, sanction: SanctionRecord) -> None:
        assert sanction.record_id not in self.sanctions, "one sanction per person"
        self.sanctions[sanction.record_id] = sanction


class FakeAlerts:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Alert] = {}

    async def record_fresh(self, alerts: list[Alert]) -> set[tuple[str, str]]:
        fresh = {(a.kind, a.key) for a in alerts if (a.kind, a.key) not in self.rows}
        self.rows.update({(a.kind, a.key): a for a in alerts if (a.kind, a.key) in fresh})
        return fresh


def _entry(h: dict[str, Any], *, with_measure: bool) -> HistoryEntry:
    return HistoryEntry(
        action=h["action"],
        from_status=h.get("from_status"),
        to_status=h.get("to_status"),
        by=h["by"],
        role=h["role"],
        at=h["at"],
        note=h.get("note"),
        measure_id=h.get("measure_id") if with_measure else None,
    )


class FakeReads:
    """`application.ports.Reads` over the fake repositories' rows (what the SQL read models
    select, in their order); `counts` is what `statistics` answers."""

    def __init__(self, work: FakeWork) -> None:
        self._w = work
        self.counts = StatisticsCounts({}, [], [], {}, {})
        self.asked: list[tuple[str, Any]] = []

    async def plan(self, plan_id: str) -> Plan | None:
        return self._w.plans.rows.get(plan_id)

    async def measure(self, measure_id: str) -> Measure | None:
        return self._w.measures.rows.get(measure_id)

    async def contact(self, contact_id: str) -> Contact | None:
        return self._w.contacts.rows.get(contact_id)

    async def employment_record(self, record_id: str) -> EmploymentRecord | None:
        return self._w.employment.records.get(record_id)

    async def plans(self, f: PlanFilter) -> list[Plan]:
        self.asked.append(("plans", f))
        rows = [
            p
            for p in self._w.plans.rows.values()
            if p.region_code.startswith(f.scope)
            and f.household_id in (None, p.household_id)
            and f.status in (None, p.status)
            and f.contact_id in (None, p.contact_id)
            and (f.overdue_on is None or (p.drawn_up_on is None and p.status != "closed" and p.due_date < f.overdue_on))
        ]
        rows.sort(key=lambda p: p.id)
        rows.sort(key=lambda p: p.created_at, reverse=True)
        return rows[f.offset : f.offset + f.limit]

    async def measures_of(self, plan_ids: list[str]) -> list[Measure]:
        mine = [m for m in self._w.measures.rows.values() if m.plan_id in plan_ids]
        return sorted(mine, key=lambda m: (m.position, m.created_at))

    async def measures(self, f: MeasureFilter) -> list[Measure]:
        self.asked.append(("measures", f))
        return [
            m
            for m in self._w.measures.rows.values()
            if m.region_code.startswith(f.scope)
            and f.department in (None, m.department)
            and f.caller_department in (None, m.department)
            and f.status in (None, m.status)
            and f.type in (None, m.type)
            and not (f.unfinished and m.status in ("closed", "dropped"))
        ]

    async def measure_histories(self, measure_ids: list[str]) -> list[HistoryEntry]:
        return [
            dataclasses.replace(_entry(h, with_measure=False), measure_id=h["measure_id"])
            for h in self._w.measures.history
            if h["measure_id"] in measure_ids
        ]

    async def plan_history(self, plan_id: str) -> list[HistoryEntry]:
        return [_entry(h, with_measure=True) for h in self._w.plans.history if h["plan_id"] == plan_id]

    async def assignments(self, plan_id: str) -> list[Assignment]:
        return [a for pid, a in self._w.plans.assignment_rows if pid == plan_id]

    async def contacts(self, contact_ids: set[str]) -> list[Contact]:
        return [c for c in self._w.contacts.rows.values() if c.id in contact_ids]

    async def roster(self, scope: str) -> list[tuple[Contact, int]]:
        def load(cid: str) -> int:
            return sum(1 for p in self._w.plans.rows.values() if p.status != "closed" and p.contact_id == cid)

        mine = sorted(
            (c for c in self._w.contacts.rows.values() if c.region_code.startswith(scope)), key=lambda c: c.id
        )
        return [(c, load(c.id)) for c in mine]

    async def visits(self, scope: str, household_id: str | None, limit: int) -> list[Visit]:
        mine = [
            v
            for v in self._w.visits.rows.values()
            if v.region_code.startswith(scope) and household_id in (None, v.household_id)
        ]
        return sorted(mine, key=lambda v: v.visited_on, reverse=True)[:limit]

    async def visit_schedule(
        self, scope: str, contact_id: str | None, *, until: dt.date | None, before: dt.date | None
    ) -> list[Plan]:
        mine = [
            p
            for p in self._w.plans.rows.values()
            if p.region_code.startswith(scope)
            and contact_id in (None, p.contact_id)
            and p.next_visit_due is not None
            and (until is None or p.next_visit_due <= until)
            and (before is None or p.next_visit_due < before)
        ]
        return sorted(mine, key=lambda p: p.next_visit_due or dt.date.min)

    async def employment_records(self, scope: str, household_id: str | None) -> list[EmploymentRecord]:
        return [
            r
            for r in self._w.employment.records.values()
            if r.region_code.startswith(scope) and household_id in (None, r.household_id)
        ]

    async def laborers(self, scope: str) -> list[EmploymentRecord]:
        mine = [r for r in self._w.employment.records.values() if r.region_code.startswith(scope)]
        return sorted(mine, key=lambda r: (r.region_code, r.person_ref))

    async def services(self, record_id: str) -> list[EmploymentService]:
        return [s for s in self._w.employment.services if s.record_id == record_id]

    async def service_kinds(self, record_ids: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for s in self._w.employment.services:
            if s.record_id in record_ids:
                out.setdefault(s.record_id, []).append(s.kind)
        return out

    async def statistics(self, scope: str, day: dt.date, since: dt.date, until: dt.date) -> StatisticsCounts:
        self.asked.append(("statistics", (scope, day, since, until)))
        return self.counts


class FakeWork:
    """`application.ports.Work` in memory: `events` are what a commit wrote to the outbox."""

    def __init__(self) -> None:
        self.households = FakeHouseholds()
        self.plans = FakePlans()
        self.measures = FakeMeasures()
        self.contacts = FakeContacts(self.plans)
        self.visits = FakeVisits()
        self.employment = FakeEmployment()
        self.job_offers = FakeJobOffers(self.employment)
        self.alerts = FakeAlerts()
        self.fake_reads = FakeReads(self)
        self.pending: list[Event] = []
        self.events: list[Event] = []
        self.commits = 0

    @property
    def reads(self) -> Reads:
        return self.fake_reads

    def add_event(self, event: Event) -> None:
        contracts.check(event)  # as the real unit of work does: the payload keeps its contract
        self.pending.append(event)

    async def commit(self) -> None:
        self.events.extend(self.pending)
        self.pending = []
        self.commits += 1

    def names(self) -> list[str]:
        """The committed events' types, in order (`assistance.plan_created`, …)."""
        return [e.type for e in self.events]
