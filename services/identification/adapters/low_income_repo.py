"""Writes of the low-income side's tracked work, in the caller's transaction (the unit of work
commits): the monthly comparison tasks (created once per county, month and department; changed
under optimistic concurrency) and the joint screening runs (the (county, half-year) row is the
lease that makes a run happen once across replicas)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.orm_low_income import joint_screenings, low_income_comparisons
from services.identification.application.monitoring_ports import ComparisonRowView, JointScreeningRowView
from shared.db import insert_ignoring_duplicates

__all__ = ["LowIncomeRepository"]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class LowIncomeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _dialect(self) -> str:
        bind = self.session.get_bind()
        return str(bind.dialect.name)

    async def add_comparison_tasks(self, rows: list[dict[str, Any]]) -> list[str]:
        """Insert the tasks that do not exist yet; the ids of those inserted."""
        if not rows:
            return []
        for r in rows:
            r["due_rule"] = _dumps(r["due_rule"])
            r["history"] = _dumps(r.get("history", []))
        stmt = insert_ignoring_duplicates(self._dialect, low_income_comparisons, rows).returning(
            low_income_comparisons.c.id
        )
        return [str(x) for x in (await self.session.execute(stmt)).scalars()]

    async def comparison_for_update(self, task_id: str) -> ComparisonRowView | None:
        stmt = sa.select(low_income_comparisons).where(low_income_comparisons.c.id == task_id)
        if self._dialect == "postgresql":
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).one_or_none()

    async def save_comparison(self, task_id: str, version: int, values: dict[str, Any]) -> bool:
        """Write `values` if the task is still at `version` (bumps it); False: someone else
        changed it first."""
        for name in ("receipt", "result", "history"):
            if name in values and not isinstance(values[name], str | None):
                values[name] = _dumps(values[name])
        result = await self.session.execute(
            sa.update(low_income_comparisons)
            .where(low_income_comparisons.c.id == task_id, low_income_comparisons.c.version == version)
            .values(**values, version=version + 1)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def overdue_candidates(self, today: dt.date) -> list[ComparisonRowView]:
        """Tasks not compared and not yet overdue whose due day has passed."""
        c = low_income_comparisons.c
        stmt = (
            sa.select(low_income_comparisons)
            .where(c.state.in_(("pending", "received")), c.due_on < today)
            .order_by(c.county, c.month, c.department)
        )
        return list((await self.session.execute(stmt)).all())

    async def claim_joint_screening(self, row: dict[str, Any]) -> bool:
        """Insert the (county, period) run; False when it exists (another replica or an earlier
        call started it)."""
        row = dict(row, schedule=_dumps(row["schedule"]))
        stmt = insert_ignoring_duplicates(self._dialect, joint_screenings, [row]).returning(joint_screenings.c.id)
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def joint_screening(self, county: str, period: str) -> JointScreeningRowView | None:
        stmt = sa.select(joint_screenings).where(
            joint_screenings.c.county == county, joint_screenings.c.period == period
        )
        return (await self.session.execute(stmt)).one_or_none()

    async def running_joint_screenings(self) -> list[JointScreeningRowView]:
        stmt = sa.select(joint_screenings).where(joint_screenings.c.status == "running")
        return list((await self.session.execute(stmt)).all())

    async def finish_joint_screening(
        self, run_id: str, *, status: str, result: dict[str, Any] | None, at: dt.datetime
    ) -> bool:
        done = await self.session.execute(
            sa.update(joint_screenings)
            .where(joint_screenings.c.id == run_id, joint_screenings.c.status == "running")
            .values(status=status, result=None if result is None else _dumps(result), finished_at=at)
        )
        return bool(done.rowcount == 1)  # type: ignore[attr-defined]
