"""Assistance statistics: households without a plan drawn up, plans overdue, measures by
type/department/state, visits due/done/overdue by village and by contact person."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from shared.auth import Principal

from .common import region_filter, require_reader
from .ports import Reads
from .views import MeasureCount, RegionCount, Statistics, VisitCounts

__all__ = ["ShowStatistics", "assistance_statistics"]


@dataclass(frozen=True, slots=True)
class ShowStatistics:
    """The statistics of `region` (within the caller's; default theirs)."""

    region: str | None = None


def _visits(table: dict[Any, dict[str, int]]) -> tuple[VisitCounts, ...]:
    return tuple(
        VisitCounts(k, due=v["due"], done=v["done"], overdue=v["overdue"])
        for k, v in sorted(table.items(), key=lambda kv: str(kv[0]))
    )


async def assistance_statistics(reads: Reads, principal: Principal, q: ShowStatistics, *, today: dt.date) -> Statistics:
    """Visits `done` this month so far, `due` in the next 30 days, `overdue` past their date."""
    require_reader(principal)
    scope = region_filter(principal, q.region)
    month_start = today.replace(day=1)
    due_until = today + dt.timedelta(days=30)
    counts = await reads.statistics(scope, today, month_start, due_until)
    return Statistics(
        region=scope,
        as_of=today,
        visits_done_since=month_start,
        visits_due_until=due_until,
        households_without_plan=tuple(RegionCount(k, v) for k, v in sorted(counts.without_plan.items())),
        plans_overdue=tuple(RegionCount(k, n) for k, n in counts.plans_overdue),
        measures=tuple(MeasureCount(t, d, s, n) for t, d, s, n in counts.measures),
        visits_by_village=_visits(counts.visits_by_village),
        visits_by_contact=_visits(counts.visits_by_contact),
    )
