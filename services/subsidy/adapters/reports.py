"""The totals query behind `GET /subsidies/reports`: decisions and whole fen per group and state,
summed by the database (so exact)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.subsidy.adapters.orm import decisions
from shared.identifiers import REGION_LEVELS

__all__ = ["SqlDecisionTotals"]


def _next_level(prefix: str) -> int:
    for n in REGION_LEVELS:
        if n > len(prefix):
            return n
    return len(prefix)


class SqlDecisionTotals:
    """`application.ports.DecisionTotals`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def totals(
        self, *, region: str, group_by: str, as_of_from: dt.date | None, as_of_to: dt.date | None
    ) -> list[tuple[str, str, int, int]]:
        c = decisions.c
        key: Any = {
            "kind": c.kind,
            "month": c.month,
            "funding_source": sa.func.coalesce(c.funding_source, "unspecified"),
            "region_level": sa.func.substr(c.region_code, 1, _next_level(region)),
        }[group_by].label("key")
        q = sa.select(key, c.state, sa.func.count().label("n"), sa.func.sum(c.amount_fen).label("fen"))
        if region:
            q = q.where(c.region_code.startswith(region))
        if as_of_from is not None:
            q = q.where(c.as_of >= as_of_from)
        if as_of_to is not None:
            q = q.where(c.as_of <= as_of_to)
        q = q.group_by(key, c.state)
        return [(str(r.key), r.state, int(r.n), int(r.fen or 0)) for r in (await self.session.execute(q)).all()]
