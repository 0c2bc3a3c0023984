"""Routes: `GET /subsidies/reports` — decided, approved and paid totals (JSON, CSV or XLSX)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from services.subsidy.application.calculation import check_region
from services.subsidy.application.ports import Work
from services.subsidy.application.reports import report, to_csv, to_xlsx
from shared.app import get_principal, get_uow
from shared.auth import Principal
from shared.identifiers import region_within

from .calculate import require_officer

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/subsidies", tags=["reports"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/reports",
    summary="Totals decided, approved and paid, grouped",
    responses={200: {"content": {"application/json": {}, "text/csv": {}, XLSX: {}}}},
)
async def subsidy_report(
    region: str | None = Query(default=None, description="region prefix within yours (default: yours)"),
    group_by: Literal["kind", "month", "funding_source", "region_level"] = "kind",
    as_of_from: dt.date | None = None,
    as_of_to: dt.date | None = None,
    format: Literal["json", "csv", "xlsx"] = "json",
    principal: Principal = Depends(get_principal),
    uow: Work = Depends(get_uow),
) -> Response:
    require_officer(principal)
    prefix = principal.region
    if region is not None:
        check_region(region, lambda r: region_within(r, principal.region), path="region")
        prefix = region
    data = await report(uow, region=prefix, group_by=group_by, as_of_from=as_of_from, as_of_to=as_of_to)
    name = f"subsidies-{prefix or 'all'}-{group_by}"
    if format == "csv":
        return Response(
            to_csv(data),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == "xlsx":
        return Response(
            to_xlsx(data), media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'}
        )
    return JSONResponse(
        {**data, "as_of_from": _iso(as_of_from), "as_of_to": _iso(as_of_to)},
    )


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()
