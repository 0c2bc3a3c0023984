"""Return-to-poverty risk types (返贫致贫风险, DOMAIN.md §3) inferred from the household's figures,
merged with the risks an applicant or officer declared.

Inference (Liaoning's groups to watch, 002 篇二 §(一)2, and the causes of 篇九 §二(二)):
- illness: a member with a serious/chronic illness;
- disability: a severely disabled member (grade 1–2, or grade 3 intellectual/mental) or two or
  more certified disabled members;
- schooling: a member in non-compulsory schooling (senior high, vocational, university);
- lack_of_labor: no member has ordinary or skilled labour capacity;
- unstable_employment: wage income below last year's; industry_failure: business income below
  last year's (only when last year's income is given);
- disaster, accident, housing, drinking_water, other: only when declared.
"""

from __future__ import annotations

from .model import Explanation, Household, LaborCapacity, RiskType

__all__ = ["RISK_SOURCE", "RISK_TYPE_ORDER", "infer_risk_types"]

RISK_SOURCE = "002 篇二 §(一)2 (Liaoning, ten groups to watch); 篇九 §二(二)"
RISK_TYPE_ORDER = tuple(RiskType)
_ABLE = frozenset({LaborCapacity.ORDINARY, LaborCapacity.SKILLED})


def _inferred(household: Household) -> dict[RiskType, str]:
    members = household.members
    found: dict[RiskType, str] = {}
    ill = [m.name for m in members if m.serious_illness]
    if ill:
        found[RiskType.ILLNESS] = f"serious illness: {', '.join(ill)}"
    severe = [m.name for m in members if m.severely_disabled]
    disabled = [m.name for m in members if m.disability_grade is not None]
    if severe or len(disabled) >= 2:
        found[RiskType.DISABILITY] = f"disabled: {', '.join(severe or disabled)}"
    studying = [m.name for m in members if m.schooling.non_compulsory]
    if studying:
        found[RiskType.SCHOOLING] = f"non-compulsory schooling: {', '.join(studying)}"
    if not any(m.labor_capacity in _ABLE for m in members):
        found[RiskType.LACK_OF_LABOR] = "no member with ordinary or skilled labour capacity"
    last = household.last_year_income
    if last is not None:
        inc = household.income
        if inc.wage < last.wage:
            found[RiskType.UNSTABLE_EMPLOYMENT] = f"wage {inc.wage} < last year {last.wage}"
        if inc.business < last.business:
            found[RiskType.INDUSTRY_FAILURE] = f"business {inc.business} < last year {last.business}"
    return found


def infer_risk_types(household: Household) -> tuple[tuple[RiskType, ...], list[Explanation]]:
    """The risk types in a stable order, with one explanation listing why each was found."""
    reasons = _inferred(household)
    for declared in household.declared_risks:
        reasons.setdefault(declared, "declared by applicant/officer")
    ordered = tuple(r for r in RISK_TYPE_ORDER if r in reasons)
    if not ordered:
        return (), []
    detail = "; ".join(f"{r}: {reasons[r]}" for r in ordered)
    return ordered, [Explanation("risk_types", RISK_SOURCE, detail, {"risk_types": [str(r) for r in ordered]})]
