"""Assistance statistics under `/api/v1/plans/statistics` (the gateway sends `/statistics` to
identification): households without a plan drawn up, measures by type/department/state, visits
due/done/overdue by village and by contact person. JSON, or `?format=csv`."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from services.assistance.adapters.queries import AssistanceReads
from services.assistance.application.statistics import ShowStatistics, assistance_statistics
from services.assistance.application.views import Statistics
from shared.app import ServiceContext, get_ctx, get_principal
from shared.auth import Principal

from .bodies import statistics_body
from .deps import get_reads

router = APIRouter(prefix="/api/v1", tags=["statistics"])


def _csv(stats: Statistics) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["section", "key", "type", "department", "status", "count", "due", "done", "overdue"])
    for r in stats.households_without_plan:
        w.writerow(["households_without_plan", r.region_code, "", "", "", r.count, "", "", ""])
    for r in stats.plans_overdue:
        w.writerow(["plans_overdue", r.region_code, "", "", "", r.count, "", "", ""])
    for m in stats.measures:
        w.writerow(["measures", "", m.type, m.department, m.status, m.count, "", "", ""])
    for v in stats.visits_by_village:
        w.writerow(["visits_by_village", v.key, "", "", "", "", v.due, v.done, v.overdue])
    for v in stats.visits_by_contact:
        w.writerow(["visits_by_contact", v.key or "", "", "", "", "", v.due, v.done, v.overdue])
    return buf.getvalue()


@router.get("/plans/statistics", response_model=None, responses={200: {"content": {"text/csv": {}}}})
async def statistics(
    region: str | None = None,
    format: str = Query(default="json", pattern="^(json|csv)$"),
    ctx: ServiceContext = Depends(get_ctx),
    queries: AssistanceReads = Depends(get_reads),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any] | Response:
    stats = await assistance_statistics(queries, principal, ShowStatistics(region), today=ctx.today())
    if format == "csv":
        return Response(_csv(stats), media_type="text/csv; charset=utf-8")
    return statistics_body(stats)
