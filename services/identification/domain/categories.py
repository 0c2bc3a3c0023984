"""The three return-to-poverty categories (002 篇八 §(一); 篇九 §二(二); 篇十二 §(二)).

- unstable_escaped (脱贫不稳定户): an escaped household, per-capita income below the line, with a
  risk; marginal (边缘易致贫户): the same for an ordinary household. "Below" is strict (低于):
  income exactly at the line is not below it. The line is a key indicator, not the only one
  (篇九 §二(三)): below the line without any risk type is no category.
- sudden_hardship (突发严重困难户): at or above the line, with a risk type, and — Hebei's test
  (篇十二 §(二)), made measurable — rigid spending (medical + education + other rigid) greater
  than `sudden_hardship_rigid_to_income_ratio` × last year's counted income, or counted income
  fallen by at least `sudden_hardship_income_drop_ratio` against last year. Without last year's
  income the test cannot be made and the category is not given (the explanation says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shared.policy import ResolvedPolicy

from .model import ZERO, Explanation, Household, ReturnCategory, RiskType
from .params import Param, decimal_param, fmt

__all__ = [
    "CATEGORY_SOURCE",
    "SUDDEN_HARDSHIP_SOURCE",
    "SuddenHardshipTest",
    "classify_return_category",
    "sudden_hardship_test",
]

CATEGORY_SOURCE = "002 篇八 §(一); 篇九 §二(二)①②: 年人均纯收入低于监测范围且存在返贫/致贫风险"
SUDDEN_HARDSHIP_SOURCE = "002 篇九 §二(二)③; 篇十二 §(二): 刚性支出明显超过上年度收入和收入大幅缩减影响基本生活"
NOT_ONLY_CRITERION_SOURCE = "002 篇九 §二(三): 收入基准线是确定监测对象的重要参考指标,但不是唯一标准"


@dataclass(frozen=True, slots=True)
class SuddenHardshipTest:
    """Whether spending surged or income collapsed against last year (None: cannot tell)."""

    met: bool | None
    rigid_spending: Decimal
    last_year_income: Decimal | None
    this_year_income: Decimal
    rigid_exceeds: bool
    income_collapsed: bool
    detail: str
    sources: str


def sudden_hardship_test(household: Household, policy: ResolvedPolicy) -> SuddenHardshipTest:
    rigid = household.expenses.rigid_total
    now = household.income.counted_total
    last = household.last_year_income
    if last is None:
        return SuddenHardshipTest(None, rigid, None, now, False, False, "no last-year income to compare against", "")
    rigid_ratio: Param = decimal_param(policy, "sudden_hardship_rigid_to_income_ratio")
    drop_ratio: Param = decimal_param(policy, "sudden_hardship_income_drop_ratio")
    before = last.counted_total
    exceeds = rigid > rigid_ratio.value * before
    collapsed = before > ZERO and (before - now) >= drop_ratio.value * before
    detail = (
        f"rigid spending {fmt(rigid)} {'>' if exceeds else '≤'} {fmt(rigid_ratio.value)} × "
        f"last-year income {fmt(before)}; income {fmt(now)} "
        f"{'fell' if collapsed else 'did not fall'} by ≥ {fmt(drop_ratio.value * 100)}%"
    )
    sources = (
        f"sudden_hardship_rigid_to_income_ratio: {rigid_ratio.source}; "
        f"sudden_hardship_income_drop_ratio: {drop_ratio.source}"
    )
    return SuddenHardshipTest(exceeds or collapsed, rigid, before, now, exceeds, collapsed, detail, sources)


def classify_return_category(
    household: Household,
    per_capita: Decimal,
    risks: tuple[RiskType, ...],
    policy: ResolvedPolicy,
) -> tuple[ReturnCategory | None, list[Explanation]]:
    line = decimal_param(policy, "monitoring_line")
    inputs: dict[str, object] = {
        "per_capita_income": per_capita,
        "monitoring_line": line.value,
        "risk_types": [str(r) for r in risks],
        "escaped_poverty": household.escaped_poverty,
    }
    if per_capita < line.value:
        below = f"per-capita income {fmt(per_capita)} < monitoring line {line.label}"
        if not risks:
            return None, [
                Explanation(
                    "below_line_no_risk",
                    f"{NOT_ONLY_CRITERION_SOURCE}; monitoring_line: {line.source}",
                    f"{below}, but no return-to-poverty risk identified: not a category",
                    inputs,
                )
            ]
        cat = ReturnCategory.UNSTABLE_ESCAPED if household.escaped_poverty else ReturnCategory.MARGINAL
        kind = "escaped" if household.escaped_poverty else "ordinary"
        return cat, [
            Explanation(
                str(cat),
                f"{CATEGORY_SOURCE}; monitoring_line: {line.source}",
                f"{below}; {kind} household with risk(s) {', '.join(risks)}",
                inputs,
            )
        ]
    at_or_above = f"per-capita income {fmt(per_capita)} ≥ monitoring line {line.label}"
    test = sudden_hardship_test(household, policy)
    inputs |= {"rigid_spending": test.rigid_spending, "last_year_income": test.last_year_income}
    if test.met and risks:
        return ReturnCategory.SUDDEN_HARDSHIP, [
            Explanation(
                "sudden_hardship",
                f"{SUDDEN_HARDSHIP_SOURCE}; {test.sources}",
                f"{at_or_above}; {test.detail}; risk(s) {', '.join(risks)}",
                inputs,
            )
        ]
    why = test.detail if not test.met else "no risk type identified"
    return None, [
        Explanation(
            "above_line",
            f"{CATEGORY_SOURCE}; {SUDDEN_HARDSHIP_SOURCE}; monitoring_line: {line.source}",
            f"{at_or_above} and no sudden hardship: {why}",
            inputs,
        )
    ]
