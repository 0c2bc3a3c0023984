"""Assistance statistics under `/api/v1/plans/statistics` (the gateway sends `/statistics` to
identification): households without a plan drawn up, measures by type/department/state, visits
due/done/overdue by village and by contact person. JSON, or `?format=csv`."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.assistance.adapters.orm import households, measures, plans, visits
from services.assistance.application.common import region_filter, require_reader
from shared.app import ServiceContext, get_ctx, get_principal, get_session
from shared.auth import Principal

router = APIRouter(prefix="/api/v1", tags=["statistics"])


def _prefix(col: Any, region: str) -> Any:
    return col.like(f"{region}%") if region else sa.true()


async def assistance_statistics(session: AsyncSession, scope: str, day: dt.date) -> dict[str, Any]:
    month_start = day.replace(day=1)
    due_until = day + dt.timedelta(days=30)
    active = plans.alias("active")
    no_plan = (
        sa.select(households.c.region_code, sa.func.count())
        .select_from(households.outerjoin(active, active.c.active_key == households.c.id))
        .where(
            _prefix(households.c.region_code, scope),
            households.c.monitoring_status.in_(["monitored", "pending"]),
            sa.or_(active.c.id.is_(None), active.c.drawn_up_on.is_(None)),
        )
        .group_by(households.c.region_code)
    )
    without = {r[0]: int(r[1]) for r in (await session.execute(no_plan)).all()}
    overdue_plans = (
        await session.execute(
            sa.select(plans.c.region_code, sa.func.count())
            .where(
                _prefix(plans.c.region_code, scope),
                plans.c.drawn_up_on.is_(None),
                plans.c.status != "closed",
                plans.c.due_date < day,
            )
            .group_by(plans.c.region_code)
        )
    ).all()
    m_rows = (
        await session.execute(
            sa.select(measures.c.type, measures.c.department, measures.c.status, sa.func.count())
            .where(_prefix(measures.c.region_code, scope))
            .group_by(measures.c.type, measures.c.department, measures.c.status)
            .order_by(measures.c.type, measures.c.department, measures.c.status)
        )
    ).all()

    def visit_rows(key: Any) -> Any:
        due = sa.select(key, sa.func.count()).where(
            _prefix(plans.c.region_code, scope), plans.c.next_visit_due.between(day, due_until)
        )
        over = sa.select(key, sa.func.count()).where(_prefix(plans.c.region_code, scope), plans.c.next_visit_due < day)
        return due.group_by(key), over.group_by(key)

    async def visits_by(plan_key: Any, visit_key: Any) -> list[dict[str, Any]]:
        due_q, over_q = visit_rows(plan_key)
        done_q = (
            sa.select(visit_key, sa.func.count())
            .where(_prefix(visits.c.region_code, scope), visits.c.visited_on.between(month_start, day))
            .group_by(visit_key)
        )
        table: dict[Any, dict[str, int]] = {}
        for name, q in (("due", due_q), ("overdue", over_q), ("done", done_q)):
            for k, n in (await session.execute(q)).all():
                table.setdefault(k, {"due": 0, "done": 0, "overdue": 0})[name] = int(n)
        return [{"key": k, **v} for k, v in sorted(table.items(), key=lambda kv: str(kv[0]))]

    by_village = await visits_by(plans.c.region_code, visits.c.region_code)
    by_contact = await visits_by(plans.c.contact_id, visits.c.contact_id)
    return {
        "region": scope,
        "as_of": day.isoformat(),
        # visits `done` this month so far; `due` in the next 30 days; `overdue` past their date
        "visits_done_since": month_start.isoformat(),
        "visits_due_until": due_until.isoformat(),
        "households_without_plan": {
            "total": sum(without.values()),
            "by_village": [{"region_code": k, "count": v} for k, v in sorted(without.items())],
        },
        "plans_overdue": [{"region_code": k, "count": int(v)} for k, v in overdue_plans],
        "measures": [{"type": t, "department": d, "status": s, "count": int(n)} for t, d, s, n in m_rows],
        "visits_by_village": [{"region_code": r.pop("key"), **r} for r in by_village],
        "visits_by_contact": [{"contact_id": r.pop("key"), **r} for r in by_contact],
    }


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
    session: AsyncSession = Depends(get_session),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any] | Response:
    require_reader(principal)
    stats = await assistance_statistics(session, region_filter(principal, region), ctx.today())
    if format == "csv":
        return Response(_csv(stats), media_type="text/csv; charset=utf-8")
    return stats
