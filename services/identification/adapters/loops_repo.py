"""What assistance told identification about a household and the county's red mark (tables in
orm_loops.py): the reads the §5 guards use (`loop_facts`) and the loops' repository."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.audit import audit_chain
from services.identification.adapters.households import OutcomeRecording, StoredHousehold, get_household
from services.identification.adapters.orm import households
from services.identification.adapters.orm_loops import household_loops, household_marks, household_measures
from services.identification.application.monitoring_ports import FINAL, LoopFacts, LoopsRowView, MarkRowView
from shared.audit import record_audit
from shared.db import is_postgres

__all__ = ["FINAL", "LoopFacts", "LoopsRepository", "loop_facts"]


async def loop_facts(session: AsyncSession, household_id: str) -> LoopFacts:
    since = (
        await session.execute(
            sa.select(household_loops.c.measures_since).where(household_loops.c.household_id == household_id)
        )
    ).scalar_one_or_none()
    rows = (
        await session.execute(
            sa.select(household_measures.c.status, sa.func.count())
            .where(household_measures.c.household_id == household_id)
            .group_by(household_measures.c.status)
        )
    ).all()
    by_status = {r[0]: int(r[1]) for r in rows}
    counts = {
        "open": sum(n for s, n in by_status.items() if s not in FINAL),
        "closed": by_status.get("closed", 0),
        "dropped": by_status.get("dropped", 0),
    }
    return LoopFacts(since, counts["open"] if by_status else None, counts)


class LoopsRepository(OutcomeRecording):
    """A household's loops row (measures since, last re-assessment, red mark), its measures and
    mark history, and the household writes an income update makes — in the unit of work's
    session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _insert(self) -> Any:
        return pg_insert if is_postgres(self.session.bind) else sqlite_insert

    async def ensure_row(self, household_id: str, region_code: str, at: dt.datetime) -> LoopsRowView:
        """The household's loops row, inserted first if there is none (two replicas inserting
        at once: one insert stands, the other does nothing)."""
        session = self.session
        query = sa.select(household_loops).where(household_loops.c.household_id == household_id)
        row = (await session.execute(query)).first()
        if row is not None:
            return row
        stmt = self._insert()(household_loops).values(household_id=household_id, region_code=region_code, updated_at=at)
        await session.execute(stmt.on_conflict_do_nothing(index_elements=["household_id"]))
        return (await session.execute(query)).one()

    async def record_measures_since(self, household_id: str, on: dt.date, at: dt.datetime) -> None:
        """Keep the earlier of the stored day and `on`, in one statement: two replicas handling
        two events of the household cannot lose the earlier day."""
        await self.session.execute(
            sa.update(household_loops)
            .where(
                household_loops.c.household_id == household_id,
                sa.or_(household_loops.c.measures_since.is_(None), household_loops.c.measures_since > on),
            )
            .values(measures_since=on, updated_at=at)
        )

    async def measure_status(self, measure_id: str) -> str | None:
        """The measure's stored status (None: not heard of yet)."""
        return (
            await self.session.execute(
                sa.select(household_measures.c.status).where(household_measures.c.measure_id == measure_id)
            )
        ).scalar_one_or_none()

    async def add_measure(
        self,
        *,
        measure_id: str,
        household_id: str,
        plan_id: str | None,
        type_: str | None,
        status: str,
        on: dt.date | None,
        at: dt.datetime,
    ) -> None:
        await self.session.execute(
            sa.insert(household_measures).values(
                measure_id=measure_id,
                household_id=household_id,
                plan_id=plan_id,
                type=type_,
                status=status,
                changed_on=on,
                updated_at=at,
            )
        )

    async def set_measure_status(self, measure_id: str, status: str, on: dt.date | None, at: dt.datetime) -> None:
        await self.session.execute(
            sa.update(household_measures)
            .where(household_measures.c.measure_id == measure_id)
            .values(status=status, changed_on=on, updated_at=at)
        )

    async def household_for_update(self, household_id: str) -> StoredHousehold | None:
        """The household, its row locked until commit on PostgreSQL: two replicas handling two
        visits of the household one after the other, not both from the same facts."""
        if is_postgres(self.session.bind):
            await self.session.execute(
                sa.select(households.c.id).where(households.c.id == household_id).with_for_update()
            )
        return await get_household(self.session, household_id)

    async def household(self, household_id: str) -> StoredHousehold | None:
        return await get_household(self.session, household_id)

    async def store_facts(self, household_id: str, facts: Mapping[str, Any], profile: str, at: dt.datetime) -> None:
        """The household's new facts and screening profile (its version bumped)."""
        await self.session.execute(
            sa.update(households)
            .where(households.c.id == household_id)
            .values(
                facts=json.dumps(facts, ensure_ascii=False, separators=(",", ":")),
                screening_profile=profile,
                content_hash=None,  # an import of the old record must not count as unchanged
                version=households.c.version + 1,
                updated_at=at,
            )
        )

    async def save_reassessment(
        self,
        household_id: str,
        *,
        visited_on: dt.date,
        visit_id: str | None,
        reassessment: Mapping[str, Any],
        at: dt.datetime,
    ) -> None:
        await self.session.execute(
            sa.update(household_loops)
            .where(household_loops.c.household_id == household_id)
            .values(
                income_visited_on=visited_on,
                income_visit_id=visit_id,
                reassessment=json.dumps(reassessment, ensure_ascii=False),
                updated_at=at,
            )
        )

    async def set_red_mark(self, household_id: str, *, mark: bool, reason: str, by: str, at: dt.datetime) -> bool:
        """Mark (or unmark) the household red; False: it already was so (or another request
        just did it)."""
        marked = household_loops.c.red_mark_reason
        changed = await self.session.execute(
            sa.update(household_loops)
            .where(household_loops.c.household_id == household_id, marked.is_(None) if mark else marked.is_not(None))
            .values(
                red_mark_reason=reason if mark else None,
                red_marked_by=by if mark else None,
                red_marked_at=at if mark else None,
                updated_at=at,
            )
        )
        return bool(changed.rowcount == 1)  # type: ignore[attr-defined]

    async def add_mark(
        self, household_id: str, *, action: str, reason: str, by: str, role: str, at: dt.datetime
    ) -> None:
        """A row of the household's mark history."""
        await self.session.execute(
            sa.insert(household_marks).values(
                household_id=household_id, action=action, reason=reason, by=by, role=role, at=at
            )
        )

    async def audit(
        self,
        *,
        kind: str,
        household_id: str,
        region_code: str,
        actor: str,
        role: str,
        at: dt.datetime,
        detail: Mapping[str, Any],
    ) -> None:
        """An entry of the hash-chained audit log, written with this transaction."""
        await record_audit(
            self.session,
            audit_chain,
            kind=kind,
            subject_type="household",
            subject_id=household_id,
            household_id=household_id,
            region_code=region_code,
            actor=actor,
            role=role,
            at=at,
            detail=detail,
        )

    async def row(self, household_id: str) -> LoopsRowView | None:
        """The household's loops row (None: nothing heard of yet)."""
        return (
            await self.session.execute(sa.select(household_loops).where(household_loops.c.household_id == household_id))
        ).first()

    async def facts(self, household_id: str) -> LoopFacts:
        return await loop_facts(self.session, household_id)

    async def marks(self, household_id: str) -> list[MarkRowView]:
        """The household's mark history, oldest first."""
        return list(
            (
                await self.session.execute(
                    sa.select(household_marks)
                    .where(household_marks.c.household_id == household_id)
                    .order_by(household_marks.c.id)
                )
            ).all()
        )
