"""Routes: statistics by region level, category, case state and warning colour; villages over
the scale-risk threshold; the printable village public notice (`/notices/public`). JSON, or CSV
with `?format=csv`."""

from __future__ import annotations

import csv
import io
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.identification.application import statistics as uc
from shared.app import ServiceContext, get_ctx, get_principal, get_session
from shared.auth import Principal

router = APIRouter(prefix="/api/v1", tags=["statistics"])


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


@router.get("/statistics", responses={200: {"content": {"text/csv": {}}}})
async def statistics(
    region: str | None = Query(default=None, max_length=12),
    group_by: str = Query(default="region", description="region | category | state | warning"),
    format: Literal["json", "csv"] = "json",
    ctx: ServiceContext = Depends(get_ctx),
    session: AsyncSession = Depends(get_session),
    principal: Principal = Depends(get_principal),
) -> Response:
    body = await uc.statistics(ctx, session, principal, region=region, group_by=group_by)
    if format == "csv":
        return _csv(body["rows"], f"statistics-{group_by}.csv")
    return JSONResponse(body)


@router.get("/statistics/scale-risk", responses={200: {"content": {"text/csv": {}}}})
async def scale_risk(
    region: str | None = Query(default=None, max_length=12),
    all: bool = Query(default=False, description="every village with its share, not only the flagged ones"),
    format: Literal["json", "csv"] = "json",
    ctx: ServiceContext = Depends(get_ctx),
    session: AsyncSession = Depends(get_session),
    principal: Principal = Depends(get_principal),
) -> Response:
    body = await uc.scale_risk_villages(ctx, session, principal, region=region, include_all=all)
    if format == "csv":
        return _csv(body["villages"], "scale-risk.csv")
    return JSONResponse(body)


@router.get("/notices/public", response_class=HTMLResponse)
async def public_notice(
    village: str = Query(max_length=12),
    ctx: ServiceContext = Depends(get_ctx),
    session: AsyncSession = Depends(get_session),
    principal: Principal = Depends(get_principal),
) -> HTMLResponse:
    return HTMLResponse(await uc.public_notice_html(ctx, session, principal, village))
