"""Subsidy totals for a region: decided, approved and paid amounts grouped by kind, month (of the
decision's as-of date), funding source or the next region level down; as rows for JSON, CSV and
XLSX. Sums are taken in whole fen by the database (`ports.DecisionTotals`), so they are exact."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from services.subsidy.application.ports import Work
from services.subsidy.domain.rounding import yuan

__all__ = ["COLUMNS", "GROUPS", "report", "to_csv", "to_xlsx"]

GROUPS = ("kind", "month", "funding_source", "region_level")
COLUMNS = ("decisions", "decided", "approved", "paid", "rejected")
_DECIDED = ("calculated", "approved", "paid")
_APPROVED = ("approved", "paid")


async def report(
    uow: Work,
    *,
    region: str,
    group_by: str,
    as_of_from: dt.date | None = None,
    as_of_to: dt.date | None = None,
) -> dict[str, Any]:
    groups: dict[str, dict[str, int]] = {}
    rows = await uow.totals.totals(region=region, group_by=group_by, as_of_from=as_of_from, as_of_to=as_of_to)
    for key, state, n, fen in rows:
        g = groups.setdefault(key, dict.fromkeys(COLUMNS, 0))
        g["decisions"] += n
        if state in _DECIDED:
            g["decided"] += fen
        if state in _APPROVED:
            g["approved"] += fen
        if state == "paid":
            g["paid"] += fen
        if state == "rejected":
            g["rejected"] += fen
    totals = {name: sum(g[name] for g in groups.values()) for name in COLUMNS}
    return {
        "region": region,
        "group_by": group_by,
        "as_of_from": as_of_from,
        "as_of_to": as_of_to,
        "rows": [{"key": k, **_money(g)} for k, g in sorted(groups.items())],
        "totals": _money(totals),
    }


def _money(g: dict[str, int]) -> dict[str, Any]:
    return {name: (g[name] if name == "decisions" else f"{yuan(g[name]):.2f}") for name in COLUMNS}


def to_csv(data: dict[str, Any]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow([data["group_by"], *COLUMNS])
    for row in data["rows"]:
        w.writerow([row["key"], *(row[name] for name in COLUMNS)])
    w.writerow(["total", *(data["totals"][name] for name in COLUMNS)])
    return out.getvalue()


def to_xlsx(data: dict[str, Any]) -> bytes:
    from decimal import Decimal

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "subsidies"
    ws.append([data["group_by"], *COLUMNS])
    for row in [*data["rows"], {"key": "total", **data["totals"]}]:
        ws.append([row["key"], *(row[n] if n == "decisions" else Decimal(row[n]) for n in COLUMNS)])
    for cells in ws.iter_rows(min_row=2, min_col=3):
        for cell in cells:
            cell.number_format = "#,##0.00"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
