"""Assistance statistics: households without a plan drawn up, plans overdue, measures by
type/department/state, visits due/done/overdue by village and by contact person."""

from __future__ import annotations

import datetime as dt
from typing import Any

from shared.auth import Principal

from .common import region_filter, require_reader
from .ports import Reads

__all__ = ["assistance_statistics"]


def _visits(table: dict[Any, dict[str, int]], key: str) -> list[dict[str, Any]]:
    return [{key: k, **v} for k, v in sorted(table.items(), key=lambda kv: str(kv[0]))]


async def assistance_statistics(
    reads: Reads, principal: Principal, *, region: str | None, today: dt.date
) -> dict[str, Any]:
    require_reader(principal)
    scope = region_filter(principal, region)
    month_start = today.replace(day=1)
    due_until = today + dt.timedelta(days=30)
    counts = await reads.statistics(scope, today, month_start, due_until)
    return {
        "region": scope,
        "as_of": today.isoformat(),
        # visits `done` this month so far; `due` in the next 30 days; `overdue` past their date
        "visits_done_since": month_start.isoformat(),
        "visits_due_until": due_until.isoformat(),
        "households_without_plan": {
            "total": sum(counts.without_plan.values()),
            "by_village": [{"region_code": k, "count": v} for k, v in sorted(counts.without_plan.items())],
        },
        "plans_overdue": [{"region_code": k, "count": n} for k, n in counts.plans_overdue],
        "measures": [{"type": t, "department": d, "status": s, "count": n} for t, d, s, n in counts.measures],
        "visits_by_village": _visits(counts.visits_by_village, "region_code"),
        "visits_by_contact": _visits(counts.visits_by_contact, "contact_id"),
    }
