"""Routes: statistics by region level, category, low-income category, case state, warning colour,
risk type and month (`/statistics/summary`: the dashboard's five tables in one answer);
the income-drop summary by cause; villages over the scale-risk threshold; the printable village
public notice (`/notices/public`, HTML or XLSX). JSON, or `?format=csv` / `?format=xlsx`."""

from __future__ import annotations

import csv
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
_FILES = {200: {"content": {"text/csv": {}, _XLSX: {}}}}


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
    body = await uc.statistics(ctx, uow, principal, region=region, group_by=group_by)
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
    return JSONResponse(await uc.summary(ctx, uow, principal, region=region))


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
    body = await uc.income_drop_summary(ctx, uow, principal, region=region)
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
    body = await uc.scale_risk_villages(ctx, uow, principal, region=region, include_all=all)
    return _table(body["villages"], "scale-risk", format) or JSONResponse(body)


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
    rows = await uc.public_notice_rows(ctx, uow, principal, village)
    if format == "xlsx":
        return _xlsx(rows, f"public-notice-{village}.xlsx", title=f"公示 {village}")
    return HTMLResponse(uc.public_notice_html(village, rows))
