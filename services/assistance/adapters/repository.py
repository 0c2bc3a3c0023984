"""Reading and writing the assistance tables inside a unit of work's session (never commits):
the repositories of `application/ports.py`. Updates of plans and measures are conditional on
their version: a lost update is a 409."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance.application.ports import Alert
from services.assistance.application.records import Contact, Household, Measure, Plan, Visit
from services.assistance.domain.contacts import ContactLoad
from shared.db import insert_ignoring_duplicates
from shared.errors import Conflict

from .orm import (
    alerts,
    contact_assignments,
    contacts,
    households,
    measure_history,
    measures,
    plan_history,
    plans,
    visits,
)

__all__ = [
    "AlertRepository",
    "ContactRepository",
    "HouseholdRepository",
    "MeasureRepository",
    "PlanRepository",
    "VisitRepository",
    "record_of",
]

R = TypeVar("R")


def record_of(cls: type[R], row: Any) -> R:
    """A row as its record (the columns are the record's fields)."""
    return cls(**row._mapping)


def _maybe(cls: type[R], row: Any) -> R | None:
    return None if row is None else record_of(cls, row)


class _Repo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session


class HouseholdRepository(_Repo):
    async def get(self, household_id: str) -> Household | None:
        q = sa.select(households).where(households.c.id == household_id)
        return _maybe(Household, (await self.session.execute(q)).first())

    async def upsert(self, household_id: str, values: dict[str, Any], at: dt.datetime) -> None:
        if await self.get(household_id) is None:
            await self.session.execute(
                sa.insert(households).values(id=household_id, created_at=at, updated_at=at, **values)
            )
        else:
            await self.session.execute(
                sa.update(households).where(households.c.id == household_id).values(updated_at=at, **values)
            )


class PlanRepository(_Repo):
    async def _one(self, q: Any) -> Plan | None:
        return _maybe(Plan, (await self.session.execute(q)).first())

    async def _all(self, q: Any) -> list[Plan]:
        return [record_of(Plan, r) for r in (await self.session.execute(q)).all()]

    async def get(self, plan_id: str) -> Plan | None:
        return await self._one(sa.select(plans).where(plans.c.id == plan_id))

    async def active(self, household_id: str) -> Plan | None:
        return await self._one(sa.select(plans).where(plans.c.active_key == household_id))

    async def latest(self, household_id: str) -> Plan | None:
        return await self._one(
            sa.select(plans)
            .where(plans.c.household_id == household_id)
            .order_by(plans.c.created_at.desc(), plans.c.id.desc())
            .limit(1)
        )

    async def add(self, plan: Plan) -> None:
        await self.session.execute(plans.insert().values(**dataclasses.asdict(plan)))

    async def update(self, plan: Plan, values: dict[str, Any], at: dt.datetime) -> None:
        res = await self.session.execute(
            sa.update(plans)
            .where(plans.c.id == plan.id, plans.c.version == plan.version)
            .values(version=plan.version + 1, updated_at=at, **values)
        )
        if res.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("the plan was changed meanwhile; reload and retry", code="stale_plan")

    async def claim_next_visit(self, plan_id: str, expected: str | None, new: str) -> bool:
        announced = plans.c.next_visit_id.is_(None) if expected is None else plans.c.next_visit_id == expected
        res = await self.session.execute(
            plans.update().where(plans.c.id == plan_id, announced).values(next_visit_id=new)
        )
        return bool(res.rowcount == 1)  # type: ignore[attr-defined]

    async def set_visits(self, plan_id: str, last_visit_on: dt.date, next_visit_due: dt.date, at: dt.datetime) -> None:
        await self.session.execute(
            plans.update()
            .where(plans.c.id == plan_id)
            .values(last_visit_on=last_visit_on, next_visit_due=next_visit_due, updated_at=at)
        )

    async def with_visit_announced(self, contact_id: str) -> list[Plan]:
        p = plans.c
        return await self._all(
            sa.select(plans).where(
                p.contact_id == contact_id, p.next_visit_due.is_not(None), p.next_visit_id.is_not(None)
            )
        )

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
    ) -> None:
        await self.session.execute(
            sa.insert(plan_history).values(
                plan_id=plan_id,
                action=action,
                from_status=from_status,
                to_status=to_status,
                measure_id=measure_id,
                by=by,
                role=role,
                note=note,
                at=at,
            )
        )

    async def add_assignment(
        self, plan_id: str, contact_id: str, previous: str | None, reason: str | None, by: str, at: dt.datetime
    ) -> None:
        await self.session.execute(
            sa.insert(contact_assignments).values(
                plan_id=plan_id, contact_id=contact_id, previous_contact_id=previous, reason=reason, by=by, at=at
            )
        )

    async def late(self, day: dt.date) -> list[Plan]:
        return await self._all(
            sa.select(plans).where(plans.c.drawn_up_on.is_(None), plans.c.status != "closed", plans.c.due_date < day)
        )

    async def visits_past_due(self, day: dt.date) -> list[Plan]:
        return await self._all(
            sa.select(plans).where(plans.c.next_visit_due.is_not(None), plans.c.next_visit_due < day)
        )


class MeasureRepository(_Repo):
    async def get(self, measure_id: str) -> Measure | None:
        q = sa.select(measures).where(measures.c.id == measure_id)
        return _maybe(Measure, (await self.session.execute(q)).first())

    async def of_plan(self, plan_id: str) -> list[Measure]:
        q = (
            sa.select(measures)
            .where(measures.c.plan_id == plan_id)
            .order_by(measures.c.position, measures.c.created_at)
        )
        return [record_of(Measure, r) for r in (await self.session.execute(q)).all()]

    async def add(self, measure: Measure) -> None:
        await self.session.execute(measures.insert().values(**dataclasses.asdict(measure)))

    async def update(self, measure: Measure, values: dict[str, Any], at: dt.datetime, version: int | None) -> None:
        if version is not None and version != measure.version:
            raise Conflict("the measure was changed meanwhile; reload and retry", code="stale_measure")
        res = await self.session.execute(
            sa.update(measures)
            .where(measures.c.id == measure.id, measures.c.version == measure.version)
            .values(version=measure.version + 1, updated_at=at, **values)
        )
        if res.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("the measure was changed meanwhile; reload and retry", code="stale_measure")

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
    ) -> None:
        await self.session.execute(
            sa.insert(measure_history).values(
                measure_id=measure_id,
                action=action,
                from_status=from_status,
                to_status=to_status,
                by=by,
                role=role,
                note=note,
                at=at,
            )
        )

    async def unfinished(self) -> list[Measure]:
        q = sa.select(measures).where(measures.c.status.not_in(["closed", "dropped"]))
        return [record_of(Measure, r) for r in (await self.session.execute(q)).all()]


class ContactRepository(_Repo):
    async def get(self, contact_id: str) -> Contact | None:
        q = sa.select(contacts).where(contacts.c.id == contact_id)
        return _maybe(Contact, (await self.session.execute(q)).first())

    async def loads(self, village: str) -> list[ContactLoad]:
        load = (
            sa.select(plans.c.contact_id, sa.func.count().label("n"))
            .where(plans.c.active_key.is_not(None), plans.c.region_code == village)
            .group_by(plans.c.contact_id)
            .subquery()
        )
        q = (
            sa.select(contacts.c.id, contacts.c.region_code, contacts.c.active, sa.func.coalesce(load.c.n, 0))
            .select_from(contacts.outerjoin(load, load.c.contact_id == contacts.c.id))
            .where(contacts.c.region_code == village)
        )
        return [ContactLoad(r[0], r[1], bool(r[2]), int(r[3])) for r in (await self.session.execute(q)).all()]

    async def add(self, contact: Contact) -> None:
        await self.session.execute(contacts.insert().values(**dataclasses.asdict(contact)))

    async def set_sub_hash(self, contact_id: str, sub_hash: str | None) -> None:
        await self.session.execute(contacts.update().where(contacts.c.id == contact_id).values(sub_hash=sub_hash))

    async def sub_hashes(self, contact_ids: Iterable[str]) -> dict[str, str | None]:
        wanted = set(contact_ids)
        if not wanted:
            return {}
        q = sa.select(contacts.c.id, contacts.c.sub_hash).where(contacts.c.id.in_(wanted))
        return {r.id: r.sub_hash for r in (await self.session.execute(q)).all()}


class VisitRepository(_Repo):
    async def add(self, visit: Visit) -> None:
        await self.session.execute(visits.insert().values(**dataclasses.asdict(visit)))


class AlertRepository(_Repo):
    async def record_fresh(self, found: list[Alert]) -> set[tuple[str, str]]:
        dialect = self.session.get_bind().dialect.name
        rows = [dataclasses.asdict(a) for a in found]
        fresh: set[tuple[str, str]] = set()
        for i in range(0, len(rows), 500):
            stmt = insert_ignoring_duplicates(dialect, alerts, rows[i : i + 500]).returning(alerts.c.kind, alerts.c.key)
            fresh.update((k, key) for k, key in (await self.session.execute(stmt)).all())
        return fresh
