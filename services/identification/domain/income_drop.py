"""Income-drop screening (减收排查, 002 篇一): each income kind against last year, a cause tag on
each drop where the figures allow one, and the ≥10 % growth target.

Cause inference (the ten causes of 篇一 §(二); only what the figures can show):
- business down → natural_disaster if a disaster is declared, else farming_reduced (1/8);
- wage down → wage_work_lost (4; a lost public-welfare post (5) looks the same in the figures —
  the officer retags it);
- property down → industry_dividend_cut (2; collective/project dividends are property income,
  photovoltaic dividends (3) cannot be told apart);
- transfer down → dibao_cancelled if the household has exited dibao, else subsidy_cut (6/7).
Causes 5, 9 and 10 are left to the officer.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from shared.policy import ResolvedPolicy

from .model import (
    ZERO,
    DibaoStatus,
    Explanation,
    Household,
    IncomeDropCause,
    IncomeDropResult,
    IncomeKindChange,
    RiskType,
)
from .params import decimal_param, fmt

__all__ = ["INCOME_DROP_SOURCE", "income_drop"]

INCOME_DROP_SOURCE = "002 篇一 §(二): 经营性、工资性、财产性、转移性收入与上年逐项对比; 减收原因1–10"
GROWTH_SOURCE = "002 篇一 §(四): 当年家庭收入在上年的基础上稳定增加10%以上"
_RATIO = Decimal("0.0001")


def _cause(kind: str, household: Household) -> IncomeDropCause:
    if kind == "business":
        if RiskType.DISASTER in household.declared_risks:
            return IncomeDropCause.NATURAL_DISASTER
        return IncomeDropCause.FARMING_REDUCED
    if kind == "wage":
        return IncomeDropCause.WAGE_WORK_LOST
    if kind == "property":
        return IncomeDropCause.INDUSTRY_DIVIDEND_CUT
    if household.dibao_status is DibaoStatus.EXITED:
        return IncomeDropCause.DIBAO_CANCELLED
    return IncomeDropCause.SUBSIDY_CUT


def income_drop(household: Household, policy: ResolvedPolicy) -> tuple[IncomeDropResult | None, list[Explanation]]:
    """None (and no explanation) when last year's income is not known."""
    last = household.last_year_income
    if last is None:
        return None, []
    this_kinds, last_kinds = household.income.by_kind(), last.by_kind()
    changes = []
    for kind, now in this_kinds.items():
        before = last_kinds[kind]
        dropped = now < before
        cause = _cause(kind, household) if dropped else None
        changes.append(IncomeKindChange(kind, now, before, now - before, dropped, cause))
    total_now, total_before = sum(this_kinds.values(), ZERO), sum(last_kinds.values(), ZERO)
    ratio: Decimal | None = None
    meets: bool | None = None
    target_src = ""
    if total_before > ZERO:
        ratio = ((total_now - total_before) / total_before).quantize(_RATIO, ROUND_HALF_UP)
        if "income_growth_target" in policy:
            target = decimal_param(policy, "income_growth_target")
            # exactly, not the rounded ratio shown: 9.996 % is not 10 %
            meets = total_now - total_before >= target.value * total_before
            target_src = f"; income_growth_target: {target.source}"
    result = IncomeDropResult(
        kinds=tuple(changes),
        total_this_year=total_now,
        total_last_year=total_before,
        total_change=total_now - total_before,
        growth_ratio=ratio,
        meets_growth_target=meets,
    )
    drops = [c for c in changes if c.dropped]
    detail = (
        "; ".join(f"{c.kind} {fmt(c.this_year)} < last year {fmt(c.last_year)} ({c.cause})" for c in drops)
        or "no income kind fell against last year"
    )
    detail += f"; total {fmt(total_now)} vs {fmt(total_before)}"
    if ratio is not None:
        detail += f" (change {fmt(ratio * 100)}%)"
    inputs = {c.kind: {"this_year": c.this_year, "last_year": c.last_year} for c in changes}
    source = INCOME_DROP_SOURCE
    if meets is not None:
        source += f"; {GROWTH_SOURCE}{target_src}"
        detail += "; growth target met" if meets else "; growth target not met"
    return result, [Explanation("income_drop", source, detail, inputs)]
