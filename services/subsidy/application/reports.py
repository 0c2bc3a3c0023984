"""Subsidy totals for a region: decided, approved and paid amounts grouped by kind, month (of the
decision's as-of date), funding source or the next region level down; as rows for JSON, CSV and
XLSX. Sums are taken in whole fen by the database, so they are exact."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.subsidy.adapters.orm import decisions
from services.subsidy.adapters.repository import yuan
from shared.identifiers import REGION_LEVELS

__all__ = ["COLUMNS", "GROUPS", "report", "to_csv", "to_xlsx"]

GROUPS = ("kind", "month", "funding_source", "region_level")
COLUMNS = ("decisions", "decided", "approved", "paid", "rejected")
_DECIDED = ("calculated", "approved", "paid")
_APPROVED = ("approved", "paid")


def _next_level(prefix: str) -> int:
    for n in REGION_LEVELS:
        if n > len(prefix):
            return n
    return len(prefix)


async def report(
    session: AsyncSession,
    *,
    region: str,
    group_by: str,
    as_of_from: dt.date | None = None,
    as_of_to: dt.date | None = None,
) -> dict[str, Any]:
    c = decisions.c
    key: Any = {
        "kind": c.kind,
        "month": c.month,
        "funding_source": sa.func.coalesce(c.funding_source, "unspecified"),
        "region_level": sa.func.substr(c.region_code, 1, _next_level(region)),
    }[group_by].label("key")
    q = sa.select(key, c.state, sa.func.count().label("n"), sa.func.sum(c.amount_fen).label("fen"))
    if region:
        q = q.where(c.region_code.startswith(region))
    if as_of_from is not None:
        q = q.where(c.as_of >= as_of_from)
    if as_of_to is not None:
        q = q.where(c.as_of <= as_of_to)
    q = q.group_by(key, c.state)
    groups: dict[str, dict[str, int]] = {}
    for row in (await session.execute(q)).all():
        g = groups.setdefault(str(row.key), dict.fromkeys(COLUMNS, 0))
        fen = int(row.fen or 0)
        g["decisions"] += int(row.n)
        if row.state in _DECIDED:
            g["decided"] += fen
        if row.state in _APPROVED:
            g["approved"] += fen
        if row.state == "paid":
            g["paid"] += fen
        if row.state == "rejected":
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
