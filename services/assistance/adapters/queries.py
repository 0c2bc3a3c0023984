"""The read side of the assistance tables (the `Reads` port): lists and details of plans,
measures, contacts, visits and employment records, and the statistics counts. Queries only."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance.application.ports import MeasureFilter, PlanFilter, StatisticsCounts
from services.assistance.application.records import (
    Assignment,
    Contact,
    EmploymentRecord,
    EmploymentService,
    HistoryEntry,
    Measure,
    Plan,
    Visit,
)

from .orm import (
    contact_assignments,
    contacts,
    employment_records,
    employment_services,
    households,
    measure_history,
    measures,
    plan_history,
    plans,
    visits,
)
from .repository import record_of

__all__ = ["AssistanceReads"]

R = TypeVar("R")
_HISTORY = ("action", "from_status", "to_status", "by", "role", "at", "note")


def _prefix(col: Any, region: str) -> Any:
    return col.like(f"{region}%") if region else sa.true()


class AssistanceReads:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _rows(self, q: Any) -> list[Any]:
        return list((await self.session.execute(q)).all())

    async def _one(self, cls: type[R], table: sa.Table, key: str) -> R | None:
        row = (await self.session.execute(sa.select(table).where(table.c.id == key))).first()
        return None if row is None else record_of(cls, row)

    async def plan(self, plan_id: str) -> Plan | None:
        return await self._one(Plan, plans, plan_id)

    async def measure(self, measure_id: str) -> Measure | None:
        return await self._one(Measure, measures, measure_id)

    async def contact(self, contact_id: str) -> Contact | None:
        return await self._one(Contact, contacts, contact_id)

    async def employment_record(self, record_id: str) -> EmploymentRecord | None:
        return await self._one(EmploymentRecord, employment_records, record_id)

    async def plans(self, f: PlanFilter) -> list[Plan]:
        q = sa.select(plans).where(_prefix(plans.c.region_code, f.scope))
        if f.household_id is not None:
            q = q.where(plans.c.household_id == f.household_id)
        if f.status is not None:
            q = q.where(plans.c.status == f.status)
        if f.contact_id is not None:
            q = q.where(plans.c.contact_id == f.contact_id)
        if f.overdue_on is not None:
            q = q.where(plans.c.drawn_up_on.is_(None), plans.c.status != "closed", plans.c.due_date < f.overdue_on)
        q = q.order_by(plans.c.created_at.desc(), plans.c.id).limit(f.limit).offset(f.offset)
        return [record_of(Plan, r) for r in await self._rows(q)]

    async def measures_of(self, plan_ids: list[str]) -> list[Measure]:
        q = (
            sa.select(measures)
            .where(measures.c.plan_id.in_(plan_ids))
            .order_by(measures.c.position, measures.c.created_at)
        )
        return [record_of(Measure, r) for r in await self._rows(q)]

    async def measures(self, f: MeasureFilter) -> list[Measure]:
        q = sa.select(measures).where(_prefix(measures.c.region_code, f.scope))
        if f.caller_department is not None:
            q = q.where(measures.c.department == f.caller_department)
        if f.department is not None:
            q = q.where(measures.c.department == f.department)
        if f.status is not None:
            q = q.where(measures.c.status == f.status)
        if f.type is not None:
            q = q.where(measures.c.type == f.type)
        if f.unfinished:
            q = q.where(measures.c.status.not_in(["closed", "dropped"]))
        q = q.order_by(measures.c.created_at, measures.c.id)
        return [record_of(Measure, r) for r in await self._rows(q)]

    async def measure_histories(self, measure_ids: list[str]) -> list[HistoryEntry]:
        cols = [measure_history.c[n] for n in _HISTORY]
        q = (
            sa.select(*cols, measure_history.c.measure_id)
            .where(measure_history.c.measure_id.in_(measure_ids))
            .order_by(measure_history.c.id)
        )
        return [record_of(HistoryEntry, r) for r in await self._rows(q)]

    async def plan_history(self, plan_id: str) -> list[HistoryEntry]:
        cols = [plan_history.c[n] for n in (*_HISTORY, "measure_id")]
        q = sa.select(*cols).where(plan_history.c.plan_id == plan_id).order_by(plan_history.c.id)
        return [record_of(HistoryEntry, r) for r in await self._rows(q)]

    async def assignments(self, plan_id: str) -> list[Assignment]:
        a = contact_assignments.c
        q = (
            sa.select(a.contact_id, a.previous_contact_id, a.reason, a.by, a.at)
            .where(a.plan_id == plan_id)
            .order_by(a.id)
        )
        return [record_of(Assignment, r) for r in await self._rows(q)]

    async def contacts(self, contact_ids: set[str]) -> list[Contact]:
        if not contact_ids:
            return []
        return [
            record_of(Contact, r) for r in await self._rows(sa.select(contacts).where(contacts.c.id.in_(contact_ids)))
        ]

    async def roster(self, scope: str) -> list[tuple[Contact, int]]:
        load = (
            sa.select(plans.c.contact_id, sa.func.count().label("n"))
            .where(plans.c.active_key.is_not(None))
            .group_by(plans.c.contact_id)
            .subquery()
        )
        q = (
            sa.select(contacts, sa.func.coalesce(load.c.n, 0).label("households"))
            .select_from(contacts.outerjoin(load, load.c.contact_id == contacts.c.id))
            .where(_prefix(contacts.c.region_code, scope))
            .order_by(contacts.c.region_code, contacts.c.id)
        )
        out = []
        for r in await self._rows(q):
            values = dict(r._mapping)
            n = int(values.pop("households"))
            out.append((Contact(**values), n))
        return out

    async def visits(self, scope: str, household_id: str | None, limit: int) -> list[Visit]:
        q = sa.select(visits).where(_prefix(visits.c.region_code, scope))
        if household_id is not None:
            q = q.where(visits.c.household_id == household_id)
        q = q.order_by(visits.c.visited_on.desc(), visits.c.id).limit(limit)
        return [record_of(Visit, r) for r in await self._rows(q)]

    async def visit_schedule(
        self, scope: str, contact_id: str | None, *, until: dt.date | None, before: dt.date | None
    ) -> list[Plan]:
        q = sa.select(plans).where(plans.c.next_visit_due.is_not(None), _prefix(plans.c.region_code, scope))
        if contact_id is not None:
            q = q.where(plans.c.contact_id == contact_id)
        if before is not None:
            q = q.where(plans.c.next_visit_due < before)
        elif until is not None:
            q = q.where(plans.c.next_visit_due <= until)
        q = q.order_by(plans.c.next_visit_due, plans.c.id)
        return [record_of(Plan, r) for r in await self._rows(q)]

    async def employment_records(self, scope: str, household_id: str | None) -> list[EmploymentRecord]:
        r = employment_records.c
        q = sa.select(employment_records).where(_prefix(r.region_code, scope))
        if household_id is not None:
            q = q.where(r.household_id == household_id)
        return [record_of(EmploymentRecord, x) for x in await self._rows(q.order_by(r.region_code, r.id))]

    async def laborers(self, scope: str) -> list[EmploymentRecord]:
        r = employment_records.c
        q = sa.select(employment_records).where(_prefix(r.region_code, scope)).order_by(r.region_code, r.person_ref)
        return [record_of(EmploymentRecord, x) for x in await self._rows(q)]

    async def services(self, record_id: str) -> list[EmploymentService]:
        s = employment_services.c
        q = sa.select(employment_services).where(s.record_id == record_id).order_by(s.provided_on, s.id)
        return [record_of(EmploymentService, r) for r in await self._rows(q)]

    async def service_kinds(self, record_ids: list[str]) -> dict[str, list[str]]:
        kinds: dict[str, list[str]] = {}
        if not record_ids:
            return kinds
        s = employment_services.c
        for rec_id, kind in await self._rows(sa.select(s.record_id, s.kind).where(s.record_id.in_(record_ids))):
            kinds.setdefault(rec_id, []).append(kind)
        return kinds

    async def statistics(self, scope: str, day: dt.date, since: dt.date, until: dt.date) -> StatisticsCounts:
        active = plans.alias("active")
        no_plan = (
            sa.select(households.c.region_code, sa.func.count())
            .select_from(households.outerjoin(active, active.c.active_key == households.c.id))
            .where(
                _prefix(households.c.region_code, scope),
                households.c.monitoring_status.in_(["monitored", "pending"]),
                sa.or_(active.c.id.is_(None), active.c.drawn_up_on.is_(None)),
            )
            .group_by(households.c.region_code)
        )
        overdue_plans = (
            sa.select(plans.c.region_code, sa.func.count())
            .where(
                _prefix(plans.c.region_code, scope),
                plans.c.drawn_up_on.is_(None),
                plans.c.status != "closed",
                plans.c.due_date < day,
            )
            .group_by(plans.c.region_code)
        )
        m = measures.c
        by_measure = (
            sa.select(m.type, m.department, m.status, sa.func.count())
            .where(_prefix(m.region_code, scope))
            .group_by(m.type, m.department, m.status)
            .order_by(m.type, m.department, m.status)
        )
        return StatisticsCounts(
            without_plan={r[0]: int(r[1]) for r in await self._rows(no_plan)},
            plans_overdue=[(k, int(n)) for k, n in await self._rows(overdue_plans)],
            measures=[(t, d, s, int(n)) for t, d, s, n in await self._rows(by_measure)],
            visits_by_village=await self._visits_by(
                plans.c.region_code, visits.c.region_code, scope, day, since, until
            ),
            visits_by_contact=await self._visits_by(plans.c.contact_id, visits.c.contact_id, scope, day, since, until),
        )

    async def _visits_by(
        self, plan_key: Any, visit_key: Any, scope: str, day: dt.date, since: dt.date, until: dt.date
    ) -> dict[Any, dict[str, int]]:
        """Visits `due` (by `until`), `overdue` (before `day`) and `done` (since `since`) by key."""
        in_scope = _prefix(plans.c.region_code, scope)
        due = sa.select(plan_key, sa.func.count()).where(in_scope, plans.c.next_visit_due.between(day, until))
        over = sa.select(plan_key, sa.func.count()).where(in_scope, plans.c.next_visit_due < day)
        done = sa.select(visit_key, sa.func.count()).where(
            _prefix(visits.c.region_code, scope), visits.c.visited_on.between(since, day)
        )
        table: dict[Any, dict[str, int]] = {}
        for name, q in (
            ("due", due.group_by(plan_key)),
            ("overdue", over.group_by(plan_key)),
            ("done", done.group_by(visit_key)),
        ):
            for k, n in await self._rows(q):
                table.setdefault(k, {"due": 0, "done": 0, "overdue": 0})[name] = int(n)
        return table
