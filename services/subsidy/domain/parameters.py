"""Every subsidy policy parameter with its unit and the values a version may give it, checked when
a version is written (`POST /admin/policies`) so that a figure the calculators would refuse, or
would turn into a wrong amount (a negative cap pays 0.00), never reaches them."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Any

from services.subsidy.domain.model import FundingSource

__all__ = ["ORDERED_PAIRS", "PARAMETERS", "Unit", "check_resolved", "check_value"]


class Unit(StrEnum):
    YUAN = "yuan"  # an amount, a rate per person or month, a floor: 0 … 100,000,000, to the fen
    CAP = "cap"  # a ceiling in yuan: greater than 0
    SHARE = "share"  # a fraction of an amount: 0 … 1
    MULTIPLE = "multiple"  # a multiple of an amount (1.3 × the dibao standard): greater than 0 … 100
    MONTHS = "months"  # whole months: 0 … 600
    PERSONS = "persons"  # a whole headcount: 0 … 1,000,000
    AGE = "age"  # completed years (周岁): 0 … 150
    SHARE_TIERS = "share_tiers"  # [{from: headcount, share}], `from` strictly rising
    AMOUNT_TIERS = "amount_tiers"  # [{from: persons, amount}], `from` strictly rising
    FUNDING = "funding"  # a FundingSource value


PARAMETERS: Mapping[str, Unit] = {
    "enterprise_reward_min_contract_months": Unit.MONTHS,
    "enterprise_reward_per_hire": Unit.YUAN,
    "enterprise_reward_per_poor_hire": Unit.YUAN,
    "enterprise_reward_cap": Unit.CAP,
    "workshop_stable_reward_per_person": Unit.YUAN,
    "transport_min_contract_months": Unit.MONTHS,
    "transport_epidemic_min_stable_months": Unit.MONTHS,
    "transport_in_county": Unit.YUAN,
    "transport_out_of_county_in_city": Unit.YUAN,
    "transport_out_of_city_in_province": Unit.YUAN,
    "transport_out_of_province": Unit.YUAN,
    "entrepreneurship_subsidy_amount": Unit.YUAN,
    "entrepreneurship_min_months_operating": Unit.MONTHS,
    "entrepreneurship_min_employees": Unit.PERSONS,
    "entrepreneurship_loan_max": Unit.CAP,
    "public_welfare_min_wage": Unit.YUAN,
    "public_welfare_upper_wage": Unit.YUAN,
    "public_welfare_lower_share": Unit.SHARE,
    "public_welfare_upper_share": Unit.SHARE,
    "public_welfare_annual_cap": Unit.CAP,
    "work_for_training_per_month": Unit.YUAN,
    "work_for_training_max_months": Unit.MONTHS,
    "technical_school_living_per_year": Unit.YUAN,
    "technical_school_national_grant_per_year": Unit.YUAN,
    "technical_school_family_subsidy_per_year": Unit.YUAN,
    "tiered_wage_tiers": Unit.SHARE_TIERS,
    "employment_fund_min_age": Unit.AGE,
    "employment_fund_max_age": Unit.AGE,
    "workshop_award_min_average_wage": Unit.YUAN,
    "workshop_award_tiers": Unit.AMOUNT_TIERS,
    "workshop_stable_12m_per_person": Unit.YUAN,
    "workshop_award_funding": Unit.FUNDING,
    "medical_share_in_province": Unit.SHARE,
    "medical_share_out_of_province": Unit.SHARE,
    "medical_no_referral_reduction": Unit.SHARE,
    "medical_annual_cap": Unit.CAP,
    "medical_assistance_funding": Unit.FUNDING,
    "housing_rebuild_per_household": Unit.YUAN,
    "housing_repair_per_household": Unit.YUAN,
    "microcredit_min_age": Unit.AGE,
    "microcredit_max_age": Unit.AGE,
    "university_entrant_grant_min": Unit.YUAN,
    "university_entrant_grant_max": Unit.YUAN,
    "student_loan_max_undergraduate": Unit.CAP,
    "student_loan_max_postgraduate": Unit.CAP,
    "dibao_standard_annual": Unit.CAP,
    "dibao_minimum_topup_annual": Unit.YUAN,
    "dibao_addon_share_severely_ill_or_disabled": Unit.SHARE,
    "dibao_addon_share_aged_70_plus": Unit.SHARE,
    "dibao_addon_share_minor": Unit.SHARE,
    "dibao_funding": Unit.FUNDING,
    "tekun_basic_standard_monthly": Unit.YUAN,
    "tekun_basic_multiple_of_dibao": Unit.MULTIPLE,
    "tekun_care_self_care_monthly": Unit.YUAN,
    "tekun_care_partial_monthly": Unit.YUAN,
    "tekun_care_full_monthly": Unit.YUAN,
    "tekun_funding": Unit.FUNDING,
    "temporary_relief_funding": Unit.FUNDING,
}

#: (lower, upper): in the policy in force the first may not exceed the second.
ORDERED_PAIRS: tuple[tuple[str, str], ...] = (
    ("public_welfare_min_wage", "public_welfare_upper_wage"),
    ("employment_fund_min_age", "employment_fund_max_age"),
    ("microcredit_min_age", "microcredit_max_age"),
    ("university_entrant_grant_min", "university_entrant_grant_max"),
    ("dibao_minimum_topup_annual", "dibao_standard_annual"),
)

_MONEY_MAX = Decimal(100_000_000)
_FEN = Decimal("0.01")
_WHOLE_MAX = {Unit.MONTHS: 600, Unit.PERSONS: 1_000_000, Unit.AGE: 150}


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal) and value.is_finite():
        return value
    return None


def _money(value: Any, *, positive: bool) -> str | None:
    n = _number(value)
    low = "greater than 0" if positive else "at least 0"
    if n is None or not (n > 0 if positive else n >= 0) or n > _MONEY_MAX:
        return f"must be yuan, {low} and at most {_MONEY_MAX:,}"
    return None if n == n.quantize(_FEN) else "must be yuan with at most 2 decimal places"


def _share(value: Any) -> str | None:
    n = _number(value)
    if n is None or not Decimal(0) <= n <= Decimal(1):
        return "must be a fraction from 0 to 1 (0.5 = 50 %)"
    return None if n.as_tuple().exponent >= -6 else "must have at most 6 decimal places"  # type: ignore[operator]


def _multiple(value: Any) -> str | None:
    n = _number(value)
    if n is None or not Decimal(0) < n <= Decimal(100):
        return "must be a multiple greater than 0 and at most 100 (1.3 = 1.3 ×)"
    return None if n.as_tuple().exponent >= -6 else "must have at most 6 decimal places"  # type: ignore[operator]


def _whole(value: Any, highest: int) -> str | None:
    n = _number(value)
    if n is None or n != n.to_integral_value() or not 0 <= n <= highest:
        return f"must be a whole number from 0 to {highest:,}"
    return None


def _tiers(value: Any, key: str) -> str | None:
    if not isinstance(value, list) or not value:
        return f"must be a non-empty list of {{from, {key}}}"
    previous: Decimal | None = None
    for i, tier in enumerate(value):
        if not isinstance(tier, Mapping) or set(tier) != {"from", key}:
            return f"tier {i} must be {{from, {key}}} and nothing else"
        if _whole(tier["from"], 1_000_000) is not None:
            return f"tier {i}: from must be a whole number from 0 to 1,000,000"
        low = Decimal(tier["from"])
        if previous is not None and low <= previous:
            return f"tier {i}: from must be greater than the tier before ({previous})"
        problem = _share(tier[key]) if key == "share" else _money(tier[key], positive=False)
        if problem:
            return f"tier {i}: {key} {problem}"
        previous = low
    return None


def check_value(name: str, value: Any) -> str | None:
    """Why `value` cannot be subsidy parameter `name` (None: it can)."""
    unit = PARAMETERS.get(name)
    if unit is None:
        return "unknown subsidy parameter"
    if unit in (Unit.YUAN, Unit.CAP):
        return _money(value, positive=unit is Unit.CAP)
    if unit is Unit.SHARE:
        return _share(value)
    if unit is Unit.MULTIPLE:
        return _multiple(value)
    if unit in _WHOLE_MAX:
        return _whole(value, _WHOLE_MAX[unit])
    if unit is Unit.SHARE_TIERS:
        return _tiers(value, "share")
    if unit is Unit.AMOUNT_TIERS:
        return _tiers(value, "amount")
    choices = [f.value for f in FundingSource if f is not FundingSource.MIXED]
    return None if value in choices else f"must be one of {', '.join(choices)}"


def check_resolved(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What is wrong with the parameters in force together: each value on its own, and each
    ordered pair (a floor above its ceiling)."""
    problems = [(name, p) for name, v in values.items() if name in PARAMETERS and (p := check_value(name, v))]
    for low, high in ORDERED_PAIRS:
        a, b = _number(values.get(low)), _number(values.get(high))
        if a is not None and b is not None and a > b:
            problems.append((low, f"must not exceed {high} ({b})"))
    return problems
