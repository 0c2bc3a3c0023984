"""Subsidy totals for a region: decided, approved and paid amounts grouped by kind, month (of the
decision's as-of date), funding source or the next region level down. Sums are taken in whole fen
by the database (`ports.DecisionTotals`), so they are exact; they become Decimal yuan once, here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from services.subsidy.application.ports import Work
from services.subsidy.domain.rounding import yuan

__all__ = ["COLUMNS", "GROUPS", "ReportRow", "SubsidyReport", "SumDecisions", "Totals", "report"]

GROUPS = ("kind", "month", "funding_source", "region_level")
COLUMNS = ("decisions", "decided", "approved", "paid", "rejected")
_DECIDED = ("calculated", "approved", "paid")
_APPROVED = ("approved", "paid")


@dataclass(frozen=True, slots=True)
class SumDecisions:
    """Total the decisions within `region` (a code prefix) by `group_by`, over an as-of window."""

    region: str
    group_by: str
    as_of_from: dt.date | None = None
    as_of_to: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Totals:
    """How many decisions, and the yuan decided (calculated, approved or paid), approved (or
    paid), paid and rejected."""

    decisions: int
    decided: Decimal
    approved: Decimal
    paid: Decimal
    rejected: Decimal


@dataclass(frozen=True, slots=True)
class ReportRow:
    key: str
    totals: Totals


@dataclass(frozen=True, slots=True)
class SubsidyReport:
    region: str
    group_by: str
    as_of_from: dt.date | None
    as_of_to: dt.date | None
    rows: list[ReportRow]
    totals: Totals


def _totals(g: dict[str, int]) -> Totals:
    return Totals(
        decisions=g["decisions"],
        decided=yuan(g["decided"]),
        approved=yuan(g["approved"]),
        paid=yuan(g["paid"]),
        rejected=yuan(g["rejected"]),
    )


async def report(q: SumDecisions, uow: Work) -> SubsidyReport:
    groups: dict[str, dict[str, int]] = {}
    rows = await uow.totals.totals(region=q.region, group_by=q.group_by, as_of_from=q.as_of_from, as_of_to=q.as_of_to)
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
    return SubsidyReport(
        region=q.region,
        group_by=q.group_by,
        as_of_from=q.as_of_from,
        as_of_to=q.as_of_to,
        rows=[ReportRow(k, _totals(g)) for k, g in sorted(groups.items())],
        totals=_totals(totals),
    )
