"""Reads and writes of appeals, complaints and their published alerts (all SQL of the feature),
the `application.ports` repositories. Rows travel as plain dicts; optimistic concurrency on
`version` (a lost update is a conflict)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.civil_affairs.application.ports import AppealRow, ComplaintRow, StaleVersion
from shared.db import insert_ignoring_duplicates

from .orm_appeals import appeals, complaints, grievance_alerts

__all__ = ["AlertsRepository", "AppealsRepository", "ComplaintsRepository"]


def _within(column: Any, prefix: str) -> Any:
    """`column` lies inside region `prefix` (by level, never stripping zeros)."""
    if not prefix:
        return sa.true()
    return sa.and_(sa.func.length(column) >= len(prefix), sa.func.substr(column, 1, len(prefix)) == prefix)


_R = TypeVar("_R", AppealRow, ComplaintRow)


class _Rows(Generic[_R]):
    """The rows of `table` as dicts of their columns (`_R`: the table's TypedDict)."""

    table: sa.Table

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: Mapping[str, Any]) -> None:
        await self.session.execute(sa.insert(self.table).values(**row))

    async def get(self, record_id: str) -> _R | None:
        found = (await self.session.execute(sa.select(self.table).where(self.table.c.id == record_id))).first()
        return cast(_R, dict(found._mapping)) if found is not None else None

    async def update(self, record_id: str, expected_version: int, values: dict[str, Any]) -> None:
        t = self.table
        result = await self.session.execute(
            sa.update(t).where(t.c.id == record_id, t.c.version == expected_version).values(**values)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise StaleVersion(record_id)


class AppealsRepository(_Rows[AppealRow]):
    table = appeals

    async def page(
        self,
        *,
        region: str,
        appellant_index: str | None,
        state: str | None,
        household_id: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[AppealRow], int]:
        t = appeals
        where = [_within(t.c.region_code, region)]
        if appellant_index is not None:
            where.append(t.c.appellant_index == appellant_index)
        if state:
            where.append(t.c.state == state)
        if household_id:
            where.append(t.c.household_id == household_id)
        total = (await self.session.execute(sa.select(sa.func.count()).select_from(t).where(*where))).scalar_one()
        q = sa.select(t).where(*where).order_by(t.c.created_at.desc(), t.c.id).limit(limit).offset(offset)
        return [cast(AppealRow, dict(r._mapping)) for r in (await self.session.execute(q)).all()], int(total)

    async def open_ones(self) -> list[AppealRow]:
        q = sa.select(appeals).where(appeals.c.state.in_(["received", "under_review"]))
        return [cast(AppealRow, dict(r._mapping)) for r in (await self.session.execute(q)).all()]

    async def open_for_subject(self, kind: str, subject_id: str) -> str | None:
        q = sa.select(appeals.c.id).where(
            appeals.c.subject_kind == kind,
            appeals.c.subject_id == subject_id,
            appeals.c.state.in_(["received", "under_review"]),
        )
        return (await self.session.execute(q)).scalars().first()


class ComplaintsRepository(_Rows[ComplaintRow]):
    table = complaints

    async def page(
        self,
        *,
        region: str,
        complainant_index: str | None,
        department: str | None,
        state: str | None,
        topic: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[ComplaintRow], int]:
        t = complaints
        where: list[Any] = []
        if complainant_index is not None and department is not None:
            where.append(sa.or_(t.c.complainant_index == complainant_index, t.c.responsible_department == department))
            where.append(_within(t.c.region_code, region))
        elif complainant_index is not None:
            where.append(t.c.complainant_index == complainant_index)
        else:
            where.append(sa.or_(_within(t.c.region_code, region), _within(t.c.responsible_region, region)))
        if state:
            where.append(t.c.state == state)
        if topic:
            where.append(t.c.topic == topic)
        total = (await self.session.execute(sa.select(sa.func.count()).select_from(t).where(*where))).scalar_one()
        q = sa.select(t).where(*where).order_by(t.c.created_at.desc(), t.c.id).limit(limit).offset(offset)
        return [cast(ComplaintRow, dict(r._mapping)) for r in (await self.session.execute(q)).all()], int(total)

    async def open_ones(self) -> list[ComplaintRow]:
        q = sa.select(complaints).where(complaints.c.state.in_(["received", "accepted"]))
        return [cast(ComplaintRow, dict(r._mapping)) for r in (await self.session.execute(q)).all()]


class AlertsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, rows: Sequence[dict[str, Any]]) -> set[tuple[str, str]]:
        """Insert alert rows, ignoring those already published; returns the (kind, key) that are new."""
        dialect = self.session.get_bind().dialect.name
        fresh: set[tuple[str, str]] = set()
        for i in range(0, len(rows), 500):
            stmt = insert_ignoring_duplicates(dialect, grievance_alerts, list(rows[i : i + 500])).returning(
                grievance_alerts.c.kind, grievance_alerts.c.key
            )
            fresh.update((k, key) for k, key in (await self.session.execute(stmt)).all())
        return fresh

    async def known(self, ref_ids: set[str]) -> set[tuple[str, str]]:
        """(kind, key) of the alerts already published for these records."""
        ids = sorted(ref_ids)
        out: set[tuple[str, str]] = set()
        t = grievance_alerts
        for i in range(0, len(ids), 500):
            q = sa.select(t.c.kind, t.c.key).where(t.c.ref_id.in_(ids[i : i + 500]))
            out.update((k, key) for k, key in (await self.session.execute(q)).all())
        return out

    async def published(self, ref_id: str) -> list[dict[str, Any]]:
        q = sa.select(grievance_alerts).where(grievance_alerts.c.ref_id == ref_id).order_by(grievance_alerts.c.kind)
        return [dict(r._mapping) for r in (await self.session.execute(q)).all()]
