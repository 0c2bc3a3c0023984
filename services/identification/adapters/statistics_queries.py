"""The read queries of statistics (`application/statistics.py`): counts over a region's
households, their outcomes, signal warnings and red marks, and over cases; the members behind a
village's public notice. Reads only; the dialect (NULL ordering) is answered here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.households import StoredHousehold, iter_region_households
from services.identification.adapters.orm import household_outcomes, households, members
from services.identification.adapters.orm_cases import cases, risk_warnings
from services.identification.adapters.orm_loops import household_loops
from services.identification.adapters.registry import WARNING_COLOUR
from services.identification.application.monitoring_ports import NoticeCaseRow, RegionCountsRow, SummaryScanRow

__all__ = ["StatisticsQueries"]

_with_outcomes = households.outerjoin(household_outcomes, household_outcomes.c.household_id == households.c.id)
#: what WARNING_COLOUR reads (the red mark, the signals' colour, the outcome)
_WITH_WARNINGS = _with_outcomes.outerjoin(risk_warnings, risk_warnings.c.household_id == households.c.id).outerjoin(
    household_loops, household_loops.c.household_id == households.c.id
)


def _in_region(prefix: str) -> Any:
    return households.c.region_code.like(prefix + "%")


class StatisticsQueries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _all(self, stmt: Any) -> list[Any]:
        return list((await self.session.execute(stmt)).all())

    @property
    def nulls_first(self) -> bool:
        """Whether ORDER BY puts NULL first (SQLite) or last (PostgreSQL)."""
        return bool(self.session.get_bind().dialect.name != "postgresql")

    async def by_region(self, prefix: str, n: int) -> list[RegionCountsRow]:
        """(region, households, monitored, eliminated, cleared) per region of `n` digits."""
        key = sa.func.substr(households.c.region_code, 1, n)
        return await self._all(
            sa.select(
                key.label("region"),
                sa.func.count().label("households"),
                sa.func.sum(sa.case((households.c.status == "monitored", 1), else_=0)).label("monitored"),
                sa.func.sum(sa.case((households.c.status == "eliminated", 1), else_=0)).label("eliminated"),
                sa.func.sum(sa.case((households.c.status == "cleared", 1), else_=0)).label("cleared"),
            )
            .where(_in_region(prefix))
            .group_by(key)
            .order_by(key)
        )

    async def by_outcome_column(self, prefix: str, column_name: str) -> list[tuple[str | None, str, int]]:
        """(value of the outcome's `column_name`, status, households), status then value order."""
        column = household_outcomes.c[column_name]
        return await self._all(
            sa.select(column, households.c.status, sa.func.count())
            .select_from(_with_outcomes)
            .where(_in_region(prefix))
            .group_by(column, households.c.status)
            .order_by(households.c.status, column)
        )

    async def identification_risks(self, prefix: str) -> list[tuple[str, str | None]]:
        """(state, risk_types JSON) of every identification case of the region."""
        return await self._all(
            sa.select(cases.c.state, cases.c.risk_types).where(
                cases.c.region_code.like(prefix + "%"), cases.c.procedure == "identification"
            )
        )

    async def identified_by_month(self, prefix: str) -> list[tuple[str, str | None, int]]:
        """(month monitoring began, category, households) of the region's identification cases."""
        month = sa.func.substr(sa.cast(cases.c.monitored_since, sa.String), 1, 7)
        return await self._all(
            sa.select(month.label("month"), cases.c.category, sa.func.count())
            .where(
                cases.c.region_code.like(prefix + "%"),
                cases.c.procedure == "identification",
                cases.c.monitored_since.is_not(None),
            )
            .group_by(month, cases.c.category)
            .order_by(month, cases.c.category)
        )

    async def by_warning(self, prefix: str) -> list[tuple[str, int]]:
        """(warning colour, households) of the region, red marks and signals first."""
        colour = WARNING_COLOUR
        return await self._all(
            sa.select(colour.label("warning"), sa.func.count())
            .select_from(_WITH_WARNINGS)
            .where(_in_region(prefix), colour.is_not(None))
            .group_by(colour)
            .order_by(colour)
        )

    async def open_cases(self, prefix: str, n: int) -> dict[str, int]:
        """Open cases per region of the next level (`n` digits)."""
        key = sa.func.substr(cases.c.region_code, 1, n)
        stmt = (
            sa.select(key, sa.func.count())
            .where(cases.c.region_code.like(prefix + "%"), cases.c.is_open.is_(True))
            .group_by(key)
        )
        return {k: int(v) for k, v in await self._all(stmt)}

    async def case_states(self, prefix: str, today: dt.date) -> list[tuple[str, str, int, int | None]]:
        """(procedure, state, cases, open past their deadline) of the region."""
        overdue = sa.func.sum(sa.case((sa.and_(cases.c.is_open.is_(True), cases.c.deadline < today), 1), else_=0))
        return await self._all(
            sa.select(cases.c.procedure, cases.c.state, sa.func.count(), overdue)
            .where(cases.c.region_code.like(prefix + "%"))
            .group_by(cases.c.procedure, cases.c.state)
            .order_by(cases.c.procedure, cases.c.state)
        )

    async def summary_scan(self, prefix: str, n: int) -> list[SummaryScanRow]:
        """ONE scan of the region's households joined to their outcomes and warnings: (region of
        `n` digits, status, category, low-income category, warning colour, households)."""
        key = sa.func.substr(households.c.region_code, 1, n)
        outcome = household_outcomes.c
        columns = (key, households.c.status, outcome.category, outcome.low_income_category, WARNING_COLOUR)
        return await self._all(
            sa.select(*columns, sa.func.count())
            .select_from(_WITH_WARNINGS)
            .where(_in_region(prefix))
            .group_by(*columns)
        )

    async def monitored_per_village(self, prefix: str) -> dict[str, int]:
        stmt = (
            sa.select(households.c.region_code, sa.func.count())
            .where(_in_region(prefix), households.c.status == "monitored")
            .group_by(households.c.region_code)
        )
        return dict(await self._all(stmt))

    async def population(self, *, prefix: str | None = None, villages: Sequence[str] = ()) -> dict[str, int]:
        """Members per village: of every village of `prefix`, or of `villages` (looked up in
        batches — the status index finds them, most villages of a county never joined)."""
        people = sa.select(households.c.region_code, sa.func.count()).select_from(
            members.join(households, households.c.id == members.c.household_id)
        )
        if prefix is not None:
            return dict(await self._all(people.where(_in_region(prefix)).group_by(households.c.region_code)))
        out: dict[str, int] = {}
        for i in range(0, len(villages), 500):
            chunk = list(villages[i : i + 500])
            stmt = people.where(households.c.region_code.in_(chunk)).group_by(households.c.region_code)
            out.update(dict(await self._all(stmt)))
        return out

    async def notice_cases(self, village: str) -> list[NoticeCaseRow]:
        """The village's cases under public notice, by procedure and start of the notice."""
        return await self._all(
            sa.select(cases)
            .where(cases.c.region_code == village, cases.c.state == "public_notice")
            .order_by(cases.c.procedure, cases.c.notice_started_on, cases.c.id)
        )

    async def masked_members(self, household_ids: Sequence[str]) -> list[tuple[str, str, str]]:
        """(household_id, masked ID number, relation) of the households' members, in order."""
        if not household_ids:
            return []
        return await self._all(
            sa.select(members.c.household_id, members.c.id_number_masked, members.c.relation)
            .where(members.c.household_id.in_(list(household_ids)))
            .order_by(members.c.household_id, members.c.position)
        )

    async def region_page(self, prefix: str, *, after: tuple[str, str] | None, limit: int) -> list[StoredHousehold]:
        return await iter_region_households(self.session, prefix, after=after, limit=limit)
