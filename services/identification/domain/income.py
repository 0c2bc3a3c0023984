"""Per-capita household income for monitoring (DOMAIN.md §2), with exemptions and deductions.

per-capita = (wage + business + property + transfer + insurance claims [+ imputed wage]
              − compliant out-of-pocket medical − employment costs) / members
(002 篇二 §(一)3①, Liaoning). Interpretations written down here:
- `exempt` income (basic resident pension, 抚恤金/优待金, 两残补贴, guaranteed project returns;
  002 篇三 §(一), 篇五 §(一), 篇一 §8) is reported apart and never counted.
- Employment costs (job-search travel, lodging, living: 000 safety-net §三(二)1; 篇一 §8) are
  deducted for every household, not only dibao families — the Anhui rule is written for dibao
  accounting but 篇一 §8 applies it to all monitored households.
- A dibao family's unverifiable employment income is counted at the local monthly minimum wage
  × 12 per unverified earner (002 篇三 §(一)); only when the household is on dibao.
- The result may be negative (large medical costs); it is rounded half-up to the fen once, and
  every rule compares that rounded figure — the one officers see and publish.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from shared.policy import ResolvedPolicy

from .model import ZERO, DibaoStatus, Explanation, Household
from .params import decimal_param, fmt, quantize_money

__all__ = [
    "EMPLOYMENT_COST_SOURCE",
    "EXEMPTION_SOURCE",
    "MINIMUM_WAGE_SOURCE",
    "PER_CAPITA_SOURCE",
    "IncomeBreakdown",
    "accounting_year",
    "compute_income",
]

PER_CAPITA_SOURCE = "002 篇二 §(一)3① (Liaoning): (纯收入+理赔收入-合规自付支出)/家庭人口数"
EXEMPTION_SOURCE = (
    "002 篇三 §(一); 篇五 §(一); 篇一 §8: 抚恤金、优待金、基础养老金、两残补贴、扶贫项目保底收益不计入家庭收入"
)
EMPLOYMENT_COST_SOURCE = "000 safety-net §三(二)1; 002 篇一 §8: 扣减求职期间车旅费、住宿费和生活费"
MINIMUM_WAGE_SOURCE = "002 篇三 §(一): 就业成本无法查实的,按户籍地最低工资标准计算"

_MONTHS = 12


@dataclass(frozen=True, slots=True)
class IncomeBreakdown:
    counted_income: Decimal
    imputed_wage: Decimal
    exempt: Decimal
    medical_deducted: Decimal
    employment_costs_deducted: Decimal
    net: Decimal
    size: int
    per_capita: Decimal
    explanations: tuple[Explanation, ...]


def compute_income(household: Household, policy: ResolvedPolicy) -> IncomeBreakdown:
    """The household's per-capita income and the explanations of each step."""
    inc, exp = household.income, household.expenses
    explanations: list[Explanation] = []
    imputed = ZERO
    if household.dibao_status is DibaoStatus.DIBAO and inc.unverified_earners:
        wage = decimal_param(policy, "minimum_wage_monthly")
        imputed = wage.value * _MONTHS * inc.unverified_earners
        explanations.append(
            Explanation(
                "minimum_wage_imputation",
                f"{MINIMUM_WAGE_SOURCE}; minimum_wage_monthly: {wage.source}",
                f"{inc.unverified_earners} unverifiable earner(s) × minimum wage "
                f"{fmt(wage.value)} × 12 = {fmt(imputed)} counted as wage income",
                {
                    "unverified_earners": inc.unverified_earners,
                    "minimum_wage_monthly": wage.value,
                    "imputed_wage": imputed,
                },
            )
        )
    if inc.exempt > ZERO:
        explanations.append(
            Explanation(
                "income_exemption",
                EXEMPTION_SOURCE,
                f"exempt income {fmt(inc.exempt)} not counted",
                {"exempt": inc.exempt},
            )
        )
    if exp.employment_costs > ZERO:
        explanations.append(
            Explanation(
                "employment_cost_deduction",
                EMPLOYMENT_COST_SOURCE,
                f"employment costs {fmt(exp.employment_costs)} deducted",
                {"employment_costs": exp.employment_costs},
            )
        )
    counted = inc.counted_total
    net = counted + imputed - exp.compliant_oop_medical - exp.employment_costs
    per_capita = quantize_money(net / household.size)
    explanations.append(
        Explanation(
            "per_capita_income",
            PER_CAPITA_SOURCE,
            f"({fmt(counted)} counted income incl. insurance claims {fmt(inc.insurance_claims)}"
            f" + imputed {fmt(imputed)} − compliant out-of-pocket medical "
            f"{fmt(exp.compliant_oop_medical)} − employment costs {fmt(exp.employment_costs)})"
            f" / {household.size} members = {fmt(per_capita)}",
            {
                "counted_income": counted,
                "insurance_claims": inc.insurance_claims,
                "imputed_wage": imputed,
                "exempt": inc.exempt,
                "compliant_oop_medical": exp.compliant_oop_medical,
                "employment_costs": exp.employment_costs,
                "members": household.size,
                "per_capita_income": per_capita,
            },
        )
    )
    return IncomeBreakdown(
        counted_income=counted,
        imputed_wage=imputed,
        exempt=inc.exempt,
        medical_deducted=exp.compliant_oop_medical,
        employment_costs_deducted=exp.employment_costs,
        net=net,
        size=household.size,
        per_capita=per_capita,
        explanations=tuple(explanations),
    )


def accounting_year(as_of: dt.date, income_year_start: str) -> tuple[dt.date, dt.date]:
    """The income accounting year (first and last day) containing `as_of`, for a year starting
    on `income_year_start` ("MM-DD"; Liaoning "05-01", Anhui "10-01": 002 篇二 §(一)3①, 篇一 §(三))."""
    try:
        month, day = (int(p) for p in income_year_start.split("-"))
        start = dt.date(as_of.year, month, day)
    except ValueError as exc:
        raise ValueError(f"income_year_start must be 'MM-DD', got {income_year_start!r}") from exc
    if start > as_of:
        start = start.replace(year=as_of.year - 1)
    end = start.replace(year=start.year + 1) - dt.timedelta(days=1)
    return start, end
