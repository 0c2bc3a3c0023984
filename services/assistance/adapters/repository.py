"""Reading and writing the assistance tables inside a unit of work's session (never commits).
Updates of plans and measures are conditional on their version: a lost update is a 409."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance.domain.contacts import ContactLoad
from shared.errors import Conflict

from .orm import contact_assignments, contacts, households, measure_history, measures, plan_history, plans

__all__ = ["Repository"]


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- households ------------------------------------------------------------------------

    async def household(self, household_id: str) -> Any:
        return (await self.session.execute(sa.select(households).where(households.c.id == household_id))).first()

    async def upsert_household(self, household_id: str, values: dict[str, Any], at: dt.datetime) -> None:
        if await self.household(household_id) is None:
            await self.session.execute(
                sa.insert(households).values(id=household_id, created_at=at, updated_at=at, **values)
            )
        else:
            await self.session.execute(
                sa.update(households).where(households.c.id == household_id).values(updated_at=at, **values)
            )

    # --- plans -----------------------------------------------------------------------------

    async def plan(self, plan_id: str) -> Any:
        return (await self.session.execute(sa.select(plans).where(plans.c.id == plan_id))).first()

    async def active_plan(self, household_id: str) -> Any:
        return (await self.session.execute(sa.select(plans).where(plans.c.active_key == household_id))).first()

    async def latest_plan(self, household_id: str) -> Any:
        q = (
            sa.select(plans)
            .where(plans.c.household_id == household_id)
            .order_by(plans.c.created_at.desc(), plans.c.id.desc())
            .limit(1)
        )
        return (await self.session.execute(q)).first()

    async def update_plan(self, row: Any, values: dict[str, Any], at: dt.datetime) -> None:
        res = await self.session.execute(
            sa.update(plans)
            .where(plans.c.id == row.id, plans.c.version == row.version)
            .values(version=row.version + 1, updated_at=at, **values)
        )
        if res.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("the plan was changed meanwhile; reload and retry", code="stale_plan")

    async def plan_history(
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

    # --- measures --------------------------------------------------------------------------

    async def measure(self, measure_id: str) -> Any:
        return (await self.session.execute(sa.select(measures).where(measures.c.id == measure_id))).first()

    async def plan_measures(self, plan_id: str) -> list[Any]:
        q = (
            sa.select(measures)
            .where(measures.c.plan_id == plan_id)
            .order_by(measures.c.position, measures.c.created_at)
        )
        return list((await self.session.execute(q)).all())

    async def update_measure(self, row: Any, values: dict[str, Any], at: dt.datetime, version: int | None) -> None:
        if version is not None and version != row.version:
            raise Conflict("the measure was changed meanwhile; reload and retry", code="stale_measure")
        res = await self.session.execute(
            sa.update(measures)
            .where(measures.c.id == row.id, measures.c.version == row.version)
            .values(version=row.version + 1, updated_at=at, **values)
        )
        if res.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("the measure was changed meanwhile; reload and retry", code="stale_measure")

    async def measure_history(
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

    # --- contacts --------------------------------------------------------------------------

    async def contact(self, contact_id: str) -> Any:
        return (await self.session.execute(sa.select(contacts).where(contacts.c.id == contact_id))).first()

    async def contact_loads(self, village: str) -> list[ContactLoad]:
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

    async def record_assignment(
        self, plan_id: str, contact_id: str, previous: str | None, reason: str | None, by: str, at: dt.datetime
    ) -> None:
        await self.session.execute(
            sa.insert(contact_assignments).values(
                plan_id=plan_id, contact_id=contact_id, previous_contact_id=previous, reason=reason, by=by, at=at
            )
        )
