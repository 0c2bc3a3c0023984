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
from services.assistance.application.statistics import assistance_statistics
from shared.app import ServiceContext, get_ctx, get_principal
from shared.auth import Principal

from .deps import get_reads

router = APIRouter(prefix="/api/v1", tags=["statistics"])


def _csv(stats: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["section", "key", "type", "department", "status", "count", "due", "done", "overdue"])
    for r in stats["households_without_plan"]["by_village"]:
        w.writerow(["households_without_plan", r["region_code"], "", "", "", r["count"], "", "", ""])
    for r in stats["plans_overdue"]:
        w.writerow(["plans_overdue", r["region_code"], "", "", "", r["count"], "", "", ""])
    for r in stats["measures"]:
        w.writerow(["measures", "", r["type"], r["department"], r["status"], r["count"], "", "", ""])
    for r in stats["visits_by_village"]:
        w.writerow(["visits_by_village", r["region_code"], "", "", "", "", r["due"], r["done"], r["overdue"]])
    for r in stats["visits_by_contact"]:
        w.writerow(["visits_by_contact", r["contact_id"] or "", "", "", "", "", r["due"], r["done"], r["overdue"]])
    return buf.getvalue()


@router.get("/plans/statistics", response_model=None, responses={200: {"content": {"text/csv": {}}}})
async def statistics(
    region: str | None = None,
    format: str = Query(default="json", pattern="^(json|csv)$"),
    ctx: ServiceContext = Depends(get_ctx),
    queries: AssistanceReads = Depends(get_reads),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any] | Response:
    stats = await assistance_statistics(queries, principal, region=region, today=ctx.today())
    if format == "csv":
        return Response(_csv(stats), media_type="text/csv; charset=utf-8")
    return stats
