"""Three-colour early warning (三类标识分类预警, 002 篇十四 §(一), Shaanxi) for low-income people not
yet in a programme. Precedence red > orange > yellow; households already on dibao or tekun get
no colour (they are followed in their programme).

- red: a hardship cause (any risk type: illness, disability, disaster, schooling, …) with income
  collapsed or rigid spending surged (the sudden-hardship test of categories.py) or
  expenditure-type hardship, while not qualifying for dibao/tekun;
- orange: dibao standard ≤ per-capita income < dibao-edge line (the text says 1.5 ×; we use the
  region's `dibao_edge_multiplier`, which is 1.5 in Shaanxi). "高于" is read as ≥ so that income
  exactly at the standard — not dibao, since dibao is strictly below — is not left without a colour;
- yellow: in a return-to-poverty category, or exited dibao/tekun and still low-income
  (a low-income category or income below the dibao-edge line).
A household that qualifies for dibao or tekun but is not in it gets an explanation
`suspected_missed_entitlement` (预警分办: to the township to verify).
"""

from __future__ import annotations

from decimal import Decimal

from .categories import SuddenHardshipTest
from .model import (
    DibaoStatus,
    Explanation,
    Household,
    LowIncomeCategory,
    ReturnCategory,
    RiskType,
    Warning,
)
from .params import Param, fmt

__all__ = ["WARNING_SOURCE", "three_colour_warning"]

WARNING_SOURCE = "002 篇十四 §(一) 分类预警 (红、橙、黄三类标识)"
DISPATCH_SOURCE = "002 篇十四 §(一) 预警分办: 疑似应保未保的转乡镇核实"
_IN_PROGRAMME = frozenset({DibaoStatus.DIBAO, DibaoStatus.TEKUN})
_QUALIFIES = frozenset({LowIncomeCategory.DIBAO, LowIncomeCategory.TEKUN})


def three_colour_warning(
    household: Household,
    *,
    per_capita: Decimal,
    standard: Param,
    edge_line: Decimal,
    category: ReturnCategory | None,
    low_income_category: LowIncomeCategory | None,
    risks: tuple[RiskType, ...],
    hardship: SuddenHardshipTest,
) -> tuple[Warning | None, list[Explanation]]:
    inputs = {
        "per_capita_income": per_capita,
        "dibao_standard": standard.value,
        "edge_line": edge_line,
        "dibao_status": str(household.dibao_status),
    }
    if household.dibao_status in _IN_PROGRAMME:
        return None, [
            Explanation(
                "warning_not_applicable",
                WARNING_SOURCE,
                f"household already in a programme ({household.dibao_status}): no warning colour",
                inputs,
            )
        ]
    out: list[Explanation] = []
    if low_income_category in _QUALIFIES:
        out.append(
            Explanation(
                "suspected_missed_entitlement",
                DISPATCH_SOURCE,
                f"qualifies for {low_income_category} but is not in it: township to verify",
                inputs,
            )
        )
    in_hardship = bool(hardship.met) or low_income_category is LowIncomeCategory.EXPENDITURE_HARDSHIP
    if risks and in_hardship and low_income_category not in _QUALIFIES:
        why = hardship.detail if hardship.met else "expenditure-type hardship"
        out.append(
            Explanation(
                "warning_red",
                WARNING_SOURCE,
                f"red: risk(s) {', '.join(risks)} and {why}; not qualifying for dibao",
                inputs,
            )
        )
        return Warning.RED, out
    if standard.value <= per_capita < edge_line:
        out.append(
            Explanation(
                "warning_orange",
                WARNING_SOURCE,
                f"orange: dibao standard {standard.label} ≤ per-capita income {fmt(per_capita)} "
                f"< dibao-edge line {fmt(edge_line)}",
                inputs,
            )
        )
        return Warning.ORANGE, out
    exited_low = household.dibao_status is DibaoStatus.EXITED and (
        low_income_category is not None or per_capita < edge_line
    )
    if category is not None or exited_low:
        why = f"category {category}" if category is not None else "left dibao/tekun, still low-income"
        out.append(Explanation("warning_yellow", WARNING_SOURCE, f"yellow: {why}", inputs))
        return Warning.YELLOW, out
    return None, out
