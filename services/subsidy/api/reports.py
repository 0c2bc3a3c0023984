"""Routes: `GET /subsidies/reports` — decided, approved and paid totals (JSON, CSV or XLSX)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from services.subsidy.application.calculation import check_region
from services.subsidy.application.ports import Work
from services.subsidy.application.reports import COLUMNS, SubsidyReport, SumDecisions, Totals, report
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
    data = await report(SumDecisions(prefix, group_by, as_of_from=as_of_from, as_of_to=as_of_to), uow)
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
    return JSONResponse(_body(data))


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _cells(t: Totals) -> dict[str, Any]:
    """A row's columns: the count, and the amounts as strings to the fen."""
    return {
        "decisions": t.decisions,
        "decided": f"{t.decided:.2f}",
        "approved": f"{t.approved:.2f}",
        "paid": f"{t.paid:.2f}",
        "rejected": f"{t.rejected:.2f}",
    }


def _body(data: SubsidyReport) -> dict[str, Any]:
    return {
        "region": data.region,
        "group_by": data.group_by,
        "as_of_from": _iso(data.as_of_from),
        "as_of_to": _iso(data.as_of_to),
        "rows": [{"key": r.key, **_cells(r.totals)} for r in data.rows],
        "totals": _cells(data.totals),
    }


def _table(data: SubsidyReport) -> list[dict[str, Any]]:
    """The rows and then the total, each as {key, ...columns}."""
    return [*({"key": r.key, **_cells(r.totals)} for r in data.rows), {"key": "total", **_cells(data.totals)}]


def to_csv(data: SubsidyReport) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow([data.group_by, *COLUMNS])
    for row in _table(data):
        w.writerow([row["key"], *(row[name] for name in COLUMNS)])
    return out.getvalue()


def to_xlsx(data: SubsidyReport) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "subsidies"
    ws.append([data.group_by, *COLUMNS])
    for row in _table(data):
        ws.append([row["key"], *(row[n] if n == "decisions" else Decimal(row[n]) for n in COLUMNS)])
    for cells in ws.iter_rows(min_row=2, min_col=3):
        for cell in cells:
            cell.number_format = "#,##0.00"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
