"""The duplicate-person records (`application.ports.DuplicateRepository`): the open ones
touching some households, a new one, one seen again, a page for the resolvers, the resolution
(only while still open)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.orm_duplicates import household_duplicates as dups
from services.identification.application.ports import DuplicateRow
from services.identification.domain.duplicates import DuplicateStatus

__all__ = ["DuplicatesRepository"]


class DuplicatesRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open_touching(self, household_ids: Sequence[str]) -> list[DuplicateRow]:
        """The open records naming any of these households (either side)."""
        wanted = sorted(set(household_ids))
        out: list[DuplicateRow] = []
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            stmt = sa.select(dups).where(
                dups.c.status == str(DuplicateStatus.OPEN),
                sa.or_(dups.c.household_id.in_(chunk), dups.c.other_household_id.in_(chunk)),
            )
            out.extend((await self.session.execute(stmt)).all())
        return out

    async def add(self, values: dict[str, Any]) -> None:
        await self.session.execute(sa.insert(dups).values(**values))

    async def seen_again(self, duplicate_id: str, *, history: str, at: dt.datetime) -> None:
        await self.session.execute(
            sa.update(dups)
            .where(dups.c.id == duplicate_id)
            .values(seen=dups.c.seen + 1, history=history, updated_at=at)
        )

    async def get(self, duplicate_id: str) -> DuplicateRow | None:
        return (await self.session.execute(sa.select(dups).where(dups.c.id == duplicate_id))).first()

    async def page(self, *, status: str, prefix: str, after: str | None, limit: int) -> list[DuplicateRow]:
        """Up to `limit` records in `status` resolved inside `prefix`, in id order after `after`."""
        stmt = sa.select(dups).where(dups.c.status == status)
        if prefix:
            stmt = stmt.where(dups.c.resolve_region.like(prefix + "%"))
        if after:
            stmt = stmt.where(dups.c.id > after)
        return list((await self.session.execute(stmt.order_by(dups.c.id).limit(limit))).all())

    async def resolve(self, duplicate_id: str, values: dict[str, Any]) -> dict[str, Any] | None:
        """Close an open record with `values` and return it as stored; None when it was not
        open any more."""
        done = await self.session.execute(
            sa.update(dups)
            .where(dups.c.id == duplicate_id, dups.c.status == str(DuplicateStatus.OPEN))
            .values(status=str(DuplicateStatus.RESOLVED), **values)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            return None
        row = (await self.session.execute(sa.select(dups).where(dups.c.id == duplicate_id))).one()
        return dict(row._mapping)
