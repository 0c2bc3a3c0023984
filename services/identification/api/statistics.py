"""Routes: statistics by region level, category, low-income category, case state, warning colour,
risk type and month (`/statistics/summary`: the dashboard's five tables in one answer);
the income-drop summary by cause; villages over the scale-risk threshold; the printable village
public notice (`/notices/public`, HTML or XLSX). JSON, or `?format=csv` / `?format=xlsx`."""

from __future__ import annotations

import csv
import html
import io
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from services.identification.adapters.unit_of_work import IdentificationUnitOfWork
from services.identification.api.deps import get_work
from services.identification.application import statistics as uc
from shared.app import ServiceContext, get_ctx, get_principal
from shared.auth import Principal

router = APIRouter(prefix="/api/v1", tags=["statistics"])


_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FILES: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}, _XLSX: {}}}}


def _xlsx(rows: list[dict[str, Any]], filename: str, *, title: str = "fangfan") -> Response:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    if rows:
        ws.append(list(rows[0]))
        for row in rows:
            ws.append([v if isinstance(v, int | str | float) or v is None else str(v) for v in row.values()])
    buffer = io.BytesIO()
    wb.save(buffer)
    return Response(
        buffer.getvalue(), media_type=_XLSX, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


def _table(rows: list[dict[str, Any]], name: str, format: str) -> Response | None:
    if format == "csv":
        return _csv(rows, f"{name}.csv")
    if format == "xlsx":
        return _xlsx(rows, f"{name}.xlsx", title=name)
    return None


def _row_body(row: uc.StatisticsRow) -> dict[str, Any]:
    """A statistics row as its table has always shown it."""
    if isinstance(row, uc.CategoryRow):
        return {row.column: row.value, "status": row.status, "households": row.households}
    if isinstance(row, uc.RegionRow):
        return {
            "region": row.region,
            "level": row.level,
            "households": row.households,
            "monitored": row.monitored,
            "eliminated": row.eliminated,
            "cleared": row.cleared,
            "open_cases": row.open_cases,
        }
    if isinstance(row, uc.CaseStateRow):
        return {"procedure": row.procedure, "state": row.state, "cases": row.cases, "overdue": row.overdue}
    if isinstance(row, uc.RiskTypeRow):
        return {"risk_type": row.risk_type, "status": row.status, "households": row.households}
    if isinstance(row, uc.MonthRow):
        return {"month": row.month, "category": row.category, "households": row.households}
    return {"warning": row.warning, "households": row.households}


def _rows(rows: list[Any]) -> list[dict[str, Any]]:
    return [_row_body(r) for r in rows]


def _statistics_body(result: uc.Statistics) -> dict[str, Any]:
    return {"region": result.region, "group_by": result.group_by, "rows": _rows(result.rows)}


def _summary_body(result: uc.StatisticsSummary) -> dict[str, Any]:
    g = result.groups
    return {
        "region": result.region,
        "groups": {
            "region": _rows(g.region),
            "category": _rows(g.category),
            "low_income_category": _rows(g.low_income_category),
            "state": _rows(g.state),
            "warning": _rows(g.warning),
        },
    }


def _cause_body(c: uc.IncomeDropCause) -> dict[str, Any]:
    return {"cause": c.cause, "households": c.households, "share_of_drops": str(c.share_of_drops)}


def _income_drop_body(result: uc.IncomeDropSummary) -> dict[str, Any]:
    return {
        "region": result.region,
        "households_compared": result.households_compared,
        "with_drop": result.with_drop,
        "share_with_drop": str(result.share_with_drop),
        "causes": [_cause_body(c) for c in result.causes],
        "source": result.source,
    }


def _village_body(v: uc.ScaleRiskVillage) -> dict[str, Any]:
    return {
        "village": v.village,
        "village_population": v.village_population,
        "non_eliminated_monitored": v.non_eliminated_monitored,
        "share": str(v.share),
        "threshold": str(v.threshold),
        "flagged": v.flagged,
        "explanation": v.explanation,
        "rule": v.rule,
        "source": v.source,
    }


def _notice_row(r: uc.NoticeRow) -> dict[str, Any]:
    """A row of the printed notice and of its spreadsheet (headed in Chinese)."""
    return {
        "公示事项": r.title,
        "序号": r.number,
        "身份证号(脱敏)": " / ".join(r.id_numbers_masked),
        "与户主关系": " / ".join(r.relations),
        "类别": r.category or "",
        "风险类型": "、".join(r.risk_types),
        "公示期": f"{r.starts_on} 至 {r.ends_on}" if r.starts_on else "",
    }


def _public_notice_html(village: str, rows: list[dict[str, Any]]) -> str:
    """The printable notice (one table per procedure)."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>公示 {e(village)}</title>",
        "<style>body{font-family:serif;margin:2em}table{border-collapse:collapse;width:100%}"
        "td,th{border:1px solid #000;padding:4px}@media print{.noprint{display:none}}</style>",
        "</head><body>",
        f"<h1>村级公示 {e(village)}</h1>",
        "<p>公示期内如有异议，请向村委会或乡镇反映。</p>",
    ]
    if not rows:
        parts.append("<p>目前没有公示中的对象。</p>")
    columns = ("序号", "身份证号(脱敏)", "与户主关系", "类别", "风险类型", "公示期")
    for title in dict.fromkeys(r["公示事项"] for r in rows):
        parts.append(f"<h2>{e(title)}</h2>")
        parts.append("<table><thead><tr>" + "".join(f"<th>{c}</th>" for c in columns) + "</tr></thead><tbody>")
        for r in (r for r in rows if r["公示事项"] == title):
            cells = [e(str(r[c])).replace(" / ", "<br>") for c in columns]
            parts.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _csv(rows: list[dict[str, Any]], filename: str) -> Response:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/statistics", responses=_FILES)
async def statistics(
    region: str | None = Query(default=None, max_length=12),
    group_by: str = Query(
        default="region", description="region | category | low_income_category | state | warning | risk_type | month"
    ),
    format: Literal["json", "csv", "xlsx"] = "json",
    ctx: ServiceContext = Depends(get_ctx),
    uow: IdentificationUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> Response:
    body = _statistics_body(await uc.statistics(ctx, uow, principal, region=region, group_by=group_by))
    return _table(body["rows"], f"statistics-{group_by}", format) or JSONResponse(body)


@router.get("/statistics/summary")
async def statistics_summary(
    region: str | None = Query(default=None, max_length=12),
    ctx: ServiceContext = Depends(get_ctx),
    uow: IdentificationUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> Response:
    """The tables `group_by=region`, `category`, `low_income_category`, `state` and `warning`
    answer, at once (`{"region", "groups": {group_by: rows}}`, each rows list as that call's),
    from one scan of the region's households: what a dashboard needs in one call."""
    return JSONResponse(_summary_body(await uc.summary(ctx, uow, principal, region=region)))


@router.get("/statistics/income-drop", responses=_FILES)
async def income_drop(
    region: str | None = Query(default=None, max_length=12),
    format: Literal["json", "csv", "xlsx"] = "json",
    ctx: ServiceContext = Depends(get_ctx),
    uow: IdentificationUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> Response:
    """Households whose income fell against last year, their share, and households per cause
    (002 篇一: the ten causes)."""
    body = _income_drop_body(await uc.income_drop_summary(ctx, uow, principal, region=region))
    return _table(body["causes"], "income-drop", format) or JSONResponse(body)


@router.get("/statistics/scale-risk", responses=_FILES)
async def scale_risk(
    region: str | None = Query(default=None, max_length=12),
    all: bool = Query(default=False, description="every village with its share, not only the flagged ones"),
    format: Literal["json", "csv", "xlsx"] = "json",
    ctx: ServiceContext = Depends(get_ctx),
    uow: IdentificationUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> Response:
    report = await uc.scale_risk_villages(ctx, uow, principal, region=region, include_all=all)
    villages = [_village_body(v) for v in report.villages]
    return _table(villages, "scale-risk", format) or JSONResponse({"region": report.region, "villages": villages})


@router.get("/notices/public", response_class=HTMLResponse, responses={200: {"content": {_XLSX: {}}}})
async def public_notice(
    village: str = Query(max_length=12),
    format: Literal["html", "xlsx"] = "html",
    ctx: ServiceContext = Depends(get_ctx),
    uow: IdentificationUnitOfWork = Depends(get_work),
    principal: Principal = Depends(get_principal),
) -> Response:
    """The village's cases under public notice (公示), masked ID numbers only: printable HTML,
    or a spreadsheet with `?format=xlsx`."""
    rows = [_notice_row(r) for r in await uc.public_notice_rows(ctx, uow, principal, village)]
    if format == "xlsx":
        return _xlsx(rows, f"public-notice-{village}.xlsx", title=f"公示 {village}")
    return HTMLResponse(_public_notice_html(village, rows))
