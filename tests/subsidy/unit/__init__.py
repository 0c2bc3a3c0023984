"""Unit tests of the subsidy domain; this package holds their shared helpers (the policies in
force for the shipped regions, a checked `run`, hire factories)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from services.subsidy.domain import SubsidyResult, calculate, resolve_subsidy_policy, to_fen
from shared.policy import ResolvedPolicy

LINQUAN = "341221001001"  # a village in Linquan
FUNAN = "341225"
LINGSHOU = "130126"
D2020 = dt.date(2020, 6, 1)
D2021 = dt.date(2021, 6, 1)


def policy(region: str = LINQUAN, as_of: dt.date = D2020) -> ResolvedPolicy:
    return resolve_subsidy_policy(region, as_of)


def run(kind: str, inputs: dict[str, Any], region: str = LINQUAN, as_of: dt.date = D2020) -> SubsidyResult:
    result = calculate(kind, inputs, policy(region, as_of))
    # Every result: two places, never negative, and the exact lines round (once) to the amount.
    assert result.amount == result.amount.quantize(Decimal("0.01"))
    assert result.amount >= 0
    assert to_fen(max(sum((line.amount for line in result.breakdown), Decimal(0)), Decimal(0))) == result.amount
    assert result.explanations, "every result explains itself"
    assert all(e.source for e in result.explanations)
    return result


def hires(n: int, *, poor: bool = True, months: int = 12, prefix: str = "p") -> list[dict[str, Any]]:
    return [{"person_id": f"{prefix}{i}", "contract_months": months, "poor_laborer": poor} for i in range(n)]
