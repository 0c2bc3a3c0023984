"""Reads of what assistance told identification about a household (tables in orm_loops.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.adapters.orm_loops import household_loops, household_measures

__all__ = ["FINAL", "LoopFacts", "loop_facts"]

#: measure statuses that are final (delivered or given up)
FINAL = frozenset({"closed", "dropped"})


@dataclass(frozen=True, slots=True)
class LoopFacts:
    """What assistance told about a household, for the §5 guards."""

    measures_since: dt.date | None
    #: None: no measure heard of (the `measures_open` guard stays out)
    measures_open: int | None
    counts: Mapping[str, int]


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
